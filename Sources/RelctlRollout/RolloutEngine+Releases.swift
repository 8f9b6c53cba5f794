import Foundation
import RelctlCore
import RelctlStorage

/// What `relctl release create` and `Relctl.CreateRelease` ask for.
public struct ReleaseRequest: Sendable {
    public var name: String
    public var members: [ReleaseMemberSpec]
    public var policy: DeploymentPolicy
    public var preTrafficHook: String?
    public var postTrafficHook: String?
    public var alarms: [String]
    public var hookTimeout: Double
    public var autoRollback: Bool

    public init(
        name: String, members: [ReleaseMemberSpec], policy: DeploymentPolicy, preTrafficHook: String? = nil,
        postTrafficHook: String? = nil, alarms: [String] = [], hookTimeout: Double = 3600, autoRollback: Bool = true
    ) {
        self.name = name
        self.members = members
        self.policy = policy
        self.preTrafficHook = preTrafficHook
        self.postTrafficHook = postTrafficHook
        self.alarms = alarms
        self.hookTimeout = hookTimeout
        self.autoRollback = autoRollback
    }
}

/// Release groups: several aliases moved in lockstep by one timing machine. Every decision is one
/// transaction, as for deployments: each step sets every member's weight, and a failure (an alarm
/// in ALARM, a failed or timed-out hook, a stop) restores every member, together or not at all.
extension RolloutEngine {
    // MARK: - Creating

    /// CreateRelease: checks every member (each alias must be free: no deployment or other release
    /// owns it), records the release and runs its first tick.
    public func createRelease(_ request: ReleaseRequest) async throws(RelctlError) -> ReleaseGroup {
        try ReleaseGroup.validateName(request.name)
        try request.policy.validate()
        guard request.hookTimeout > 0 else {
            throw RelctlError(.invalidParameterValue, "--hook-timeout must be more than 0s.")
        }
        guard !request.members.isEmpty else {
            throw RelctlError(.invalidParameterValue, "A release needs at least one --member FUNCTION:ALIAS=VERSION.")
        }
        guard request.members.count <= ReleaseGroup.maxMembers else {
            throw RelctlError(
                .invalidParameterValue,
                "A release has at most \(ReleaseGroup.maxMembers) members; this one has \(request.members.count).")
        }
        var seen = Set<String>()
        var targets: [Int] = []
        for member in request.members {
            try FunctionReference.validateName(member.function)
            guard seen.insert("\(member.function):\(member.alias)").inserted else {
                throw RelctlError(
                    .invalidParameterValue,
                    "--member \(member.function):\(member.alias) is given twice; a release moves each alias once.")
            }
            let target = try AliasTarget.parseVersion(member.version)
            guard target != AliasTarget.latestVersionNumber else {
                throw RelctlError(
                    .invalidParameterValue,
                    "--member \(member.function):\(member.alias)=$LATEST is not allowed: a release shifts traffic to published versions; run `relctl publish` first."
                )
            }
            targets.append(target)
        }
        let targetVersions = targets
        let release = try await store.write { tx in
            if let active = try tx.release(named: request.name), active.status.isActive {
                throw RelctlError(
                    .resourceConflict,
                    "Release \(request.name) (\(active.id)) is already \(active.status.rawValue); stop it or wait for it to finish."
                )
            }
            var members: [ReleaseMember] = []
            for (spec, target) in zip(request.members, targetVersions) {
                let current = try Self.requireShiftableAlias(
                    tx, function: spec.function, alias: spec.alias, target: target)
                members.append(
                    ReleaseMember(
                        functionName: spec.function, alias: spec.alias, currentVersion: current, targetVersion: target))
            }
            try Self.requireAlarmsAndHooks(
                tx, alarms: request.alarms, hooks: [request.preTrafficHook, request.postTrafficHook])
            let actor = tx.actor
            var release = ReleaseGroup(
                id: Self.newReleaseId(), name: request.name, members: members, policy: request.policy,
                preTrafficHook: request.preTrafficHook, postTrafficHook: request.postTrafficHook,
                alarms: request.alarms,
                hookTimeout: request.hookTimeout, autoRollback: request.autoRollback, creator: actor, createTime: tx.now
            )
            try tx.insertRelease(release)
            try tx.appendReleaseEvents(
                [
                    .init(
                        at: release.machine.createTime, kind: "Created",
                        message:
                            "Created by \(actor): release \(request.name) of \(members.count) aliases (\(release.transitions)), policy \(request.policy.name)",
                        details: ["actor": actor, "release": request.name, "members": release.transitions])
                ], to: release)
            try tx.audit(
                "CreateRelease", function: nil, resource: "release:\(release.id)",
                after: ["name": request.name, "policy": request.policy.name, "members": release.transitions])
            var cache = AlarmCache()
            try Self.advanceRelease(tx, &release, cache: &cache)
            return release
        }
        wakeOthers()
        return release
    }

