import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

extension GlobalOptions {
    /// The one catalogue: presets, `<data-dir>/policies/*.yaml` and configs created over the CodeDeploy API
    /// (kept by the database `--database` names, the data directory's by default).
    func policies() async throws -> PolicyCatalog {
        try await policies(on: try await rollout().engine.store)
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
    @Option(help: "A policy name: AllAtOnce, Canary10Percent5Minutes, …, CodeDeployDefault.Lambda…, or a custom one.")
    var policy: String?
    @Option(name: .customLong("pre-traffic-hook"), help: "Function name or exec:COMMAND run before any traffic moves.")
    var preTrafficHook: String?
    @Option(name: .customLong("post-traffic-hook"), help: "Function name or exec:COMMAND run after 100%.")
    var postTrafficHook: String?
    @Option(help: "An alarm that fails the deployment when in ALARM (repeatable).") var alarm: [String] = []
    @Option(name: .customLong("hook-timeout"), help: "How long a hook may take (default 1h).") var hookTimeout: String =
        "1h"
    @Flag(name: .customLong("no-rollback"), help: "On failure leave the alias where it is.") var noRollback = false
    @Flag(
        name: [.customLong("detach"), .customLong("no-wait")],
        help: "Create the deployment and return; `relctl controller run` advances it.") var detach = false
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
        if let store = try await global.postgresStore() { return try await runOnPostgres(store) }
        let registry = try global.registry()
        var deployment: Deployment
        if let resume {
            deployment = try registry.deployment(id: resume)
        } else {
            let request = DeploymentRequest(
                function: try parseFunction(function!).name, alias: alias!, targetVersion: version!,
                policy: try await global.policies().policy(named: policy!), preTrafficHook: preTrafficHook,
                postTrafficHook: postTrafficHook,
                alarms: alarm, hookTimeout: try DurationText.parse(hookTimeout), autoRollback: !noRollback)
            deployment = try await RolloutEngine(store: registry).create(request)
        }
        if detach {
            if global.output == .json { return Output.json(DeploymentInfo(deployment)) }
            print(
                "Created deployment \(deployment.id) (\(deployment.status.rawValue)); `relctl controller run` advances it, `relctl deployments get \(deployment.id)` shows it."
            )
            return
        }
        deployment = try await Watch(registry: registry, id: deployment.id, json: global.output == .json).follow(
            interval: interval)
        if global.output == .json {
            Output.json(
                DeploymentInfo(
                    deployment, events: try registry.deploymentEvents(id: deployment.id),
                    judge: try registry.deploymentJudge(id: deployment.id)))
        }
        if deployment.status != .succeeded { throw CommandFailure(status: 1) }
    }
}

/// Runs a deployment in the foreground and shows it (see `LiveView`).
struct Watch {
    let registry: Registry
    let id: String
    let json: Bool

    func follow(interval: Double) async throws -> Deployment {
        var deployment = try registry.deployment(id: id)
        var lastEvent: Int64 = 0
        try await LiveView(registry: registry, id: id, json: json).run(interval: interval) { engine, terminal in
            deployment = try registry.deployment(id: id)
            let events = try registry.deploymentEvents(id: id, after: lastEvent)
            lastEvent = events.last?.id ?? lastEvent
            guard terminal else { return (events, [], deployment.status.isActive) }
            let alarms = try await engine.alarmStatuses(
                names: deployment.alarms, targetVersion: deployment.targetVersion)
            let judge = deployment.policy.judge == nil ? nil : try registry.deploymentJudge(id: id)
            return (
                events,
                DeploymentText.panel(deployment, alarms: alarms, now: Date().timeIntervalSince1970, judge: judge),
                deployment.status.isActive
            )
        }
        if !json { print(DeploymentText.outcome(deployment)) }
        return deployment
    }
}

/// The foreground run of a deployment or a release: a controller scoped to its id ticks until it
/// ends, and after every tick the new events are shown — on a terminal with a panel redrawn in
/// place below them, otherwise one line per event.
struct LiveView {
    let registry: Registry
    let id: String
    let json: Bool

    /// Reads the record again: the events since the last call, the panel (on a terminal), whether it is still active.
    typealias Refresh = (_ engine: RolloutEngine, _ terminal: Bool) async throws -> (
        events: [DeploymentEventEntry], panel: [String], active: Bool
    )

    func run(interval: Double, refresh: Refresh) async throws {
        let engine = RolloutEngine(store: registry)
        let pool = RuntimePool(store: registry, rollout: engine)
        let controller = makeController(registry, scope: id, pool: pool)
        let terminal = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb" && !json
        var drawn = 0
        var active = true
        func show() async throws {
            let (events, panel, stillActive) = try await refresh(engine, terminal)
            active = stillActive
            if json { return }
            if terminal {
                let lines = events.map { "\(DeploymentText.clock($0.event.at))  \($0.event.message)" } + panel
                // Move up over the previous panel, clear it, print the new events and the panel again.
                var text = drawn > 0 ? "\u{1B}[\(drawn)A\u{1B}[J" : ""
                text += lines.joined(separator: "\n") + "\n"
                print(text, terminator: "")
                drawn = panel.count
            } else {
                for entry in events {
                    print("\(DeploymentText.clock(entry.event.at))  \(id)  \(entry.event.kind): \(entry.event.message)")
                }
            }
            fflush(nil)
        }
        try await show()
        let finished = StopFlag()
        do {
            try await controller.run(
                interval: interval, shouldStop: { finished.raised },
                afterTick: {
                    try? await show()
                    if !active { finished.raise() }
                })
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
    }
}
