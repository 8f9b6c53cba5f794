import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

/// The rollout engine's transaction on PostgreSQL: the same reads and writes as SQLite's
/// (`SQLiteTransaction`), statement by statement, on one connection inside `PostgresStore.blocking`.
struct PostgresTransaction: RolloutTransaction {
    let db: BlockingConnection
    let store: PostgresStore

    var now: Double { store.clock().timeIntervalSince1970 }
    var actor: String { store.actor }
    var arn: ArnContext { store.arn }
    /// The audit log's time format.
    var timestamp: String { LambdaTimestamp.string(from: store.clock()) }

    static let activeStatuses = "('Created', 'InProgress', 'Paused')"

    // MARK: Deployments

    func activeDeployments() throws -> [Deployment] {
        try db.rows(
            "SELECT state FROM deployments WHERE status IN ('Created', 'InProgress', 'Paused') ORDER BY create_time, id"
        )
        .map { try JSON.decode(Deployment.self, try $0.decode(String.self)) }
    }

    func deployment(id: String) throws -> Deployment? {
        try db.rows("SELECT state FROM deployments WHERE id = \(id)").first.map {
            try JSON.decode(Deployment.self, try $0.decode(String.self))
        }
    }

    func activeDeployment(function: String, alias: String) throws -> Deployment? {
        try db.rows(
            """
            SELECT state FROM deployments WHERE function_name = \(function) AND alias_name = \(alias)
              AND status IN ('Created', 'InProgress', 'Paused') LIMIT 1
            """
        ).first.map { try JSON.decode(Deployment.self, try $0.decode(String.self)) }
    }

    func insertDeployment(_ deployment: Deployment) throws {
        try db.execute(
            """
            INSERT INTO deployments (id, function_name, alias_name, current_version, target_version, status, create_time, complete_time, state)
            VALUES (\(deployment.id), \(deployment.functionName), \(deployment.alias), \(deployment.currentVersion),
                    \(deployment.targetVersion), \(deployment.status.rawValue), \(deployment.createTime), \(deployment.completeTime),
                    \(try JSON.encode(deployment)))
            """)
    }

    func updateDeployment(_ deployment: Deployment) throws {
        try db.execute(
            """
            UPDATE deployments SET function_name = \(deployment.functionName), alias_name = \(deployment.alias),
              current_version = \(deployment.currentVersion), target_version = \(deployment.targetVersion),
              status = \(deployment.status.rawValue), create_time = \(deployment.createTime),
              complete_time = \(deployment.completeTime), state = \(try JSON.encode(deployment))
            WHERE id = \(deployment.id)
            """)
    }

    func appendEvents(_ events: [DeploymentEvent], to deploymentId: String) throws {
        for event in events {
            try db.execute(
                """
                INSERT INTO deployment_events (deployment_id, at, kind, message, details)
                VALUES (\(deploymentId), \(event.at), \(event.kind), \(event.message), \(try JSON.encode(event.details)))
                """)
        }
        // The release events the entries stand for, with the deployment's function, alias and versions.
        guard
            let row = try db.rows(
                """
                SELECT function_name, alias_name, current_version, target_version FROM deployments WHERE id = \(deploymentId)
                """
            ).first
        else { return }
        let (function, alias, current, target) = try row.decode((String, String, Int, Int).self)
        let context = ["currentVersion": String(current), "targetVersion": String(target)]
        for entry in events {
            for type in ReleaseEvent.types(of: entry) {
                try insert(
                    ReleaseEvent(
                        time: entry.at, type: type, actor: entry.details["actor"] ?? actor, function: function,
                        alias: alias,
                        deploymentId: deploymentId, message: entry.message,
                        details: context.merging(entry.details) { _, detail in detail }))
            }
        }
    }

    func latestTargetVersion(function: String, alias: String?) throws -> Int? {
        try db.rows(
            """
            SELECT target_version FROM deployments WHERE function_name = \(function) AND (\(alias)::text IS NULL OR alias_name = \(alias))
            ORDER BY status IN ('Created', 'InProgress', 'Paused') DESC, create_time DESC LIMIT 1
            """
        ).first?.decode(Int.self)
    }

    // MARK: Registry records

    func functionExists(_ name: String) throws -> Bool {
        try !db.rows("SELECT 1 FROM functions WHERE name = \(name)").isEmpty
    }

    func versionExists(function: String, version: Int) throws -> Bool {
        try !db.rows("SELECT 1 FROM versions WHERE function_name = \(function) AND version = \(version)").isEmpty
    }

    func aliasTarget(function: String, alias: String) throws -> AliasTarget? {
        try aliasRow(function, alias)?.target
    }

