import Foundation
import GRDB
import RelctlCore

/// What `relctl deploy` asks for.
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

    public init(function: String, alias: String, targetVersion: String, policy: DeploymentPolicy, preTrafficHook: String? = nil,
                postTrafficHook: String? = nil, alarms: [String] = [], hookTimeout: Double = 3600, autoRollback: Bool = true) {
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

/// Decoded `Deployment`s keyed by id and the exact JSON they came from.
final class DecodedDeploymentCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (state: String, deployment: Deployment)] = [:]

    func decode(id: String, state: String) throws -> Deployment {
        if let hit = lock.withLock({ entries[id] }), hit.state == state { return hit.deployment }
        let deployment = try JSONDecoder().decode(Deployment.self, from: Data(state.utf8))
        lock.withLock {
            if entries.count > 50_000 { entries.removeAll(keepingCapacity: true) }
            entries[id] = (state, deployment)
        }
        return deployment
    }
}

/// One line of a deployment's event log.
public struct DeploymentEventEntry: Sendable, Codable, Equatable {
    public var id: Int64
    public var event: DeploymentEvent
}

struct DeploymentRecord: SnakeCaseRecord {
    static let databaseTableName = "deployments"
    var id: String
    var functionName: String
    var aliasName: String
    var currentVersion: Int
    var targetVersion: Int
    var status: String
    var createTime: Double
    var completeTime: Double?
    var state: String

    init(_ deployment: Deployment) throws {
        id = deployment.id
        functionName = deployment.functionName
        aliasName = deployment.alias
        currentVersion = deployment.currentVersion
        targetVersion = deployment.targetVersion
        status = deployment.status.rawValue
        createTime = deployment.createTime
        completeTime = deployment.completeTime
        state = String(decoding: try JSONEncoder.sorted.encode(deployment), as: UTF8.self)
    }

    func decoded() throws -> Deployment {
        try JSONDecoder().decode(Deployment.self, from: Data(state.utf8))
    }
}

extension Registry {
    /// CreateDeployment: checks everything, records the deployment and runs its first tick (so an
    /// alarm already in ALARM fails it at once).
    public func createDeployment(_ request: DeploymentRequest) throws(RelctlError) -> Deployment {
        try request.policy.validate()
        guard request.hookTimeout > 0 else { throw RelctlError(.invalidParameterValue, "--hook-timeout must be more than 0s.") }
        let target = try AliasTarget.parseVersion(request.targetVersion)
        guard target != AliasTarget.latestVersionNumber else {
            throw RelctlError(.invalidParameterValue, "A deployment shifts traffic to a published version, not $LATEST; run `relctl publish` first.")
        }
        return try write { db, _ in
            let alias = try requireAlias(db, request.function, request.alias, missing: "Alias not found")
            if let active = try activeDeployment(db, function: request.function, alias: request.alias) {
                throw RelctlError(.resourceConflict, "Deployment \(active.id) is already in progress for \(request.function):\(request.alias); stop it or wait for it to finish.")
            }
            guard alias.additionalVersion == nil else {
                throw RelctlError(.resourceConflict, "Alias \(request.alias) already splits traffic (\(alias.target.summary)); clear its routing (`relctl alias update \(request.function) \(request.alias) --no-routing`) before deploying.")
            }
            guard alias.functionVersion != AliasTarget.latestVersionNumber else {
                throw RelctlError(.invalidParameterValue, "Alias \(request.alias) points at $LATEST, which cannot share traffic; point it at a published version first.")
            }
            guard alias.functionVersion != target else {
                throw RelctlError(.invalidParameterValue, "Alias \(request.alias) already points at version \(target); nothing to deploy.")
            }
            guard try version(db, request.function, target) != nil else {
                throw RelctlError.functionNotFound(arn.functionArn(request.function, qualifier: String(target)))
            }
            for name in request.alarms where try !AlarmRecord.exists(db, key: name) {
                throw RelctlError(.resourceNotFound, "Alarm \(name) does not exist; create it with `relctl alarm put`.")
            }
            for hook in [request.preTrafficHook, request.postTrafficHook].compactMap({ $0 }) where !hook.hasPrefix("exec:") {
                let reference = try FunctionReference(parsing: hook)
                guard try FunctionRecord.exists(db, key: reference.name) else {
                    throw RelctlError(.resourceNotFound, "Hook function \(hook) does not exist in the registry (or use exec:COMMAND).")
                }
            }
            var deployment = Deployment(
                id: Registry.newDeploymentId(), functionName: request.function, alias: request.alias,
                currentVersion: alias.functionVersion, targetVersion: target, policy: request.policy,
                preTrafficHook: request.preTrafficHook, postTrafficHook: request.postTrafficHook, alarms: request.alarms,
                hookTimeout: request.hookTimeout, autoRollback: request.autoRollback, creator: actor,
                createTime: clock().timeIntervalSince1970)
            try DeploymentRecord(deployment).insert(db)
            try recordEvents(db, deployment.id, [.init(at: deployment.createTime, kind: "Created",
                message: "Created by \(actor): \(request.function):\(request.alias) \(alias.functionVersion) → \(target), policy \(request.policy.name)",
                details: ["actor": actor])])
            try audit(db, "CreateDeployment", function: request.function, resource: "deployment:\(deployment.id)", after: ["policy": request.policy.name, "targetVersion": String(target)])
            try advance(db, &deployment)
            return deployment
        }
    }

