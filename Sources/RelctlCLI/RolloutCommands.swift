import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

extension GlobalOptions {
    /// The one catalogue: presets, `<data-dir>/policies/*.yaml` and configs created over the CodeDeploy API.
    func policies() async throws -> PolicyCatalog {
        try await PolicyCatalog.load(for: try registry())
    }
}

struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shift an alias to a new version with a deployment policy, hooks and alarms; roll back on failure.",
        discussion: """
            Lifecycle as CodeDeploy: BeforeAllowTraffic hook → traffic shifting by the policy → AfterAllowTraffic hook → Succeeded.
            A failed hook, a hook timeout or an alarm in ALARM (checked on every tick, from the start) fails the deployment and
            restores the alias to its original version at once. Without --detach, relctl runs the deployment in the foreground
            with a live view (one line per event when not on a terminal); killing it is safe: `relctl controller run` or
            `relctl deploy --resume ID` continues from the persisted step. Exit status 0 only when the deployment Succeeded.
            A hook is a registry function (the deployment waits for its PutLifecycleEventHookExecutionStatus report, or
            `relctl deployments hook-status`) or exec:COMMAND
            (exit 0 = Succeeded; the payload is JSON on stdin and in RELCTL_* variables).
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The function.") var function: String?
    @Option(help: "The alias to shift.") var alias: String?
    @Option(help: "The version to shift to.") var version: String?
    @Option(help: "A policy name: AllAtOnce, Canary10Percent5Minutes, …, CodeDeployDefault.Lambda…, or a custom one.") var policy: String?
    @Option(name: .customLong("pre-traffic-hook"), help: "Function name or exec:COMMAND run before any traffic moves.") var preTrafficHook: String?
    @Option(name: .customLong("post-traffic-hook"), help: "Function name or exec:COMMAND run after 100%.") var postTrafficHook: String?
    @Option(help: "An alarm that fails the deployment when in ALARM (repeatable).") var alarm: [String] = []
    @Option(name: .customLong("hook-timeout"), help: "How long a hook may take (default 1h).") var hookTimeout: String = "1h"
    @Flag(name: .customLong("no-rollback"), help: "On failure leave the alias where it is.") var noRollback = false
    @Flag(help: "Create the deployment and return; `relctl controller run` advances it.") var detach = false
    @Option(help: "Continue running an existing deployment in the foreground.") var resume: String?
    @Option(help: "Seconds between ticks in the foreground.") var interval: Double = 0.25

    func validate() throws {
        if resume == nil && (function == nil || alias == nil || version == nil || policy == nil) {
            throw ValidationError("Give FUNCTION --alias A --version V --policy P (or --resume ID).")
        }
        if resume != nil && function != nil { throw ValidationError("--resume ID takes no FUNCTION.") }
        if interval <= 0 { throw ValidationError("--interval must be more than 0.") }
    }

    func run() async throws {
        let registry = try global.registry()
        var deployment: Deployment
        if let resume {
            deployment = try registry.deployment(id: resume)
        } else {
            let request = DeploymentRequest(
                function: try parseFunction(function!).name, alias: alias!, targetVersion: version!,
                policy: try await global.policies().policy(named: policy!), preTrafficHook: preTrafficHook, postTrafficHook: postTrafficHook,
                alarms: alarm, hookTimeout: try DurationText.parse(hookTimeout), autoRollback: !noRollback)
            deployment = try await RolloutEngine(store: registry).create(request)
        }
        if detach {
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print("Created deployment \(deployment.id) (\(deployment.status.rawValue)); `relctl controller run` advances it, `relctl deployments get \(deployment.id)` shows it.")
            return
        }
        deployment = try await Watch(registry: registry, id: deployment.id, json: global.output == .json).follow(interval: interval)
        if global.output == .json {
            Output.json(DeploymentInfo(deployment, events: try registry.deploymentEvents(id: deployment.id)))
        }
        if deployment.status != .succeeded { throw CommandFailure(status: 1) }
    }
}

/// Runs a deployment in the foreground and shows it: a panel redrawn in place on a terminal, one
/// line per event otherwise.
struct Watch {
    let registry: Registry
    let id: String
    let json: Bool

    func follow(interval: Double) async throws -> Deployment {
        let engine = RolloutEngine(store: registry)
        let pool = RuntimePool(store: registry, rollout: engine)
        let controller = makeController(registry, scope: id, pool: pool)
        let terminal = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb" && !json
        var lastEvent: Int64 = 0
        var drawn = 0
        var deployment = try registry.deployment(id: id)
        func show() async throws {
            deployment = try registry.deployment(id: id)
            let events = try registry.deploymentEvents(id: id, after: lastEvent)
            lastEvent = events.last?.id ?? lastEvent
            if json { return }
            if terminal {
                let alarms = try await engine.alarmStatuses(names: deployment.alarms, targetVersion: deployment.targetVersion)
                var lines = events.map { "\(DeploymentText.clock($0.event.at))  \($0.event.message)" }
                lines += DeploymentText.panel(deployment, alarms: alarms, now: Date().timeIntervalSince1970)
                // Move up over the previous panel, clear it, print the new events and the panel again.
                var text = drawn > 0 ? "\u{1B}[\(drawn)A\u{1B}[J" : ""
                text += lines.joined(separator: "\n") + "\n"
                print(text, terminator: "")
                drawn = lines.count - events.count
            } else {
                for entry in events { print("\(DeploymentText.clock(entry.event.at))  \(deployment.id)  \(entry.event.kind): \(entry.event.message)") }
            }
            fflush(nil)
        }
        try await show()
        let finished = StopFlag()
        do {
            try await controller.run(interval: interval, shouldStop: { finished.raised }, afterTick: {
                try? await show()
                if !deployment.status.isActive { finished.raise() }
            })
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
        if !json { print(DeploymentText.outcome(deployment)) }
        return deployment
    }
}

struct Deployments: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and steer deployments.",
        subcommands: [List.self, Get.self, Stop.self, Promote.self, Pause.self, Resume.self, HookStatusCommand.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deployments, newest first (ListDeployments).")
        @OptionGroup var global: GlobalOptions
        @Option var function: String?
        @Option(help: "Created, InProgress, Paused, Succeeded, Failed or Stopped.") var status: String?
        @Option var limit: Int = 100

        func run() throws {
            let deployments = try global.registry().listDeployments(
                function: try function.map { try parseFunction($0).name }, status: try status.map(DeploymentStatus.parse), limit: limit)
            if global.output == .json {
                struct Listing: Encodable { var deployments: [DeploymentInfo] }
                return Output.json(Listing(deployments: deployments.map { DeploymentInfo($0) }))
            }
            Output.table(["Id", "Alias", "Versions", "Policy", "Status", "Step", "Created"], deployments.map {
                let info = DeploymentInfo($0)
                return [$0.id, "\($0.functionName):\($0.alias)", "\($0.currentVersion) → \($0.targetVersion)", $0.policy.name,
                        $0.status.rawValue, info.step, LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.createTime))]
            })
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The full record: steps with times, hooks, alarms, every decision (GetDeployment).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String

        func run() async throws {
            let registry = try global.registry()
            let deployment = try registry.deployment(id: id)
            let alarms = try await RolloutEngine(store: registry).alarmStatuses(names: deployment.alarms, targetVersion: deployment.targetVersion)
            let events = try registry.deploymentEvents(id: id)
            if global.output == .json { return Output.json(DeploymentInfo(deployment, alarms: alarms, events: events)) }
            for line in DeploymentText.panel(deployment, alarms: alarms, now: Date().timeIntervalSince1970) { print(line) }
            if !deployment.status.isActive { print(DeploymentText.outcome(deployment)) }
            print("")
            Output.table(["Step", "Kind", "Weight", "Hold", "Started"], DeploymentInfo(deployment).steps.map {
                [String($0.step), $0.kind, $0.weight.map(DeploymentPolicy.percentText) ?? "-", $0.hold ?? "-",
                 $0.startTime.map { LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0)) } ?? "-"]
            })
            for hook in deployment.hooks where hook.output?.isEmpty == false {
                print("\n\(hook.event.rawValue) \(hook.hook) output:\n\(hook.output!)")
            }
            print("")
            Output.table(["Time", "Event", "Message"], events.map {
                [LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.event.at)), $0.event.kind, $0.event.message]
            })
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a deployment; the alias is restored unless --no-rollback (StopDeployment).")
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
        static let configuration = CommandConfiguration(abstract: "Skip the current wait (or pause step); --full goes straight to 100%.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        @Flag(help: "Skip every remaining step.") var full = false

        func run() async throws {
            let deployment = try await global.engine().promote(id: id, full: full)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print("Deployment \(deployment.id): traffic \(DeploymentText.weights(deployment)), step \(DeploymentInfo(deployment).step), \(deployment.status.rawValue).")
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Freeze a deployment's timers (alarms are still checked).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String

        func run() async throws {
            let deployment = try await global.engine().pause(id: id)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print("Deployment \(deployment.id) paused at \(DeploymentText.weights(deployment)).")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused deployment; the current hold continues where it stopped.")
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
            let deployment = try await global.engine().reportHook(deploymentId: id, executionId: executionId, status: status, output: message)
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print("Recorded \(status.rawValue) for \(executionId); deployment \(deployment.id) is \(deployment.status.rawValue).")
        }
    }
}

struct ControllerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller", abstract: "The rollout controller.", subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Advance every deployment (and run exec: hooks) until interrupted; several may run at once.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Seconds between ticks (alarms are evaluated on every tick).") var interval: Double = 0.5
        @Flag(name: .customLong("until-idle"), help: "Exit once no deployment is active.") var untilIdle = false

        func run() async throws {
            let registry = try global.registry()
            let pool = RuntimePool(store: registry, rollout: RolloutEngine(store: registry))
            let controller = makeController(registry, scope: nil, pool: pool)
            let stop = SignalFlag()
            Output.note("controller: ticking every \(DurationText.format(interval)) on \(global.resolvedDataDirectory.path) (Ctrl-C stops)")
            let untilIdle = untilIdle
            do {
                try await controller.run(interval: interval, shouldStop: {
                    if stop.raised { return true }
                    return untilIdle && ((try? registry.activeDeployments().isEmpty) ?? false)
                }, afterTick: {})
            } catch {
                await pool.shutdown()
                throw error
            }
            await pool.shutdown()
        }
    }
}

/// Set by SIGINT/SIGTERM so a loop can finish its tick and exit cleanly.
final class SignalFlag: @unchecked Sendable {
    nonisolated(unsafe) static var raisedFlag: sig_atomic_t = 0
    init() {
        signal(SIGINT) { _ in SignalFlag.raisedFlag = 1 }
        signal(SIGTERM) { _ in SignalFlag.raisedFlag = 1 }
    }
    var raised: Bool { SignalFlag.raisedFlag != 0 }
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Deployment policies: the nine CodeDeploy presets and custom YAML ones.",
        subcommands: [List.self, Show.self, Validate.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every policy.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let catalog = try await global.policies()
            if global.output == .json {
                struct Item: Encodable { var name: String; var type: String; var aliases: [String]; var totalDuration: String?; var source: String }
                return Output.json(["policies": catalog.entries.map {
                    Item(name: $0.policy.name, type: $0.policy.typeName, aliases: $0.aliases,
                         totalDuration: $0.policy.totalDuration.map(DurationText.format), source: $0.policy.source)
                }])
            }
            Output.table(["Name", "Type", "Shifts", "Duration", "Source"], catalog.entries.map {
                [$0.policy.name, $0.policy.typeName, String($0.policy.schedule.count),
                 $0.policy.totalDuration.map(DurationText.format) ?? "until promoted", $0.policy.source.hasPrefix("shipped") ? "shipped" : $0.policy.source]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The step expansion: each shift with its time, and the total.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let catalog = try await global.policies()
            let policy = try catalog.policy(named: name)
            if global.output == .json {
                struct Shape: Encodable { var name: String; var type: String; var schedule: [DeploymentPolicy.Shift]; var totalDurationSeconds: Double? }
                return Output.json(Shape(name: policy.name, type: policy.typeName, schedule: policy.schedule, totalDurationSeconds: policy.totalDuration))
            }
            print("\(policy.name) (\(policy.typeName)\(catalog.lookup(name)?.aliases.isEmpty == false ? ", also \(catalog.lookup(name)!.aliases.joined(separator: ", "))" : ""))")
            Output.table(["Step", "Weight", "At"], policy.schedule.enumerated().map { index, shift in
                [String(index + 1), DeploymentPolicy.percentText(shift.percent),
                 (shift.waitsForPromote ? "after promote" : "") + (shift.offset.map { "t0+\(DurationText.format($0))" } ?? (shift.waitsForPromote ? "" : "-"))]
            })
            print("Total: \(policy.totalDuration.map(DurationText.format) ?? "open-ended (waits for promote)") from the first shift to 100%, plus the hooks.")
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a policy file (fields, weights, durations, names) without installing it.")
        @OptionGroup var global: GlobalOptions
        @Argument var file: String

        func run() async throws {
            let url = URL(fileURLWithPath: file)
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw RelctlError(.invalidParameterValue, "Cannot read \(file): \(error.localizedDescription)")
            }
            let entries = try PolicyParser.parse(text, source: file)
            let catalog = try await global.policies()
            for entry in entries {
                for name in [entry.policy.name] + entry.aliases {
                    if let existing = catalog.lookup(name), existing.policy.source != url.path {
                        throw RelctlError(.invalidParameterValue, "\(file): policy name \(name) is already defined by \(existing.policy.source).")
                    }
                }
            }
            if global.output == .json { return Output.json(["valid": entries.map(\.policy.name)]) }
            for entry in entries {
                print("ok: \(entry.policy.name) (\(entry.policy.typeName), \(entry.policy.schedule.count) shift(s), \(entry.policy.totalDuration.map(DurationText.format) ?? "open-ended"))")
            }
        }
    }
}

struct AlarmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarm", abstract: "CloudWatch-style metric alarms that deployments watch.",
        subcommands: [Put.self, List.self, Delete.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or replace an alarm (PutMetricAlarm).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option var function: String
        @Option(help: "The Resource dimension, e.g. orders:live.") var resource: String?
        @Option(name: .customLong("executed-version"), help: "target (the deployment's new version) or a version number.") var executedVersion: String?
        @Option(help: "Errors, Invocations, Duration, Throttles or a custom metric.") var metric: String
        @Option(help: "Sum, Average, SampleCount, Minimum, Maximum or pNN.") var statistic: String
        @Option(help: "Seconds per datapoint: 10, 30 or a multiple of 60.") var period: Int
        @Option(name: .customLong("evaluation-periods")) var evaluationPeriods: Int
        @Option(name: .customLong("datapoints-to-alarm")) var datapointsToAlarm: Int?
        @Option var threshold: Double
        @Option(name: .customLong("comparison-operator")) var comparisonOperator: String
        @Option(name: .customLong("treat-missing-data"), help: "missing, notBreaching, breaching or ignore.") var treatMissingData: String = "missing"

        func run() async throws {
            guard let comparison = ComparisonOperator(rawValue: comparisonOperator) else {
                throw RelctlError(.invalidParameterValue, "Unknown comparison operator '\(comparisonOperator)': use \(ComparisonOperator.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            guard let missing = TreatMissingData(rawValue: treatMissingData) else {
                throw RelctlError(.invalidParameterValue, "Unknown --treat-missing-data '\(treatMissingData)': use missing, notBreaching, breaching or ignore.")
            }
            let definition = AlarmDefinition(
                name: name, functionName: try parseFunction(function).name, resource: resource, executedVersion: executedVersion,
                metric: metric, statistic: try Statistic(parsing: statistic), period: period, evaluationPeriods: evaluationPeriods,
                datapointsToAlarm: datapointsToAlarm, threshold: threshold, comparisonOperator: comparison, treatMissingData: missing)
            let registry = try global.registry()
            try registry.putAlarm(definition)
            let status = try await RolloutEngine(store: registry).listAlarms().first { $0.AlarmName == name }
            if global.output == .json { return Output.json(status) }
            print("Alarm \(name): \(status?.StateValue ?? "?") — \(status?.StateReason ?? "")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every alarm, evaluated now, with the reason and datapoints (DescribeAlarms).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let alarms = try await global.engine().listAlarms()
            if global.output == .json { return Output.json(["MetricAlarms": alarms]) }
            Output.table(["Alarm", "State", "Metric", "Datapoints", "Reason"], alarms.map {
                let definition = $0.Definition
                let metric = "\(definition.statistic)(\(definition.metric)) \(definition.comparisonOperator.rawValue) \(AlarmEvaluator.formatNumber(definition.threshold)), \(definition.datapointsToAlarm)/\(definition.evaluationPeriods)×\(definition.period)s"
                let points = $0.Datapoints.suffix(definition.evaluationPeriods).map { $0.value.map(AlarmEvaluator.formatNumber) ?? "-" }.joined(separator: " ")
                return [$0.AlarmName, $0.StateValue, metric, points, $0.StateReason]
            })
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an alarm (DeleteAlarms).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() throws {
            let deleted = try global.registry().deleteAlarm(name: name)
            if global.output == .json { return Output.json(["Deleted": deleted]) }
            print(deleted ? "Deleted alarm \(name)." : "Alarm \(name) does not exist; nothing to delete.")
        }
    }
}

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "The metric store alarms read.", subcommands: [Put.self, Get.self])

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a metric's series: one statistic per period (GetMetricStatistics).")
        @OptionGroup var global: GlobalOptions
        @Option var function: String
        @Option(help: "The ExecutedVersion dimension.") var version: String?
        @Option(help: "The Resource dimension, e.g. orders:live.") var resource: String?
        @Option var metric: String
        @Option(help: "Sum, Average, SampleCount, Minimum, Maximum or pNN.") var statistic: String = "Sum"
        @Option(help: "Seconds per datapoint.") var period: Int = 60
        @Option(help: "How far back, e.g. 10m.") var since: String = "10m"

        func run() throws {
            let statistic = try Statistic(parsing: statistic)
            let points = try global.registry().metricSeries(
                function: try parseFunction(function).name, version: version, resource: resource, metric: metric,
                statistic: statistic, period: period, since: Date().addingTimeInterval(-(try DurationText.parse(since))))
            if global.output == .json {
                struct Series: Encodable { var Label: String; var Datapoints: [AlarmEvaluation.Datapoint] }
                return Output.json(Series(Label: metric, Datapoints: points))
            }
            Output.table(["Period", "\(statistic)(\(metric))"], points.map {
                [LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.periodStart)), $0.value.map(AlarmEvaluator.formatNumber) ?? "-"]
            })
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record one datapoint (PutMetricData).")
        @OptionGroup var global: GlobalOptions
        @Option var function: String
        @Option(help: "The ExecutedVersion dimension.") var version: String?
        @Option(help: "The Resource dimension, e.g. orders:live.") var resource: String?
        @Option var metric: String
        @Option var value: Double
        @Option var unit: String?
        @Option(help: "Epoch seconds or a Lambda timestamp (default: now).") var timestamp: String?

        func run() async throws {
            var date = Date()
            if let timestamp {
                guard let parsed = Double(timestamp).map({ Date(timeIntervalSince1970: $0) }) ?? LambdaTimestamp.date(from: timestamp) else {
                    throw RelctlError(.invalidParameterValue, "Invalid --timestamp '\(timestamp)': epoch seconds or 2026-01-31T12:00:00.000+0000.")
                }
                date = parsed
            }
            if let version { _ = try AliasTarget.parseVersion(version) }
            try await global.engine().putMetricData([MetricDatapoint(
                functionName: try parseFunction(function).name, resource: resource, executedVersion: version,
                metric: metric, value: value, unit: unit, timestamp: date)])
            if global.output == .json { return Output.json(["Recorded": 1]) }
        }
    }
}