    func requireAliasConfiguration(function: String, alias: String) throws -> AliasConfiguration {
        configuration(try requireAlias(function, alias, missing: "Alias not found"))
    }

    func moveAlias(function: String, alias: String, to target: AliasTarget, cause: String) throws -> AliasConfiguration
    {
        try move(
            try requireAlias(function, alias, missing: "Alias not found"), to: target, description: nil, cause: cause)
    }

    /// The newest few moves first (the answer is nearly always among them; the query below scans the alias's
    /// whole history for its last CreateAlias), then the whole history when they did not decide.
    func previousPrimaryVersion(function: String, alias: String, current: Int) throws -> Int? {
        let recent = 16
        let rows = try db.rows(
            """
            SELECT from_version, cause FROM alias_moves WHERE function_name = \(function) AND alias_name = \(alias)
            ORDER BY id DESC LIMIT \(recent)
            """)
        for row in rows {
            let (from, cause) = try row.decode((Int?, String).self)
            if let from, from != current { return from }
            if cause == "CreateAlias" { return nil }
        }
        if rows.count < recent { return nil }
        return try db.rows(
            """
            SELECT from_version FROM alias_moves
            WHERE function_name = \(function) AND alias_name = \(alias) AND from_version IS NOT NULL AND from_version <> \(current)
              AND id > COALESCE((SELECT MAX(id) FROM alias_moves WHERE function_name = \(function) AND alias_name = \(alias)
                                 AND cause = 'CreateAlias'), 0)
            ORDER BY id DESC LIMIT 1
            """
        ).first?.decode(Int.self)
    }

    func audit(_ action: String, function: String?, resource: String, after: [String: String]) throws {
        try audit(action, function: function, resource: resource, before: nil as [String: String]?, after: after)
    }

    // MARK: Alarms and metrics

    func alarm(_ name: String) throws -> StoredAlarm? {
        try db.rows(
            """
            SELECT definition, state, state_reason, state_datapoints, state_updated_at FROM alarms WHERE name = \(name)
            """
        ).first.map(Self.storedAlarm)
    }

    func alarms() throws -> [StoredAlarm] {
        try db.rows(
            "SELECT definition, state, state_reason, state_datapoints, state_updated_at FROM alarms ORDER BY name"
        )
        .map(Self.storedAlarm)
    }

    static func storedAlarm(_ row: PostgresRow) throws -> StoredAlarm {
        let (definition, state, reason, datapoints, updatedAt) = try row.decode(
            (String, String, String, String, Double).self)
        return StoredAlarm(
            definition: try JSON.decode(AlarmDefinition.self, definition),
            state: AlarmState(rawValue: state) ?? .insufficientData,
            reason: reason, datapoints: (try? JSON.decode([AlarmEvaluation.Datapoint].self, datapoints)) ?? [],
            updatedAt: updatedAt)
    }

    func saveAlarmState(
        _ name: String, state: AlarmState, reason: String, datapoints: [AlarmEvaluation.Datapoint], changedAt: Double
    ) throws {
        // AlarmStateChanged when the state differs from the stored one.
        if let alarm = try alarm(name), alarm.state != state {
            try recordEvent(
                .alarmStateChanged, function: alarm.definition.functionName,
                alias: alarm.definition.resource.flatMap {
                    $0.split(separator: ":").dropFirst().first.map(String.init)
                },
                message: "Alarm \(name) went from \(alarm.state.rawValue) to \(state.rawValue): \(reason)",
                details: [
                    "alarm": name, "from": alarm.state.rawValue, "to": state.rawValue, "reason": reason,
                    "metric": alarm.definition.metric,
                ])
        }
        try db.execute(
            """
            UPDATE alarms SET state = \(state.rawValue), state_reason = \(reason), state_datapoints = \(try JSON.encode(datapoints)),
              state_updated_at = \(changedAt) WHERE name = \(name)
            """)
    }

    func metricSamples(_ query: MetricQuery) throws -> [MetricSample] {
        try db.rows(
            """
            SELECT timestamp, value FROM metric_datapoints
            WHERE function_name = \(query.function) AND metric = \(query.metric) AND timestamp >= \(query.from) AND timestamp < \(query.to)
              AND (\(query.resource)::text IS NULL OR resource = \(query.resource))
              AND (\(query.executedVersion)::text IS NULL OR executed_version = \(query.executedVersion))
            ORDER BY id
            """
        ).map {
            let (timestamp, value) = try $0.decode((Double, Double).self)
            return MetricSample(timestamp: timestamp, value: value)
        }
    }

