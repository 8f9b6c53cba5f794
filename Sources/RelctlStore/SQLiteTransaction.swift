import Foundation
import GRDB
import RelctlCore
import RelctlStorage

/// The rollout engine's transaction on SQLite: a GRDB `Database` inside `pool.read`/`pool.write`.
struct SQLiteTransaction: RolloutTransaction {
    let db: Database
    let registry: Registry
    /// The alias this transaction last read or wrote: a rollback reads the alias, decides, then moves it,
    /// and the move need not read it again (nothing else writes aliases inside the engine's transaction).
    private let lastAlias = LastAlias()

    init(db: Database, registry: Registry) {
        self.db = db
        self.registry = registry
    }

    private final class LastAlias {
        var record: AliasRecord?
        func matching(_ function: String, _ alias: String) -> AliasRecord? {
            record.flatMap { $0.functionName == function && $0.name == alias ? $0 : nil }
        }
    }

    private func fetchAlias(function: String, alias: String) throws -> AliasRecord? {
        if let known = lastAlias.matching(function, alias) { return known }
        let record = try db.fetchOne(
            AliasRecord.self, cached: "SELECT * FROM aliases WHERE function_name = ? AND name = ?", [function, alias])
        lastAlias.record = record
        return record
    }

    var now: Double { registry.clock().timeIntervalSince1970 }
    var actor: String { registry.actor }
    var arn: ArnContext { registry.arn }

    func activeDeployments() throws -> [Deployment] { try registry.activeDeployments(db) }

    func deployment(id: String) throws -> Deployment? {
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT state FROM deployments WHERE id = ?"), arguments: [id])
        return try rows.next().map { try registry.cachedDeployment(id: id, stateIn: $0, at: 0) }
    }

    func activeDeployment(function: String, alias: String) throws -> Deployment? {
        try registry.activeDeployment(db, function: function, alias: alias)
    }

    func insertDeployment(_ deployment: Deployment) throws { try DeploymentRecord(deployment).insert(db) }

    func updateDeployment(_ deployment: Deployment) throws {
        let record = try DeploymentRecord(deployment)
        try record.updateCached(db)
        registry.deploymentCache.remember(id: deployment.id, text: record.state, value: deployment)
    }

    func appendEvents(_ events: [DeploymentEvent], to deploymentId: String) throws {
        try registry.recordEvents(db, deploymentId, events)
        try registry.recordDeploymentEvents(db, deploymentId, events)
    }

    func appendEvents(_ events: [DeploymentEvent], to deployment: Deployment) throws {
        try registry.recordEvents(db, deployment.id, events)
        try registry.recordDeploymentEvents(
            db, deployment.id, events,
            of: (deployment.functionName, deployment.alias, deployment.currentVersion, deployment.targetVersion))
    }

    func latestTargetVersion(function: String, alias: String?) throws -> Int? {
        try Int.fetchOne(
            db,
            sql: """
                SELECT target_version FROM deployments WHERE function_name = ?1 AND (?2 IS NULL OR alias_name = ?2)
                ORDER BY status IN ('Created', 'InProgress', 'Paused') DESC, create_time DESC LIMIT 1
                """, arguments: [function, alias])
    }

    func functionExists(_ name: String) throws -> Bool { try db.functionExists(name) }

    func versionExists(function: String, version: Int) throws -> Bool {
        try db.exists(cached: "SELECT 1 FROM versions WHERE function_name = ? AND version = ?", [function, version])
    }

    func aliasTarget(function: String, alias: String) throws -> AliasTarget? {
        try fetchAlias(function: function, alias: alias)?.target
    }

    func requireAliasConfiguration(function: String, alias: String) throws -> AliasConfiguration {
        registry.aliasConfiguration(try registry.requireAlias(db, function, alias, missing: "Alias not found"))
    }

    func moveAlias(function: String, alias: String, to target: AliasTarget, cause: String) throws -> AliasConfiguration
    {
        lastAlias.record = nil
        var record = try registry.requireAlias(db, function, alias, missing: "Alias not found")
        let moved = try registry.move(db, &record, to: target, description: nil, cause: cause)
        lastAlias.record = record
        return moved
    }

    func moveAlias(
        function: String, alias: String, ifAt expected: AliasTarget, to target: AliasTarget, cause: String
    )
        throws -> AliasSwap
    {
        guard var record = try fetchAlias(function: function, alias: alias) else { return .missing }
        guard record.target == expected else { return .elsewhere(record.target) }
        lastAlias.record = nil
        let moved = try registry.move(db, &record, to: target, description: nil, cause: cause)
        lastAlias.record = record
        return .moved(moved)
    }