    // MARK: - Operator commands (each one transaction, then a tick)

    /// Stops the release; every member is restored unless `rollback` is false.
    public func stopRelease(_ idOrName: String, rollback: Bool = true) async throws(RelctlError) -> ReleaseGroup {
        try await releaseTransition(idOrName) { release, now, actor in
            try release.stop(now: now, rollback: rollback, by: actor)
        }
    }

    /// Ends the current wait for every member (or, `full`, goes straight to 100% on every member).
    public func promoteRelease(_ idOrName: String, full: Bool = false) async throws(RelctlError) -> ReleaseGroup {
        try await releaseTransition(idOrName) { release, now, actor in
            try release.promote(now: now, full: full, by: actor)
        }
    }

    public func pauseRelease(_ idOrName: String) async throws(RelctlError) -> ReleaseGroup {
        try await releaseTransition(idOrName) { release, now, actor in try release.pause(now: now, by: actor) }
    }

    public func resumeRelease(_ idOrName: String) async throws(RelctlError) -> ReleaseGroup {
        try await releaseTransition(idOrName) { release, now, actor in try release.resume(now: now, by: actor) }
    }

    /// A hook's outcome for a release (`relctl deployments hook-status r-…`, the `exec:` runner).
    @discardableResult
    public func reportReleaseHook(
        id: String, executionId: String, status: HookStatus, output: String? = nil
    ) async throws(RelctlError) -> ReleaseGroup {
        try await releaseTransition(id) { release, now, _ in
            try release.reportHook(executionId: executionId, status: status, output: output, now: now)
        }
    }

    func releaseTransition(
        _ idOrName: String,
        _ change: @escaping @Sendable (inout ReleaseGroup, Double, String) throws -> [DeploymentAction]
    ) async throws(RelctlError) -> ReleaseGroup {
        let release = try await store.write { tx in
            var release = try Self.requireRelease(tx, idOrName)
            let now = tx.now
            let actions = try change(&release, now, tx.actor)
            try Self.applyRelease(tx, &release, actions, now: now)
            var cache = AlarmCache()
            try Self.advanceRelease(tx, &release, cache: &cache)
            return release
        }
        wakeOthers()
        return release
    }

    // MARK: - Ticks

    /// Advances every active release that has something to do now: decided on a snapshot, then
    /// the due ones re-read and advanced in one write transaction (releases are few: each holds
    /// its aliases), so two engines never apply one step twice. Returns the ids that changed.
    @discardableResult
    public func tickReleases(only id: String? = nil) async throws(RelctlError) -> [String] {
        let due: [String] = try await store.read { tx in
            var cache = AlarmCache()
            return try tx.activeReleases().filter { release in
                guard id == nil || release.id == id else { return false }
                var copy = release
                let observations = try Self.observeReleaseAlarms(tx, release, now: tx.now, cache: &cache, save: false)
                return !copy.tick(now: tx.now, alarms: observations, newExecutionId: { "pending" }).isEmpty
                    || copy != release
            }.map(\.id)
        }
        guard !due.isEmpty else { return [] }
        try await store.write { tx in
            var cache = AlarmCache()
            for id in due {
                guard var release = try tx.release(id: id) else { continue }
                try Self.advanceRelease(tx, &release, cache: &cache)
            }
        }
        return due
    }