    func insertMetricData(_ datapoints: [MetricDatapoint]) throws {
        for point in datapoints {
            try db.execute(
                """
                INSERT INTO metric_datapoints (function_name, resource, executed_version, metric, timestamp, value, unit)
                VALUES (\(point.functionName), \(point.resource), \(point.executedVersion), \(point.metric),
                        \(point.timestamp.timeIntervalSince1970), \(point.value), \(point.unit))
                """)
        }
    }

    // MARK: Judges

    func judgeCursor(deploymentId: String) throws -> JudgeCursor? {
        try db.rows("SELECT judged_through, weight FROM deployment_judges WHERE deployment_id = \(deploymentId)").first
            .map {
                let (through, weight) = try $0.decode((Double, Double).self)
                return JudgeCursor(judgedThrough: through, weight: weight)
            }
    }

    func deploymentJudge(deploymentId: String) throws -> DeploymentJudge? {
        try db.rows("SELECT state FROM deployment_judges WHERE deployment_id = \(deploymentId)").first
            .map { try JSON.decode(DeploymentJudge.self, try $0.decode(String.self)) }
    }

    func saveDeploymentJudge(_ judge: DeploymentJudge, deploymentId: String) throws {
        try db.execute(
            """
            INSERT INTO deployment_judges (deployment_id, judged_through, weight, verdict, state)
            VALUES (\(deploymentId), \(judge.judgedThrough), \(judge.weights.last?.percent ?? 0), \(judge.judge.verdict.word),
                    \(try JSON.encode(judge)))
            ON CONFLICT (deployment_id) DO UPDATE SET
              judged_through = excluded.judged_through, weight = excluded.weight, verdict = excluded.verdict, state = excluded.state
            """)
    }
}

// MARK: - Aliases, audit and the event log (shared with the registry records)

/// One row of `aliases`.
struct AliasRow {
    var functionName: String
    var name: String
    var functionVersion: Int
    var additionalVersion: Int?
    var additionalWeight: Double?
    var description: String
    var revisionId: String

    var target: AliasTarget {
        AliasTarget.stored(functionVersion, additional: additionalVersion, weight: additionalWeight)
            ?? AliasTarget(functionVersion: functionVersion)
    }
}

extension PostgresTransaction {
    func aliasRow(_ function: String, _ alias: String) throws -> AliasRow? {
        try db.rows(
            """
            SELECT function_name, name, function_version, additional_version, additional_weight, description, revision_id
            FROM aliases WHERE function_name = \(function) AND name = \(alias)
            """
        ).first.map {
            let (functionName, name, version, additionalVersion, weight, description, revision) = try $0.decode(
                (String, String, Int, Int?, Double?, String, String).self)
            return AliasRow(
                functionName: functionName, name: name, functionVersion: version, additionalVersion: additionalVersion,
                additionalWeight: weight, description: description, revisionId: revision)
        }
    }

    func requireAlias(_ function: String, _ alias: String, missing: String) throws -> AliasRow {
        guard let row = try aliasRow(function, alias) else {
            if try !functionExists(function) { throw RelctlError.functionNotFound(arn.functionArn(function)) }
            throw RelctlError(.resourceNotFound, "\(missing): \(arn.functionArn(function, qualifier: alias))")
        }
        return row
    }

    func requireVersionsExist(_ function: String, _ target: AliasTarget) throws {
        for number in target.referencedVersions where try !versionExists(function: function, version: number) {
            throw RelctlError.functionNotFound(arn.functionArn(function, qualifier: AliasTarget.versionText(number)))
        }
    }

    func configuration(_ alias: AliasRow) -> AliasConfiguration {
        AliasConfiguration(
            AliasArn: arn.functionArn(alias.functionName, qualifier: alias.name), Name: alias.name,
            FunctionVersion: AliasTarget.versionText(alias.functionVersion), Description: alias.description,
            RoutingConfig: alias.target.routingConfig, RevisionId: alias.revisionId)
    }

    /// Points an alias at a new target: checks the versions, changes the RevisionId, records the move and the audit row.
    func move(
        _ alias: AliasRow, to target: AliasTarget, description: String?, cause: String
    ) throws -> AliasConfiguration {
        try requireVersionsExist(alias.functionName, target)
        let before = configuration(alias)
        var moved = alias
        moved.functionVersion = target.functionVersion
        moved.additionalVersion = target.additional?.version
        moved.additionalWeight = target.additional?.weight
        if let description { moved.description = description }
        moved.revisionId = PostgresStore.newRevisionId()
        try db.execute(
            """
            UPDATE aliases SET function_version = \(moved.functionVersion), additional_version = \(moved.additionalVersion),
              additional_weight = \(moved.additionalWeight), description = \(moved.description), revision_id = \(moved.revisionId)
            WHERE function_name = \(alias.functionName) AND name = \(alias.name)
            """)
        try recordMove(moved, from: alias.target, to: target, cause: cause)
        let after = configuration(moved)
        try audit(cause, function: alias.functionName, resource: after.AliasArn, before: before, after: after)
        return after
    }

