import ArgumentParser
import Foundation
import Logging
import RelctlCore
import RelctlNotify
import RelctlPostgres
import RelctlRollout
import RelctlRuntime
import RelctlServer
import RelctlStorage
import RelctlStore

// The rollout commands on PostgreSQL (issue 10 §5–6): `controller run` campaigns for leadership and
// leads, `deploy` creates a deployment that the leading controller (on whichever server leads)
// advances, and the commands that steer or record (`deployments get|stop|promote|pause|resume`,
// `alarm put`, `metrics put`) go through `RegistryRecords` and the rollout engine on either database.

extension GlobalOptions {
    /// The PostgreSQL store `--database` names (nil: SQLite in the data directory).
    func postgresStore() async throws -> PostgresStore? {
        guard case .postgres(let url) = try databaseLocation() else { return nil }
        // ARNs in the database's own account-id and region (`relctl config set … --database`), as on SQLite.
        return try await PostgresStore.open(url, actor: Registry.defaultActor())
            .answeringInStoredSettings(environment: ProcessInfo.processInfo.environment)
    }

    /// The registry records and the rollout engine on the database `--database` names.
    func rollout() async throws -> (records: any RegistryRecords, engine: RolloutEngine) {
        if let store = try await postgresStore() { return (store, RolloutEngine(store: store)) }
        let registry = try registry()
        return (registry, RolloutEngine(store: registry))
    }
}

/// `relctl controller run --database postgres://…`: campaigns every half second; while this process
/// leads, ticks every `interval` (at once when another server NOTIFYs a change) over the fenced store.
/// Hooks that are registry functions run in `pool` (the database's runtime), as `controller run` runs them
/// in its own on SQLite and a leading `serve --database` in the server's.
func runLeadingController(_ store: PostgresStore, interval: Double, pool: RuntimePool) async throws {
    let holder = Controller.defaultRunnerName()
    let wake = try? await PostgresWakeListener.start(store.location)
    let leading = LeadingController(
        leadership: PostgresLeadership(store: store, holder: holder), wake: wake,
        makeController: { Controller(engine: $0, invokeFunctionHook: pool.invokeHook) }, log: { Output.note($0) })
    let stop = SignalFlag()
    Output.note(
        "controller: \(holder) campaigning for leadership on \(store.location.description), ticking every \(DurationText.format(interval)) while it leads (Ctrl-C stops)"
    )
    // MARK: Webhooks (W): delivered beside the controller while it leads, as `controller run` does on SQLite.
    let status = leading.status
    let webhooks = Task { try await WebhookDispatcher(store: store, isActive: { status.leading }).run() }
    await leading.run(interval: interval, shouldStop: { stop.raised })
    webhooks.cancel()
    _ = await webhooks.result
    await pool.shutdown()
    await wake?.close()
    store.close()
}

/// `relctl serve --database postgres://…`: the controller service that campaigns and leads in place of
/// the local `ControllerService`. The server lists it among its services and passes
/// `service.controller.status` to `ServerServices(leadership:)` so `/healthz` and `/metrics` say whether
/// this server leads.
func leadingControllerService(
    _ store: PostgresStore, interval: Double, logger: Logger, functionHooks: FunctionHookRelay? = nil
) async
    -> LeadingControllerService
{
    LeadingControllerService(
        leadership: PostgresLeadership(store: store, holder: Controller.defaultRunnerName()),
        wake: try? await PostgresWakeListener.start(store.location), interval: interval, logger: logger,
        makeController: { Controller(engine: $0, invokeFunctionHook: functionHooks?.invoke) })
}

extension Deploy {
    /// `relctl deploy --database postgres://…`: creates the deployment (or takes `--resume ID`); without
    /// `--detach`/`--no-wait`, follows it while the leading controller, wherever it runs, advances it.
    func runOnPostgres(_ store: PostgresStore) async throws {
        defer { store.close() }
        let engine = RolloutEngine(store: store)
        var deployment: Deployment
        if let resume {
            deployment = try await store.deployment(id: resume)
        } else {
            let catalog = try await global.policies(on: store)
            deployment = try await engine.create(
                DeploymentRequest(
                    function: try parseFunction(function!).name, alias: alias!, targetVersion: version!,
                    policy: try catalog.policy(named: policy!), preTrafficHook: preTrafficHook,
                    postTrafficHook: postTrafficHook, alarms: alarm, hookTimeout: try DurationText.parse(hookTimeout),
                    autoRollback: !noRollback))
        }
        let json = global.output == .json
        if detach {
            if json { return Output.json(DeploymentInfo(deployment)) }
            print(
                "Created deployment \(deployment.id) (\(deployment.status.rawValue)); the leading controller (`relctl controller run --database …` or `relctl serve --database …`) advances it, `relctl deployments get \(deployment.id)` shows it."
            )
            return
        }
        if !json {
            Output.note("deploy: following \(deployment.id); the leading controller on this database advances it")
        }
        let id = deployment.id
        try await followOnDatabase(id: id, json: json, interval: interval) { after in
            deployment = try await store.deployment(id: id)
            return (try await store.deploymentEvents(id: id, after: after), deployment.status.isActive)
        }
        if json {
            Output.json(
                DeploymentInfo(
                    deployment, events: try await store.deploymentEvents(id: id, after: 0),
                    judge: try await store.read { try $0.deploymentJudge(deploymentId: id) }))
        } else {
            print(DeploymentText.outcome(deployment))
        }
        if deployment.status != .succeeded { throw CommandFailure(status: 1) }
    }
}