    public func deployment(id: String) throws(RelctlError) -> Deployment {
        try read { db in try requireDeployment(db, id) }
    }

    public func listDeployments(function: String? = nil, status: DeploymentStatus? = nil, limit: Int = 100) throws(RelctlError) -> [Deployment] {
        try read { db in
            try DeploymentRecord.fetchAll(db, sql: """
                SELECT * FROM deployments WHERE (?1 IS NULL OR function_name = ?1) AND (?2 IS NULL OR status = ?2)
                ORDER BY create_time DESC, id LIMIT ?3
                """, arguments: [function, status?.rawValue, limit]).map { try $0.decoded() }
        }
    }

    /// Deployments that are Created, InProgress or Paused (decoded once per state change).
    public func activeDeployments() throws(RelctlError) -> [Deployment] {
        try read { db in try activeDeployments(db) }
    }

    /// The event log, oldest first, after `afterId`.
    public func deploymentEvents(id: String, after afterId: Int64 = 0) throws(RelctlError) -> [DeploymentEventEntry] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, at, kind, message, details FROM deployment_events WHERE deployment_id = ? AND id > ? ORDER BY id
                """, arguments: [id, afterId]).map {
                DeploymentEventEntry(id: $0[0], event: DeploymentEvent(
                    at: $0[1], kind: $0[2], message: $0[3],
                    details: (try? JSONDecoder().decode([String: String].self, from: Data(($0[4] as String).utf8))) ?? [:]))
            }
        }
    }

    // MARK: - Operator commands (each one transaction, then a tick)

    public func stopDeployment(id: String, rollback: Bool = true) throws(RelctlError) -> Deployment {
        try transition(id) { deployment, now in try deployment.stop(now: now, rollback: rollback, by: actor) }
    }

    public func promoteDeployment(id: String, full: Bool = false) throws(RelctlError) -> Deployment {
        try transition(id) { deployment, now in try deployment.promote(now: now, full: full, by: actor) }
    }

    public func pauseDeployment(id: String) throws(RelctlError) -> Deployment {
        try transition(id) { deployment, now in try deployment.pause(now: now, by: actor) }
    }

    public func resumeDeployment(id: String) throws(RelctlError) -> Deployment {
        try transition(id) { deployment, now in try deployment.resume(now: now, by: actor) }
    }

    /// PutLifecycleEventHookExecutionStatus.
    public func reportHookStatus(deploymentId: String, executionId: String, status: HookStatus, output: String? = nil) throws(RelctlError) -> Deployment {
        try transition(deploymentId) { deployment, now in
            try deployment.reportHook(executionId: executionId, status: status, output: output, now: now)
        }
    }

    func transition(_ id: String, _ change: (inout Deployment, Double) throws -> [DeploymentAction]) throws(RelctlError) -> Deployment {
        try write { db, _ in
            var deployment = try requireDeployment(db, id)
            let now = clock().timeIntervalSince1970
            let actions = try change(&deployment, now)
            try apply(db, &deployment, actions, now: now)
            try advance(db, &deployment)
            return deployment
        }
    }

    // MARK: - Ticks

    /// Advances every active deployment that has something to do at `now`. Deciding happens on a
    /// snapshot (most deployments are only waiting); each one that moves is re-read and advanced
    /// in its own write transaction, so two controllers never apply one step twice.
    /// Returns the ids that changed.
    @discardableResult
    public func tickDeployments(only id: String? = nil) throws(RelctlError) -> [String] {
        let due: [String] = try read { db in
            let now = clock().timeIntervalSince1970
            var alarmCache: [String: AlarmObservation] = [:]
            var result: [String] = []
            for deployment in try activeDeployments(db) where id == nil || deployment.id == id {
                var copy = deployment
                let observations = try observeAlarms(db, deployment, now: now, cache: &alarmCache)
                let actions = copy.tick(now: now, alarms: observations, newExecutionId: { "pending" })
                if !actions.isEmpty || copy != deployment { result.append(deployment.id) }
            }
            return result
        }
        for deploymentId in due {
            try write { db, _ in
                var deployment = try requireDeployment(db, deploymentId)
                try advance(db, &deployment)
            }
        }
        return due
    }

    /// One tick of one deployment inside the caller's transaction: alarms evaluated now (alarm
    /// state changes saved), the machine advanced, its actions applied, the state saved.
    func advance(_ db: Database, _ deployment: inout Deployment) throws {
        guard deployment.status.isActive else { return }
        let now = clock().timeIntervalSince1970
        var cache: [String: AlarmObservation] = [:]
        let observations = try observeAlarms(db, deployment, now: now, cache: &cache, save: true)
        let actions = deployment.tick(now: now, alarms: observations, newExecutionId: Registry.newExecutionId)
        try apply(db, &deployment, actions, now: now)
    }

    func observeAlarms(_ db: Database, _ deployment: Deployment, now: Double, cache: inout [String: AlarmObservation], save: Bool = false) throws -> [String: AlarmObservation] {
        var result: [String: AlarmObservation] = [:]
        for name in deployment.alarms {
            let key = "\(name)@\(deployment.targetVersion)"
            if let cached = cache[key] {
                result[name] = cached
                continue
            }
            guard let record = try AlarmRecord.fetchOne(db, key: name) else { continue }
            let definition = try record.decoded()
            let evaluation = try evaluateAlarm(db, definition, now: now, targetVersion: deployment.targetVersion)
            if save { try saveAlarmState(db, record, evaluation, now: now, onlyOnStateChange: true) }
            let observation = AlarmObservation(state: evaluation.state, reason: evaluation.reason)
            cache[key] = observation
            result[name] = observation
        }
        return result
    }

    /// Applies the machine's actions: alias moves (each checked against what the deployment last
    /// set, so a hand-moved alias is not silently overwritten), events, and the saved state.
    func apply(_ db: Database, _ deployment: inout Deployment, _ actions: [DeploymentAction], now: Double) throws {
        var events: [DeploymentEvent] = []
        var pending = actions[...]
        while let action = pending.popFirst() {
            switch action {
            case .record(let event):
                events.append(event)
            case .startHook:
                break  // the execution is in the state; `exec:` runners and reporters pick it up from there
            case .setWeight(let percent):
                var alias = try requireAlias(db, deployment.functionName, deployment.alias, missing: "Alias not found")
                let expected = Self.aliasTarget(deployment, weight: deployment.aliasWeight)
                guard alias.target == expected else {
                    let message = "Alias \(deployment.alias) was changed outside the deployment (it is \(alias.target.summary), the deployment left it at \(expected.summary)); stopping without touching it."
                    let failure = deployment.fail(now: now, code: "INVALID_LAMBDA_CONFIGURATION", message: message, rollback: false)
                    pending = failure[...]
                    continue
                }
                _ = try move(db, &alias, to: Self.aliasTarget(deployment, weight: percent), description: nil, cause: "Deployment \(deployment.id)")
                deployment.aliasWeight = percent
            case .restoreOriginal:
                var alias = try requireAlias(db, deployment.functionName, deployment.alias, missing: "Alias not found")
                let original = AliasTarget(functionVersion: deployment.currentVersion)
                if alias.target != original {
                    _ = try move(db, &alias, to: original, description: nil, cause: "Rollback \(deployment.id)")
                }
                deployment.aliasWeight = 0
            }
        }
        try recordEvents(db, deployment.id, events)
        try DeploymentRecord(deployment).update(db)
    }

    static func aliasTarget(_ deployment: Deployment, weight: Double) -> AliasTarget {
        if weight <= 0 { return AliasTarget(functionVersion: deployment.currentVersion) }
        if weight >= 100 { return AliasTarget(functionVersion: deployment.targetVersion) }
        return AliasTarget(functionVersion: deployment.currentVersion,
                           additional: .init(version: deployment.targetVersion, weight: weight / 100))
    }

    func recordEvents(_ db: Database, _ id: String, _ events: [DeploymentEvent]) throws {
        for event in events {
            try db.execute(sql: "INSERT INTO deployment_events (deployment_id, at, kind, message, details) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, event.at, event.kind, event.message,
                                       String(decoding: try JSONEncoder.sorted.encode(event.details), as: UTF8.self)])
        }
    }

    func requireDeployment(_ db: Database, _ id: String) throws -> Deployment {
        guard let record = try DeploymentRecord.fetchOne(db, key: id) else {
            throw RelctlError(.resourceNotFound, "Deployment \(id) does not exist.")
        }
        return try record.decoded()
    }

    func activeDeployments(_ db: Database) throws -> [Deployment] {
        try Row.fetchAll(db, sql: """
            SELECT id, state FROM deployments WHERE status IN ('Created', 'InProgress', 'Paused') ORDER BY create_time, id
            """).map { try deploymentCache.decode(id: $0[0], state: $0[1]) }
    }

    func activeDeployment(_ db: Database, function: String, alias: String) throws -> Deployment? {
        try DeploymentRecord.fetchOne(db, sql: """
            SELECT * FROM deployments WHERE function_name = ? AND alias_name = ? AND status IN ('Created', 'InProgress', 'Paused')
            """, arguments: [function, alias]).map { try $0.decoded() }
    }

    /// Versions that active deployments reference, for deletion and cleanup guards.
    func versionsInDeployments(_ db: Database) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT id, function_name, current_version, target_version FROM deployments WHERE status IN ('Created', 'InProgress', 'Paused')
            """) {
            let id: String = row[0]
            let function: String = row[1]
            result["\(function):\(row[2] as Int)", default: []].append("deployment \(id)")
            result["\(function):\(row[3] as Int)", default: []].append("deployment \(id)")
        }
        return result
    }

    /// CodeDeploy's id shape: `d-` and nine characters.
    static func newDeploymentId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return "d-" + String((0..<9).map { _ in alphabet.randomElement()! })
    }

    static func newExecutionId() -> String { UUID().uuidString.lowercased() }
}

