import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

struct Deployments: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and steer deployments.",
        subcommands: [List.self, Get.self, Stop.self, Promote.self, Pause.self, Resume.self, HookStatusCommand.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deployments, newest first (ListDeployments).")
        @OptionGroup var global: GlobalOptions
        @Option var function: String?
        @Option(help: "Created, InProgress, Paused, Succeeded, Failed or Stopped.") var status: String?
        @Option var limit: Int = 100

        func run() async throws {
            let deployments = try await global.rollout().records.listDeployments(
                function: try function.map { try parseFunction($0).name },
                status: try status.map(DeploymentStatus.parse), limit: limit)
            if global.output == .json {
                struct Listing: Encodable { var deployments: [DeploymentInfo] }
                return Output.json(Listing(deployments: deployments.map { DeploymentInfo($0) }))
            }
            Output.table(
                ["Id", "Alias", "Versions", "Policy", "Status", "Step", "Created"],
                deployments.map {
                    let info = DeploymentInfo($0)
                    return [
                        $0.id, "\($0.functionName):\($0.alias)", "\($0.currentVersion) → \($0.targetVersion)",
                        $0.policy.name,
                        $0.status.rawValue, info.step ?? "",
                        LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.createTime)),
                    ]
                })
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The full record: steps with times, hooks, alarms, every decision (GetDeployment).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String

        func run() async throws {
            let (records, engine) = try await global.rollout()
            let deployment = try await records.deployment(id: id)
            let alarms = try await engine.alarmStatuses(
                names: deployment.alarms, targetVersion: deployment.targetVersion)
            let events = try await records.deploymentEvents(id: id, after: 0)
            let deploymentId = id
            let judge = try await engine.store.read { try $0.deploymentJudge(deploymentId: deploymentId) }
            if global.output == .json {
                return Output.json(DeploymentInfo(deployment, alarms: alarms, events: events, judge: judge))
            }
            for line in DeploymentText.panel(
                deployment, alarms: alarms, now: Date().timeIntervalSince1970, judge: judge)
            { print(line) }
            if !deployment.status.isActive { print(DeploymentText.outcome(deployment)) }
            print("")
            Output.table(
                ["Step", "Kind", "Weight", "Hold", "Started"],
                (DeploymentInfo(deployment).steps ?? []).map {
                    [
                        String($0.step), $0.kind, $0.weight.map(DeploymentPolicy.percentText) ?? "-", $0.hold ?? "-",
                        $0.startTime.map { LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0)) } ?? "-",
                    ]
                })
            for hook in deployment.hooks where hook.output?.isEmpty == false {
                print("\n\(hook.event.rawValue) \(hook.hook) output:\n\(hook.output!)")
            }
            print("")
            DeploymentText.eventTable(events)
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a deployment; the alias is restored unless --no-rollback (StopDeployment).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        @Flag(name: .customLong("no-rollback"), help: "Leave the alias where it is.") var noRollback = false

        func run() async throws {
            let deployment = try await global.engine().stop(id: id, rollback: !noRollback)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print(DeploymentText.outcome(deployment))
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Skip the current wait (or pause step); --full goes straight to 100%.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        @Flag(help: "Skip every remaining step.") var full = false

        func run() async throws {
            let deployment = try await global.engine().promote(id: id, full: full)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print(
                "Deployment \(deployment.id): traffic \(DeploymentText.weights(deployment)), step \(DeploymentInfo(deployment).step ?? ""), \(deployment.status.rawValue)."
            )
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Freeze a deployment's timers (alarms are still checked).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String

        func run() async throws {
            let deployment = try await global.engine().pause(id: id)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print("Deployment \(deployment.id) paused at \(DeploymentText.weights(deployment)).")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a paused deployment; the current hold continues where it stopped.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String

        func run() async throws {
            let deployment = try await global.engine().resume(id: id)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print("Deployment \(deployment.id) resumed (\(deployment.status.rawValue)).")
        }
    }

    struct HookStatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hook-status", abstract: "Report a hook's result (PutLifecycleEventHookExecutionStatus).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        @Option(name: .customLong("execution-id")) var executionId: String
        @Option(help: "Succeeded or Failed.") var status: String
        @Option(help: "A note kept in the deployment record.") var message: String?

        func run() async throws {
            guard let status = HookStatus(rawValue: status), status.isFinal else {
                throw ValidationError("--status is Succeeded or Failed.")
            }
            let deployment = try await global.engine().reportHook(
                deploymentId: id, executionId: executionId, status: status, output: message)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print(
                "Recorded \(status.rawValue) for \(executionId); deployment \(deployment.id) is \(deployment.status.rawValue)."
            )
        }
    }
}
