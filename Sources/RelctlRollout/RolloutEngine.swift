import Foundation
import RelctlCore
import RelctlStorage

/// What `relctl deploy` and CreateDeployment ask for.
public struct DeploymentRequest: Sendable {
    public var function: String
    public var alias: String
    public var targetVersion: String
    public var policy: DeploymentPolicy
    public var preTrafficHook: String?
    public var postTrafficHook: String?
    public var alarms: [String]
    public var hookTimeout: Double
    public var autoRollback: Bool

    public init(
        function: String, alias: String, targetVersion: String, policy: DeploymentPolicy, preTrafficHook: String? = nil,
        postTrafficHook: String? = nil, alarms: [String] = [], hookTimeout: Double = 3600, autoRollback: Bool = true
    ) {
        self.function = function
        self.alias = alias
        self.targetVersion = targetVersion
        self.policy = policy
        self.preTrafficHook = preTrafficHook
        self.postTrafficHook = postTrafficHook
        self.alarms = alarms
        self.hookTimeout = hookTimeout
        self.autoRollback = autoRollback
    }
}

/// The rollout engine: creates deployments, advances them (ticks), applies what the deployment
/// machine decides (alias moves, events), evaluates the alarms they watch, hands hooks to runners
/// and takes the operators' commands. Each decision is "read state → decide (pure, in
/// `Deployment`) → apply" inside one store transaction, so two engines on one store never apply a
/// step twice. Metric writes evaluate the alarms of the deployments watching them at once.
public struct RolloutEngine: Sendable {
    public let store: any RolloutStore
    /// Wakes engines in other processes sharing the store (nil: none to wake).
    let wake: WakeSignal?

    public init(store: any RolloutStore) {
        self.store = store
        self.wake = store.localDirectory.map(WakeSignal.init(directory:))
    }

    /// Tells controllers in other processes to tick now instead of at their next interval.
    public func wakeOthers() {
        wake?.notifyAll()
    }

    // MARK: - Creating

    /// CreateDeployment: checks everything, records the deployment and runs its first tick (so an
    /// alarm already in ALARM fails it at once).
    public func create(_ request: DeploymentRequest) async throws(RelctlError) -> Deployment {
        try request.policy.validate()
        guard request.hookTimeout > 0 else {
            throw RelctlError(.invalidParameterValue, "--hook-timeout must be more than 0s.")
        }
        let target = try AliasTarget.parseVersion(request.targetVersion)
        guard target != AliasTarget.latestVersionNumber else {
            throw RelctlError(
                .invalidParameterValue,
                "A deployment shifts traffic to a published version, not $LATEST; run `relctl publish` first.")
        }
        let deployment = try await store.write { tx in
            let current = try Self.requireShiftableAlias(
                tx, function: request.function, alias: request.alias, target: target)
            try Self.requireAlarmsAndHooks(
                tx, alarms: request.alarms, hooks: [request.preTrafficHook, request.postTrafficHook])
            let actor = tx.actor
            var deployment = Deployment(
                id: Self.newDeploymentId(), functionName: request.function, alias: request.alias,
                currentVersion: current, targetVersion: target, policy: request.policy,
                preTrafficHook: request.preTrafficHook, postTrafficHook: request.postTrafficHook,
                alarms: request.alarms,
                hookTimeout: request.hookTimeout, autoRollback: request.autoRollback, creator: actor,
                createTime: tx.now)
            try tx.insertDeployment(deployment)
            try tx.appendEvents(
                [
                    .init(
                        at: deployment.createTime, kind: "Created",
                        message:
                            "Created by \(actor): \(request.function):\(request.alias) \(current) → \(target), policy \(request.policy.name)",
                        details: ["actor": actor])
                ], to: deployment.id)
            try tx.audit(
                "CreateDeployment", function: request.function, resource: "deployment:\(deployment.id)",
                after: ["policy": request.policy.name, "targetVersion": String(target)])
            var cache = AlarmCache()
            try Self.advance(tx, &deployment, cache: &cache)
            return deployment
        }
        wakeOthers()
        return deployment
    }