// MARK: - `exec:` hook runners

/// An `exec:` hook a runner took on.
public struct ClaimedHook: Sendable {
    public var deploymentId: String
    public var execution: HookExecution
    /// What a Lambda hook receives: DeploymentId, LifecycleEventHookExecutionId, FunctionName, Alias, CurrentVersion, TargetVersion.
    public var payload: [String: String]
}

extension Registry {
    /// Takes on `exec:` hook executions nobody runs: new ones, and those whose runner stopped
    /// sending heartbeats for `staleAfter` seconds (it crashed; the hook runs again, as a new attempt).
    public func claimExecHooks(runner: String, only id: String? = nil, staleAfter: Double = 15) throws(RelctlError) -> [ClaimedHook] {
        try write { db, _ in
            let now = clock().timeIntervalSince1970
            var claimed: [ClaimedHook] = []
            for var deployment in try activeDeployments(db) where id == nil || deployment.id == id {
                var events: [DeploymentEvent] = []
                for index in deployment.hooks.indices {
                    var execution = deployment.hooks[index]
                    guard execution.isExec, execution.status == .inProgress else { continue }
                    if let owner = execution.runner, let beat = execution.heartbeatAt, now - beat < staleAfter || owner == runner { continue }
                    if execution.runner != nil {
                        execution.attempt += 1
                        events.append(.init(at: now, kind: "HookRetry", message: "Runner \(execution.runner!) went quiet; \(runner) runs \(execution.hook) again (attempt \(execution.attempt))",
                                            details: ["executionId": execution.executionId, "previousRunner": execution.runner!]))
                    }
                    execution.runner = runner
                    execution.heartbeatAt = now
                    deployment.hooks[index] = execution
                    claimed.append(ClaimedHook(deploymentId: deployment.id, execution: execution, payload: [
                        "DeploymentId": deployment.id, "LifecycleEventHookExecutionId": execution.executionId,
                        "FunctionName": deployment.functionName, "Alias": deployment.alias,
                        "CurrentVersion": String(deployment.currentVersion), "TargetVersion": String(deployment.targetVersion),
                    ]))
                }
                if claimed.contains(where: { $0.deploymentId == deployment.id }) {
                    try recordEvents(db, deployment.id, events)
                    try DeploymentRecord(deployment).update(db)
                }
            }
            return claimed
        }
    }