    /// One tick of one release inside the caller's transaction.
    static func advanceRelease(
        _ tx: any RolloutTransaction, _ release: inout ReleaseGroup, cache: inout AlarmCache
    ) throws {
        guard release.status.isActive else { return }
        let now = tx.now
        let observations = try observeReleaseAlarms(tx, release, now: now, cache: &cache, save: true)
        let actions = release.tick(now: now, alarms: observations, newExecutionId: newExecutionId)
        try applyRelease(tx, &release, actions, now: now)
    }

    /// Advances the active releases whose alarms watch one of `watched` (`function\0metric`), in
    /// the caller's transaction (PutMetricData). Returns whether any changed.
    static func advanceReleases(
        watching watched: Set<String>, _ tx: any RolloutTransaction, cache: inout AlarmCache
    ) throws -> Bool {
        var changed = false
        for var release in try tx.activeReleases() where !release.machine.alarms.isEmpty {
            guard try anyAlarm(tx, release.machine.alarms, watches: watched) else { continue }
            let before = release
            try advanceRelease(tx, &release, cache: &cache)
            changed = changed || release != before
        }
        return changed
    }

    /// Applies the machine's actions to every member: a shift moves every alias (each checked
    /// against what the release last set; one moved by hand fails the release), a restore moves
    /// every alias the release still holds back to its original version. Then the events and the state.
    static func applyRelease(
        _ tx: any RolloutTransaction, _ release: inout ReleaseGroup, _ actions: [DeploymentAction], now: Double
    ) throws {
        var events: [DeploymentEvent] = []
        var pending = actions[...]
        while let action = pending.popFirst() {
            switch action {
            case .record(let event):
                events.append(event)
            case .startHook:
                break  // the execution is in the machine's state; runners pick it up from there
            case .setWeight(let percent):
                var moved: [String] = []
                for member in release.members {
                    let current = try requireAliasTarget(tx, member)
                    let expected = member.target(weight: member.aliasWeight)
                    if current != expected {
                        moved.append(
                            "\(member.label) is \(current.summary), the release left it at \(expected.summary)")
                    }
                }
                guard moved.isEmpty else {
                    let message =
                        "Changed outside the release: \(moved.joined(separator: "; ")); restoring the members the release still holds and leaving the others as they are."
                    pending = release.fail(now: now, code: "INVALID_LAMBDA_CONFIGURATION", message: message)[...]
                    continue
                }
                for index in release.members.indices {
                    let member = release.members[index]
                    try tx.moveAlias(
                        function: member.functionName, alias: member.alias, to: member.target(weight: percent),
                        cause: "Release \(release.id)")
                    release.members[index].aliasWeight = percent
                }
            case .restoreOriginal:
                for index in release.members.indices {
                    let member = release.members[index]
                    let current = try requireAliasTarget(tx, member)
                    let original = member.target(weight: 0)
                    if current == original {
                        release.members[index].aliasWeight = 0
                    } else if current == member.target(weight: member.aliasWeight) {
                        try tx.moveAlias(
                            function: member.functionName, alias: member.alias, to: original,
                            cause: "Rollback \(release.id)")
                        release.members[index].aliasWeight = 0
                    } else {
                        events.append(
                            .init(
                                at: now, kind: "Untouched",
                                message:
                                    "\(member.label) was changed outside the release (it is \(current.summary)); left as it is",
                                details: ["member": member.label, "alias": current.summary]))
                    }
                }
            }
        }
        if !events.isEmpty { try tx.appendReleaseEvents(events, to: release) }
        try tx.updateRelease(release)
    }