    /// Checks that `function:alias` can be shifted to `target` by a deployment or a release: it
    /// exists, nothing else owns it, it has no split and points at another published version.
    /// Returns the version it points at.
    static func requireShiftableAlias(
        _ tx: any RolloutTransaction, function: String, alias name: String, target: Int
    ) throws -> Int {
        let arn = tx.arn
        guard let alias = try tx.aliasTarget(function: function, alias: name) else {
            guard try tx.functionExists(function) else { throw RelctlError.functionNotFound(arn.functionArn(function)) }
            throw RelctlError(.resourceNotFound, "Alias not found: \(arn.functionArn(function, qualifier: name))")
        }
        if let active = try tx.activeDeployment(function: function, alias: name) {
            throw RelctlError(
                .resourceConflict,
                "Deployment \(active.id) is already in progress for \(function):\(name); stop it or wait for it to finish."
            )
        }
        if let release = try tx.activeRelease(function: function, alias: name) {
            throw RelctlError(
                .resourceConflict,
                "Alias \(function):\(name) belongs to release \(release.name) (\(release.id)), which is \(release.status.rawValue); stop it (`relctl release stop \(release.name)`) or wait for it to finish."
            )
        }
        guard alias.additional == nil else {
            throw RelctlError(
                .resourceConflict,
                "Alias \(name) already splits traffic (\(alias.summary)); clear its routing (`relctl alias update \(function) \(name) --no-routing`) before deploying."
            )
        }
        guard alias.functionVersion != AliasTarget.latestVersionNumber else {
            throw RelctlError(
                .invalidParameterValue,
                "Alias \(name) points at $LATEST, which cannot share traffic; point it at a published version first.")
        }
        guard alias.functionVersion != target else {
            throw RelctlError(
                .invalidParameterValue, "Alias \(name) already points at version \(target); nothing to deploy.")
        }
        guard try tx.versionExists(function: function, version: target) else {
            throw RelctlError.functionNotFound(arn.functionArn(function, qualifier: String(target)))
        }
        return alias.functionVersion
    }

    /// Checks that the alarms exist and that the hooks are registry functions or `exec:` commands.
    static func requireAlarmsAndHooks(_ tx: any RolloutTransaction, alarms: [String], hooks: [String?]) throws {
        for name in alarms where try tx.alarm(name) == nil {
            throw RelctlError(.resourceNotFound, "Alarm \(name) does not exist; create it with `relctl alarm put`.")
        }
        for hook in hooks.compactMap({ $0 }) where !hook.hasPrefix("exec:") {
            let reference = try FunctionReference(parsing: hook)
            guard try tx.functionExists(reference.name) else {
                throw RelctlError(
                    .resourceNotFound, "Hook function \(hook) does not exist in the registry (or use exec:COMMAND).")
            }
        }
    }

    // MARK: - Operator commands (each one transaction, then a tick)