    func recordMove(_ alias: AliasRow, from: AliasTarget?, to: AliasTarget?, cause: String) throws {
        try db.execute(
            """
            INSERT INTO alias_moves (function_name, alias_name, at, actor, cause, from_version, from_additional_version,
                                     from_additional_weight, to_version, to_additional_version, to_additional_weight)
            VALUES (\(alias.functionName), \(alias.name), \(timestamp), \(actor), \(cause), \(from?.functionVersion),
                    \(from?.additional?.version), \(from?.additional?.weight), \(to?.functionVersion), \(to?.additional?.version),
                    \(to?.additional?.weight))
            """)
        // A deployment's moves carry its id in the cause ("Deployment ID", "Rollback ID").
        let words = cause.split(separator: " ")
        let deploymentId = words.count == 2 && ["Deployment", "Rollback"].contains(words[0]) ? String(words[1]) : nil
        let fromWords = AliasTarget.eventWords(from), toWords = AliasTarget.eventWords(to)
        try recordEvent(
            .aliasMoved, function: alias.functionName, alias: alias.name, deploymentId: deploymentId,
            message: "\(cause): \(alias.name) \(fromWords) → \(toWords)",
            details: ["cause": cause, "from": fromWords, "to": toWords])
    }

    func audit<Before: Encodable, After: Encodable>(
        _ action: String, function: String?, resource: String, before: Before?, after: After?
    ) throws {
        try db.execute(
            """
            INSERT INTO audit (at, actor, action, function_name, resource, before, after)
            VALUES (\(timestamp), \(actor), \(action), \(function), \(resource), \(before.flatMap { try? JSON.encode($0) }),
                    \(after.flatMap { try? JSON.encode($0) }))
            """)
    }

    func recordEvent(
        _ type: ReleaseEvent.EventType, function: String? = nil, alias: String? = nil, deploymentId: String? = nil,
        message: String, details: [String: String] = [:]
    ) throws {
        try insert(
            ReleaseEvent(
                time: now, type: type, actor: actor, function: function, alias: alias, deploymentId: deploymentId,
                message: message, details: details))
    }

    func insert(_ event: ReleaseEvent) throws {
        try db.execute(
            """
            INSERT INTO events (at, type, actor, function_name, alias_name, deployment_id, message, details)
            VALUES (\(event.time), \(event.type.rawValue), \(event.actor), \(event.function), \(event.alias), \(event.deploymentId),
                    \(event.message), \(try JSON.encode(event.details)))
            """)
    }
}

/// JSON columns: keys sorted and slashes unescaped, as SQLite's store writes them.
enum JSON {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

extension PostgresStore {
    static func newRevisionId() -> String { LowercaseUUID.make() }
}

// MARK: - RolloutStore

extension PostgresStore: RolloutStore {
    /// None: servers sharing a PostgreSQL database share no folder (wake-ups go through LISTEN/NOTIFY).
    public var localDirectory: URL? { nil }

    public func read<T: Sendable>(
        _ body: @escaping @Sendable (any RolloutTransaction) throws -> T
    ) async throws(RelctlError) -> T {
        try await blocking(write: false) { db in try body(PostgresTransaction(db: db, store: self)) }
    }

    /// An unfenced write (an API call, a CLI command, a metric) also wakes the leading controller
    /// on whichever server it runs (`NOTIFY`, delivered on commit); the leader's own fenced steps do not.
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (any RolloutTransaction) throws -> T
    ) async throws(RelctlError) -> T {
        try await blocking(write: true) { [fenceEpoch] db in
            let value = try body(PostgresTransaction(db: db, store: self))
            if fenceEpoch == nil { try db.simple("NOTIFY \(PostgresWakeListener.channel)") }
            return value
        }
    }

    public func deploymentConfigDefinitions() async throws(RelctlError) -> [DeploymentConfigDefinition] {
        try await blocking(write: false) { db in
            try db.rows("SELECT name, definition FROM codedeploy_configs ORDER BY name").map {
                let (name, definition) = try $0.decode((String, String).self)
                return DeploymentConfigDefinition(name: name, definition: definition)
            }
        }
    }
}
