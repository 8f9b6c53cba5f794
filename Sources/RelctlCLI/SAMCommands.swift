import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlSAM
import RelctlStacks
import RelctlStorage
import RelctlStore

struct SAMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sam",
        abstract: "Deploy a SAM template: functions, layers, alarms, AutoPublishAlias and DeploymentPreference.",
        subcommands: [DeployCommand.self])

    struct DeployCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy",
            abstract: "Make the registry match a SAM template (YAML or JSON) and run its gradual deployments.",
            discussion: """
                Semantics as SAM's: a version is published only when a function's code (or, with AutoPublishAliasAllProperties,
                its configuration) changed since the stack's last deploy; the first deploy creates the alias on version 1 without a
                deployment; later deploys run one deployment per function with its DeploymentPreference, all at once (hooks and
                alarms are created first). Everything is checked before anything changes. Exit status 0 only when every
                deployment succeeded. `relctl stack get NAME` shows the stack afterwards. On --database postgres://… the
                leading controller (`relctl controller run --database …` or `relctl serve --database …`) advances the
                deployments while this follows them.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: "The template file.") var template: String = "template.yaml"
        @Option(name: .customLong("stack-name"), help: "The stack's name (its record in `relctl stack`).")
        var stackName: String = "sam-app"
        @Option(
            name: .customLong("parameter-overrides"), parsing: .upToNextOption,
            help: "Parameter values: KEY=VALUE … (or ParameterKey=K,ParameterValue=V).")
        var parameterOverrides: [String] = []
        @Flag(help: "Start the deployments and return; `relctl controller run` advances them.") var detach = false
        @Flag(name: .customLong("no-execute"), help: "Print the change set and change nothing.") var noExecute = false
        @Option(help: "Seconds between ticks in the foreground.") var interval: Double = 0.25

        func validate() throws {
            if interval <= 0 { throw ValidationError("--interval must be more than 0.") }
            guard !stackName.isEmpty, stackName.count <= 128, stackName.first!.isLetter,
                stackName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
            else {
                throw ValidationError(
                    "--stack-name is 1–128 characters: letters, digits and '-', starting with a letter.")
            }
        }

        func overrides() throws -> [String: String] {
            var result: [String: String] = [:]
            for item in parameterOverrides {
                if item.hasPrefix("ParameterKey=") {
                    let fields = item.split(separator: ",", maxSplits: 1).map(String.init)
                    guard fields.count == 2, fields[1].hasPrefix("ParameterValue=") else {
                        throw ValidationError(
                            "--parameter-overrides takes KEY=VALUE or ParameterKey=K,ParameterValue=V, got '\(item)'.")
                    }
                    result[String(fields[0].dropFirst("ParameterKey=".count))] = String(
                        fields[1].dropFirst("ParameterValue=".count))
                } else {
                    result.merge(try parseAssignments([item], flag: "--parameter-overrides")) { _, new in new }
                }
            }
            return result
        }

        func run() async throws {
            let applier = try await global.stackApplier()
            let prepared = try await applier.prepare(
                templatePath: template, stackName: stackName, overrides: try overrides())
            for notice in prepared.model.notices { Output.note("notice: \(notice)") }
            if noExecute {
                if global.output == .json { return Output.json(ChangeSet(prepared)) }
                StackText.changeSet(prepared.plan)
                return
            }
            if !prepared.plan.hasChanges && prepared.previous != nil {
                if global.output == .json { return Output.json(ChangeSet(prepared)) }
                print("No changes to deploy: stack \(stackName) is up to date (\(prepared.previous!.status)).")
                return
            }
            if global.output == .table { StackText.changeSet(prepared.plan) }
            let ids = try await applier.execute(prepared)
            if ids.isEmpty || detach {
                let stack = try await applier.stack(stackName)
                if global.output == .json {
                    return Output.json(
                        StackInfo(
                            stack, resources: try await applier.resources(stackName),
                            deployments: try await applier.deployments(ids)))
                }
                print("Stack \(stackName): \(stack.status).")
                if !ids.isEmpty {
                    let advancer =
                        applier.followsLeader
                        ? "the leading controller (`relctl controller run --database …` or `relctl serve --database …`)"
                        : "`relctl controller run`"
                    print(
                        "Started \(ids.count) deployment(s): \(ids.joined(separator: ", ")); \(advancer) advances them, `relctl stack get \(stackName)` shows them."
                    )
                }
                return
            }
            if applier.followsLeader && global.output == .table {
                Output.note(
                    "sam deploy: following \(ids.joined(separator: ", ")); the leading controller on this database advances them"
                )
            }
            let terminal =
                isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
                && global.output == .table
            var drawn = 0
            var lastEvent: [String: Int64] = [:]
            let finished = try await applier.follow(ids, interval: interval) { deployments in
                guard global.output == .table else { return }
                if terminal {
                    let lines = deployments.map { StackText.row($0, now: Date().timeIntervalSince1970) }
                    print((drawn > 0 ? "\u{1B}[\(drawn)A\u{1B}[J" : "") + lines.joined(separator: "\n"))
                    drawn = lines.count
                } else {
                    for deployment in deployments {
                        let events =
                            (try? await applier.deploymentEvents(deployment.id, after: lastEvent[deployment.id] ?? 0))
                            ?? []
                        lastEvent[deployment.id] = events.last?.id ?? lastEvent[deployment.id]
                        for entry in events {
                            print(
                                "\(DeploymentText.clock(entry.event.at))  \(deployment.functionName):\(deployment.alias)  \(entry.event.kind): \(entry.event.message)"
                            )
                        }
                    }
                }
                fflush(nil)
            }
            try await applier.finish(stackName, finished, created: prepared.previous == nil)
            let stack = try await applier.stack(stackName)
            if global.output == .json {
                Output.json(StackInfo(stack, resources: try await applier.resources(stackName), deployments: finished))
            } else {
                for deployment in finished { print(DeploymentText.outcome(deployment)) }
                print("Stack \(stackName): \(stack.status)\(stack.statusReason.map { " — \($0)" } ?? "").")
            }
            if finished.contains(where: { $0.status != .succeeded }) { throw CommandFailure(status: 1) }
        }
    }
}

struct StackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stack",
        abstract: "Stacks made by `relctl sam deploy`: what each owns, its last outcome and events.",
        subcommands: [List.self, Get.self, Events.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List stacks.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let stacks = try await global.stackApplier().allStacks()
            if global.output == .json { return Output.json(["Stacks": stacks.map { StackInfo($0) }]) }
            Output.table(
                ["Stack", "Status", "Updated", "Reason"],
                stacks.map {
                    [
                        $0.name, $0.status, LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.updateTime)),
                        $0.statusReason ?? "",
                    ]
                })
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A stack: parameters, resources with their registry names, the last deploy's deployments.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let applier = try await global.stackApplier()
            let stack = try await applier.stack(name)
            let resources = try await applier.resources(name)
            let deployments = try await applier.deployments(stack.deployments)
            if global.output == .json {
                return Output.json(StackInfo(stack, resources: resources, deployments: deployments))
            }
            Output.fields([
                ("StackName", stack.name), ("Status", stack.status), ("Reason", stack.statusReason ?? "-"),
                ("TemplateSha256", stack.templateHash),
                (
                    "Parameters",
                    stack.parameters.keys.sorted().map { "\($0)=\(stack.parameters[$0]!)" }.joined(separator: " ")
                ),
                ("Updated", LambdaTimestamp.string(from: Date(timeIntervalSince1970: stack.updateTime))),
            ])
            print("")
            Output.table(
                ["LogicalId", "Type", "PhysicalId", "Version"],
                resources.map {
                    [
                        $0.logicalId, $0.resourceType, $0.physicalId,
                        ResourceState.decode($0.state)?.version.map(String.init) ?? "-",
                    ]
                })
            if !deployments.isEmpty {
                print("")
                for deployment in deployments { print(StackText.row(deployment, now: Date().timeIntervalSince1970)) }
            }
        }
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A stack's events, oldest first (kept after delete).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let events = try await global.stackApplier().events(name)
            if events.isEmpty {
                throw RelctlError(.resourceNotFound, "Stack \(name) has no events: it was never deployed.")
            }
            if global.output == .json { return Output.json(["StackEvents": events]) }
            Output.table(
                ["Time", "LogicalId", "Type", "Status", "Reason"],
                events.map {
                    [
                        LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.time)), $0.logicalId,
                        $0.resourceType, $0.status, $0.reason ?? "",
                    ]
                })
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Delete what the stack created (functions, aliases, alarms, configs, non-retained layer versions) and nothing else."
        )
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Flag(name: .customLong("dry-run"), help: "List what would be deleted.") var dryRun = false

        func run() async throws {
            let applier = try await global.stackApplier()
            _ = try await applier.stack(name)
            let resources = dryRun ? try await applier.resources(name) : try await applier.delete(name)
            if global.output == .json {
                return Output.json([
                    "StackName": name, "DryRun": dryRun ? "true" : "false",
                    "Resources": resources.map(\.physicalId).joined(separator: ","),
                ])
            }
            for resource in resources {
                print(
                    "\(dryRun ? "would delete" : "deleted") \(resource.resourceType) \(resource.logicalId) (\(resource.physicalId))"
                )
            }
            print(dryRun ? "Stack \(name): nothing deleted (--dry-run)." : "Stack \(name) deleted.")
        }
    }
}

/// The change set as JSON (CloudFormation's DescribeChangeSet field names where they exist).
struct ChangeSet: Encodable {
    struct Change: Encodable {
        var Action: String
        var LogicalResourceId: String
        var ResourceType: String
        var PhysicalResourceId: String
        var Details: [String]
    }
    var StackName: String
    var Changes: [Change]
    var Notices: [String]

    init(_ prepared: StackApplier.Prepared) {
        StackName = prepared.stackName
        Changes = prepared.plan.changes.map {
            Change(
                Action: $0.action.rawValue, LogicalResourceId: $0.logicalId, ResourceType: $0.resourceType,
                PhysicalResourceId: $0.physicalId, Details: $0.details)
        }
        Notices = prepared.model.notices
    }
}

struct StackInfo: Encodable {
    struct Resource: Encodable {
        var LogicalResourceId: String
        var ResourceType: String
        var PhysicalResourceId: String
        var Version: Int?
    }
    var StackName: String
    var StackStatus: String
    var StackStatusReason: String?
    var TemplateSha256: String
    var Parameters: [String: String]
    var CreationTime: Double
    var LastUpdatedTime: Double
    var Resources: [Resource]?
    var Deployments: [DeploymentInfo]?

    init(_ stack: Stack, resources: [StackResource]? = nil, deployments: [Deployment]? = nil) {
        StackName = stack.name
        StackStatus = stack.status
        StackStatusReason = stack.statusReason
        TemplateSha256 = stack.templateHash
        Parameters = stack.parameters
        CreationTime = stack.createTime
        LastUpdatedTime = stack.updateTime
        Resources = resources?.map {
            Resource(
                LogicalResourceId: $0.logicalId, ResourceType: $0.resourceType, PhysicalResourceId: $0.physicalId,
                Version: ResourceState.decode($0.state)?.version)
        }
        Deployments = deployments?.map { DeploymentInfo($0) }
    }
}

enum StackText {
    static func changeSet(_ plan: StackPlan) {
        Output.table(
            ["Action", "LogicalId", "Type", "PhysicalId", "Details"],
            plan.changes.map {
                [$0.action.rawValue, $0.logicalId, $0.resourceType, $0.physicalId, $0.details.joined(separator: "; ")]
            })
    }

    /// One deployment on one line, with the countdown `relctl deploy` shows.
    static func row(_ d: Deployment, now: Double) -> String {
        var text =
            "\(d.functionName):\(d.alias)  v\(d.currentVersion) → v\(d.targetVersion)  \(d.policy.name)  [\(d.status.rawValue)]  \(DeploymentText.weights(d))"
        if let phase = d.phase, d.status.isActive { text += "  \(phase.rawValue)" }
        if let next = d.nextShiftAt, d.status.isActive {
            text += "  next shift in \(DurationText.format(max(0, next - now)))"
        }
        if let eta = d.estimatedCompletion, d.status.isActive {
            text += "  ETA \(DurationText.format(max(0, eta - now)))"
        }
        if let error = d.error, !d.status.isActive { text += "  \(error.code): \(error.message)" }
        return text
    }
}