    /// Restores the alias's previous primary version (or `to`), with routing cleared, in one transaction.
    /// With a routing split in place, "previous" is the primary it already has: the split is undone.
    /// With a deployment in flight on the alias (and no `to`), the deployment is stopped and the alias
    /// restored to its original version, in the same transaction.
    public func rollback(
        function: String, alias name: String, to explicit: String? = nil
    ) async throws(RelctlError) -> AliasConfiguration {
        let explicitVersion = try explicit.map { text throws(RelctlError) in try AliasTarget.parseVersion(text) }
        let configuration = try await store.write { tx in
            if let release = try tx.activeRelease(function: function, alias: name) {
                throw RelctlError(
                    .resourceConflict,
                    "Alias \(function):\(name) belongs to release \(release.name) (\(release.id)), which is \(release.status.rawValue); `relctl release stop \(release.name)` restores every member together."
                )
            }
            if var deployment = try tx.activeDeployment(function: function, alias: name) {
                guard explicitVersion == nil || explicitVersion == deployment.currentVersion else {
                    throw RelctlError(
                        .resourceConflict,
                        "Deployment \(deployment.id) is in progress on \(function):\(name); `relctl rollback` without --to stops it and restores version \(deployment.currentVersion)."
                    )
                }
                let now = tx.now
                let actions = try deployment.stop(now: now, rollback: true, by: tx.actor)
                try Self.apply(tx, &deployment, actions, now: now)
                return try tx.requireAliasConfiguration(function: function, alias: name)
            }
            // One read of the alias; a missing one answers as every alias operation does.
            guard let alias = try tx.aliasTarget(function: function, alias: name) else {
                _ = try tx.requireAliasConfiguration(function: function, alias: name)
                throw RelctlError(.resourceNotFound, "Alias not found: \(function):\(name)")
            }
            let version: Int
            if let explicitVersion {
                version = explicitVersion
            } else if alias.additional != nil {
                version = alias.functionVersion
            } else {
                guard
                    let previous = try tx.previousPrimaryVersion(
                        function: function, alias: name, current: alias.functionVersion)
                else {
                    throw RelctlError(
                        .resourceConflict,
                        "Alias \(name) has no previous version to roll back to (it has only ever pointed at \(AliasTarget.versionText(alias.functionVersion))); name one with --to."
                    )
                }
                version = previous
            }
            guard try tx.versionExists(function: function, version: version) else {
                throw RelctlError(
                    .resourceNotFound,
                    "Function not found: \(tx.arn.functionArn(function, qualifier: AliasTarget.versionText(version))) (the version to roll back to was deleted; name another with --to)"
                )
            }
            // The alias was read above in this transaction: the move need not read it again.
            guard
                case .moved(let moved) = try tx.moveAlias(
                    function: function, alias: name, ifAt: alias, to: AliasTarget(functionVersion: version),
                    cause: "Rollback")
            else { throw RelctlError(.service, "Alias \(name) changed inside its own transaction.") }
            return moved
        }
        wakeOthers()
        return configuration
    }

    public func stop(id: String, rollback: Bool = true) async throws(RelctlError) -> Deployment {
        try await transition(id) { deployment, now, actor in
            try deployment.stop(now: now, rollback: rollback, by: actor)
        }
    }

    public func promote(id: String, full: Bool = false) async throws(RelctlError) -> Deployment {
        try await transition(id) { deployment, now, actor in try deployment.promote(now: now, full: full, by: actor) }
    }

    public func pause(id: String) async throws(RelctlError) -> Deployment {
        try await transition(id) { deployment, now, actor in try deployment.pause(now: now, by: actor) }
    }

    public func resume(id: String) async throws(RelctlError) -> Deployment {
        try await transition(id) { deployment, now, actor in try deployment.resume(now: now, by: actor) }
    }

    /// PutLifecycleEventHookExecutionStatus.
    @discardableResult
    public func reportHook(
        deploymentId: String, executionId: String, status: HookStatus, output: String? = nil
    ) async throws(RelctlError) -> Deployment {
        if ReleaseGroup.isReleaseId(deploymentId) {
            return try await reportReleaseHook(
                id: deploymentId, executionId: executionId, status: status, output: output
            ).machine
        }
        return try await transition(deploymentId) { deployment, now, _ in
            try deployment.reportHook(executionId: executionId, status: status, output: output, now: now)
        }
    }

    func transition(
        _ id: String, _ change: @escaping @Sendable (inout Deployment, Double, String) throws -> [DeploymentAction]
    ) async throws(RelctlError) -> Deployment {
        let deployment = try await store.write { tx in
            var deployment = try Self.requireDeployment(tx, id)
            let now = tx.now
            let actions = try change(&deployment, now, tx.actor)
            try Self.apply(tx, &deployment, actions, now: now)
            var cache = AlarmCache()
            try Self.advance(tx, &deployment, cache: &cache)
            return deployment
        }
        wakeOthers()
        return deployment
    }

    // MARK: - Ticks

    /// How many due deployments one write transaction advances.
    static let batchSize = 256
    /// For tests that cross batch boundaries.
    public static var batchSizeForTests: Int { batchSize }