    /// Newest move first, stopping at the alias's creation: the answer is nearly always one of the last
    /// few moves, where asking SQLite for "after the last CreateAlias" scanned the alias's whole history
    /// (the cause is not indexed) on every rollback.
    func previousPrimaryVersion(function: String, alias: String, current: Int) throws -> Int? {
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT from_version, cause FROM alias_moves WHERE function_name = ? AND alias_name = ?
                    ORDER BY id DESC
                    """), arguments: [function, alias])
        while let row = try rows.next() {
            if let from: Int = row[0], from != current { return from }
            if (row[1] as String) == "CreateAlias" { return nil }
        }
        return nil
    }

    func audit(_ action: String, function: String?, resource: String, after: [String: String]) throws {
        try registry.audit(db, action, function: function, resource: resource, after: after)
    }

    func alarm(_ name: String) throws -> StoredAlarm? {
        try db.fetchOne(AlarmRecord.self, cached: "SELECT * FROM alarms WHERE name = ?", [name])?.stored(
            cache: registry.alarmCache)
    }

    func alarms() throws -> [StoredAlarm] {
        try AlarmRecord.order(AlarmRecord.Columns.name).fetchAll(db).map { try $0.stored(cache: registry.alarmCache) }
    }

    func saveAlarmState(
        _ name: String, state: AlarmState, reason: String, datapoints: [AlarmEvaluation.Datapoint], changedAt: Double
    ) throws {
        try registry.recordAlarmChange(db, name: name, to: state, reason: reason)
        try db.execute(
            sql: """
                UPDATE alarms SET state = ?, state_reason = ?, state_datapoints = ?, state_updated_at = ? WHERE name = ?
                """,
            arguments: [
                state.rawValue, reason, String(decoding: try JSONEncoder.sorted.encode(datapoints), as: UTF8.self),
                changedAt, name,
            ])
    }

    func metricSamples(_ query: MetricQuery) throws -> [MetricSample] { try registry.metricSamples(db, query) }

    func insertMetricData(_ datapoints: [MetricDatapoint]) throws { try registry.insertMetricData(db, datapoints) }

    func judgeCursor(deploymentId: String) throws -> JudgeCursor? { try registry.judgeCursor(db, deploymentId) }

    func deploymentJudge(deploymentId: String) throws -> DeploymentJudge? {
        try registry.deploymentJudge(db, deploymentId)
    }

    func saveDeploymentJudge(_ judge: DeploymentJudge, deploymentId: String) throws {
        try registry.saveDeploymentJudge(db, judge, deploymentId: deploymentId)
    }
}

extension Registry: RolloutStore, InvocationStore {
    public var localDirectory: URL? { dataDirectory }
    public var code: any CodeStore { remoteCode.map { MirroredCode(local: blobs, remote: $0) } ?? blobs }

    public func read<T: Sendable>(
        _ body: @escaping @Sendable (any RolloutTransaction) throws -> T
    ) async throws(RelctlError) -> T {
        do {
            return try await pool.read { db in try body(SQLiteTransaction(db: db, registry: self)) }
        } catch {
            throw Registry.map(error)
        }
    }

    public func write<T: Sendable>(
        _ body: @escaping @Sendable (any RolloutTransaction) throws -> T
    ) async throws(RelctlError) -> T {
        do {
            return try await pool.write { db in try body(SQLiteTransaction(db: db, registry: self)) }
        } catch {
            throw Registry.map(error)
        }
    }

    public func deploymentConfigDefinitions() async throws(RelctlError) -> [DeploymentConfigDefinition] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT name, definition FROM codedeploy_configs ORDER BY name")
                    .map { DeploymentConfigDefinition(name: $0[0], definition: $0[1]) }
            }
        } catch {
            throw Registry.map(error)
        }
    }

    public func resolveInvocation(_ function: FunctionReference) async throws(RelctlError) -> InvocationTarget {
        do {
            return try await pool.read { db in try self.invocationTarget(db, function) }
        } catch {
            throw Registry.map(error)
        }
    }

    public func readSetting(_ key: String) async throws(RelctlError) -> String? {
        do {
            return try await pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
            }
        } catch {
            throw Registry.map(error)
        }
    }
}

extension BlobStore: CodeStore {}