    /// Takes on function hooks nobody has invoked yet (each is invoked once; the function then
    /// reports its result, as a CodeDeploy hook calls PutLifecycleEventHookExecutionStatus).
    public func claimFunctionHooks(runner: String, only id: String? = nil) throws(RelctlError) -> [ClaimedHook] {
        try write { db, _ in
            let now = clock().timeIntervalSince1970
            var claimed: [ClaimedHook] = []
            for var deployment in try activeDeployments(db) where id == nil || deployment.id == id {
                var changed = false
                for index in deployment.hooks.indices {
                    let execution = deployment.hooks[index]
                    guard !execution.isExec, execution.status == .pending, execution.runner == nil else { continue }
                    deployment.hooks[index].runner = runner
                    deployment.hooks[index].heartbeatAt = now
                    changed = true
                    claimed.append(ClaimedHook(deploymentId: deployment.id, execution: deployment.hooks[index], payload: [
                        "DeploymentId": deployment.id, "LifecycleEventHookExecutionId": execution.executionId,
                        "FunctionName": deployment.functionName, "Alias": deployment.alias,
                        "CurrentVersion": String(deployment.currentVersion), "TargetVersion": String(deployment.targetVersion),
                    ]))
                }
                if changed {
                    try recordEvents(db, deployment.id, claimed.filter { $0.deploymentId == deployment.id }.map {
                        .init(at: now, kind: "HookInvoke", message: "Invoking \($0.execution.hook) for \($0.execution.event.rawValue) (execution \($0.execution.executionId)); waiting for its report",
                              details: ["executionId": $0.execution.executionId, "runner": runner])
                    })
                    try DeploymentRecord(deployment).update(db)
                }
            }
            return claimed
        }
    }

    /// Tells the registry a runner is still running these executions. Returns the ones that are
    /// no longer wanted (the deployment ended or the hook timed out), whose processes should stop.
    public func heartbeatHooks(runner: String, executions: [(deploymentId: String, executionId: String)]) throws(RelctlError) -> Set<String> {
        guard !executions.isEmpty else { return [] }
        return try write { db, _ in
            let now = clock().timeIntervalSince1970
            var unwanted = Set<String>()
            for (deploymentId, group) in Dictionary(grouping: executions, by: \.deploymentId) {
                guard var deployment = try? requireDeployment(db, deploymentId) else {
                    group.forEach { unwanted.insert($0.executionId) }
                    continue
                }
                for item in group {
                    guard let index = deployment.hooks.firstIndex(where: { $0.executionId == item.executionId }),
                          deployment.status.isActive, deployment.hooks[index].status == .inProgress, deployment.hooks[index].runner == runner
                    else {
                        unwanted.insert(item.executionId)
                        continue
                    }
                    deployment.hooks[index].heartbeatAt = now
                }
                try DeploymentRecord(deployment).update(db)
            }
            return unwanted
        }
    }
}