    /// Advances every active deployment that has something to do now. Deciding happens on a
    /// snapshot (most deployments are only waiting); the due ones are re-read and advanced in
    /// batched write transactions, so two engines never apply one step twice.
    /// Returns the ids that changed.
    @discardableResult
    public func tick(only id: String? = nil) async throws(RelctlError) -> [String] {
        // Most ticks find no Prometheus alarm or judge source to ask: then one snapshot both looks and decides.
        let decidedAtOnce: [String]? = try await store.read { tx in
            let deployments = try Self.activeDeployments(tx, only: id)
            var cache = AlarmCache()
            guard try !Self.needsOutsideReadings(tx, deployments, cache: &cache) else { return nil }
            return try Self.dueIds(tx, deployments, cache: cache)
        }
        let readings: [String: PrometheusReading]
        let judgeSources: [String: JudgeSourceReading]
        let due: [String]
        if let decidedAtOnce {
            (readings, judgeSources, due) = ([:], [:], decidedAtOnce)
        } else {
            readings = await prometheusReadings(only: id)
            judgeSources = await judgeSourceReadings(only: id)
            let cache = AlarmCache(prometheus: readings, judgeSources: judgeSources)
            due = try await store.read { tx in
                try Self.dueIds(tx, try Self.activeDeployments(tx, only: id), cache: cache)
            }
        }
        // One cache for the whole tick: an alarm shared by deployments in many batches is evaluated (and
        // its state saved) once per target version, in the first batch that needs it.
        var cache = AlarmCache(prometheus: readings, judgeSources: judgeSources)
        var start = 0
        while start < due.count {
            let batch = Array(due[start..<min(due.count, start + Self.batchSize)])
            start += Self.batchSize
            let incoming = cache
            cache = try await store.write { tx in
                var cache = incoming
                for id in batch {
                    guard var deployment = try tx.deployment(id: id) else { continue }
                    try Self.advance(tx, &deployment, cache: &cache)
                }
                return cache
            }
        }
        return due
    }

    /// The active deployments, or the one named `id` among them (the whole list is not copied when all are wanted).
    static func activeDeployments(_ tx: any RolloutTransaction, only id: String?) throws -> [Deployment] {
        let deployments = try tx.activeDeployments()
        guard let id else { return deployments }
        return deployments.filter { $0.id == id }
    }

    /// The deployments a tick must advance, decided on a snapshot without writing (alarms evaluated, not saved).
    static func dueIds(_ tx: any RolloutTransaction, _ deployments: [Deployment], cache: AlarmCache) throws -> [String]
    {
        let now = tx.now
        var cache = cache
        var result: [String] = []
        // Through the buffer, not `for deployment in` or `deployments[index]`: most deployments are only
        // waiting, and either of those copies each one (retaining every field) to pass it on; a buffer's
        // element is lent in place. Only one that is not plainly quiet is ticked, on a copy.
        try deployments.withUnsafeBufferPointer { deployments in
            for index in deployments.indices {
                let id = deployments[index].id
                if try judgeDue(tx, deployments[index], now: now, source: cache.judgeSources[id]) {
                    result.append(id)
                    continue
                }
                let targetVersion = deployments[index].targetVersion
                let quiet = try deployments[index].isQuiet(now: now) { name in
                    try observe(tx, alarm: name, targetVersion: targetVersion, now: now, cache: &cache, save: false)
                }
                if quiet { continue }
                let observations = try observeAlarms(tx, deployments[index], now: now, cache: &cache, save: false)
                var copy = deployments[index]
                let actions = copy.tick(now: now, alarms: observations, newExecutionId: { "pending" })
                if !actions.isEmpty || copy != deployments[index] { result.append(id) }
            }
        }
        return result
    }

    /// True when a deployment watches a Prometheus alarm or has a Prometheus-sourced judge in its
    /// canary phase: those are asked outside any transaction before the tick decides.
    static func needsOutsideReadings(
        _ tx: any RolloutTransaction, _ deployments: [Deployment], cache: inout AlarmCache
    ) throws -> Bool {
        try deployments.withUnsafeBufferPointer { deployments in
            for index in deployments.indices {
                if deployments[index].policy.judge?.source != nil, deployments[index].aliasWeight > 0,
                    deployments[index].aliasWeight < 100
                {
                    return true
                }
                // `index(forKey:)`: looking a name up must not copy the stored alarm it finds.
                for name in deployments[index].alarms where cache.snapshotAlarms.index(forKey: name) == nil {
                    let alarm = try tx.alarm(name)
                    cache.snapshotAlarms[name] = .some(alarm)
                    if alarm?.definition.prometheus != nil { return true }
                }
            }
            return false
        }
    }