    static func requireAliasTarget(_ tx: any RolloutTransaction, _ member: ReleaseMember) throws -> AliasTarget {
        guard let current = try tx.aliasTarget(function: member.functionName, alias: member.alias) else {
            throw RelctlError(
                .resourceNotFound,
                "Alias not found: \(tx.arn.functionArn(member.functionName, qualifier: member.alias))")
        }
        return current
    }

    /// The release's alarms as they are at `now`; `--executed-version target` means the target of
    /// the member whose function the alarm watches. With `save`, state changes are stored.
    static func observeReleaseAlarms(
        _ tx: any RolloutTransaction, _ release: ReleaseGroup, now: Double, cache: inout AlarmCache,
        save: Bool
    ) throws -> [String: AlarmObservation] {
        var result: [String: AlarmObservation] = [:]
        for name in release.machine.alarms {
            guard let alarm = try tx.alarm(name) else { continue }
            let target = release.members.first { $0.functionName == alarm.definition.functionName }?.targetVersion
            let key = AlarmCache.Key(alarm: name, targetVersion: target)
            if let cached = cache.observations[key] {
                result[name] = cached
                continue
            }
            let evaluation = try evaluate(tx, alarm, now: now, targetVersion: target)
            if save { try Self.save(tx, alarm, evaluation, now: now, onlyOnStateChange: true) }
            let observation = AlarmObservation(state: evaluation.state, reason: evaluation.reason)
            cache.observations[key] = observation
            result[name] = observation
        }
        return result
    }

    // MARK: - Hooks

    /// Claims a release's hook executions (`exec:` ones when `exec`, else function hooks) the way
    /// deployments' are claimed, in the caller's transaction.
    static func claimReleaseHooks(
        _ tx: any RolloutTransaction, exec: Bool, runner: String, only id: String?, staleAfter: Double
    ) throws -> [ClaimedHook] {
        let now = tx.now
        var claimed: [ClaimedHook] = []
        for var release in try tx.activeReleases() where id == nil || release.id == id {
            let (executions, events) =
                exec
                ? claimExec(&release.machine, runner: runner, now: now, staleAfter: staleAfter)
                : claimFunction(&release.machine, runner: runner, now: now)
            guard !executions.isEmpty else { continue }
            if !events.isEmpty { try tx.appendReleaseEvents(events, to: release) }
            try tx.updateRelease(release)
            claimed += executions.map { execution in
                ClaimedHook(
                    deploymentId: release.id, execution: execution,
                    payload: [
                        "DeploymentId": release.id, "LifecycleEventHookExecutionId": execution.executionId,
                        "ReleaseName": release.name,
                        "Members": release.members.map { "\($0.label)=\($0.currentVersion)->\($0.targetVersion)" }
                            .joined(separator: ","),
                    ])
            }
        }
        return claimed
    }

    /// The machine that holds a hook execution: a deployment, or a release's timing machine.
    static func hookHolder(_ tx: any RolloutTransaction, _ id: String) throws -> Deployment? {
        ReleaseGroup.isReleaseId(id) ? try tx.release(id: id)?.machine : try tx.deployment(id: id)
    }

    static func saveHookHolder(_ tx: any RolloutTransaction, _ machine: Deployment) throws {
        guard ReleaseGroup.isReleaseId(machine.id) else { return try tx.updateDeployment(machine) }
        guard var release = try tx.release(id: machine.id) else { return }
        release.machine = machine
        try tx.updateRelease(release)
    }

    static func requireRelease(_ tx: any RolloutTransaction, _ idOrName: String) throws -> ReleaseGroup {
        if let release = try tx.release(id: idOrName) ?? tx.release(named: idOrName) { return release }
        throw RelctlError(
            .resourceNotFound,
            "Release \(idOrName) does not exist (give a release id r-… or a release name; `relctl release list` shows them)."
        )
    }

    /// `r-` and nine characters, like deployments' `d-…`.
    static func newReleaseId() -> String {
        ReleaseGroup.idPrefix + String(newDeploymentId().dropFirst(2))
    }
}