    /// One tick of one deployment inside the caller's transaction: alarms evaluated now (alarm
    /// state changes saved), the machine advanced, its actions applied, the state saved.
    static func advance(_ tx: any RolloutTransaction, _ deployment: inout Deployment, cache: inout AlarmCache) throws {
        guard deployment.status.isActive else { return }
        let now = tx.now
        let observations = try observeAlarms(tx, deployment, now: now, cache: &cache, save: true)
        // The canary judge (a policy's `judge:` section) decides first: abort, end the hold, pause.
        var judging = try JudgeStep(tx, deployment)
        var actions = try judging?.decide(tx, &deployment, now: now, source: cache.judgeSources[deployment.id]) ?? []
        actions += deployment.tick(now: now, alarms: observations, newExecutionId: newExecutionId)
        try apply(tx, &deployment, actions, now: now)
        try judging?.finish(tx, deployment, now: now)
    }

    /// Applies the machine's actions: alias moves (each checked against what the deployment last
    /// set, so a hand-moved alias is not silently overwritten), events, and the saved state.
    static func apply(
        _ tx: any RolloutTransaction, _ deployment: inout Deployment, _ actions: [DeploymentAction], now: Double
    ) throws {
        var events: [DeploymentEvent] = []
        var pending = actions[...]
        while let action = pending.popFirst() {
            switch action {
            case .record(let event):
                events.append(event)
            case .startHook:
                break  // the execution is in the state; `exec:` runners and reporters pick it up from there
            case .setWeight(let percent):
                // One read of the alias: moved only if it still looks as this deployment last left it.
                let expected = aliasTarget(deployment, weight: deployment.aliasWeight)
                switch try tx.moveAlias(
                    function: deployment.functionName, alias: deployment.alias, ifAt: expected,
                    to: aliasTarget(deployment, weight: percent), cause: "Deployment \(deployment.id)")
                {
                case .moved:
                    deployment.aliasWeight = percent
                case .elsewhere(let current):
                    let message =
                        "Alias \(deployment.alias) was changed outside the deployment (it is \(current.summary), the deployment left it at \(expected.summary)); stopping without touching it."
                    let failure = deployment.fail(
                        now: now, code: "INVALID_LAMBDA_CONFIGURATION", message: message, rollback: false)
                    pending = failure[...]
                    continue
                case .missing:
                    throw aliasMissing(tx, deployment)
                }
            case .restoreOriginal:
                guard let current = try tx.aliasTarget(function: deployment.functionName, alias: deployment.alias)
                else { throw aliasMissing(tx, deployment) }
                let original = AliasTarget(functionVersion: deployment.currentVersion)
                if current != original {
                    _ = try tx.moveAlias(
                        function: deployment.functionName, alias: deployment.alias, ifAt: current, to: original,
                        cause: "Rollback \(deployment.id)")
                }
                deployment.aliasWeight = 0
            }
        }
        if !events.isEmpty { try tx.appendEvents(events, to: deployment) }
        try tx.updateDeployment(deployment)
    }

    static func aliasMissing(_ tx: any RolloutTransaction, _ deployment: Deployment) -> RelctlError {
        RelctlError(
            .resourceNotFound,
            "Alias not found: \(tx.arn.functionArn(deployment.functionName, qualifier: deployment.alias))")
    }

    static func aliasTarget(_ deployment: Deployment, weight: Double) -> AliasTarget {
        if weight <= 0 { return AliasTarget(functionVersion: deployment.currentVersion) }
        if weight >= 100 { return AliasTarget(functionVersion: deployment.targetVersion) }
        return AliasTarget(
            functionVersion: deployment.currentVersion,
            additional: .init(version: deployment.targetVersion, weight: weight / 100))
    }

    static func requireDeployment(_ tx: any RolloutTransaction, _ id: String) throws -> Deployment {
        guard let deployment = try tx.deployment(id: id) else {
            throw RelctlError(.resourceNotFound, "Deployment \(id) does not exist.")
        }
        return deployment
    }

    /// CodeDeploy's id shape: `d-` and nine characters.
    static func newDeploymentId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return "d-" + String((0..<9).map { _ in alphabet.randomElement()! })
    }

    static func newExecutionId() -> String { LowercaseUUID.make() }
}
