import Foundation
import GRDB
import RelctlCore
import RelctlStorage

struct AlarmRecord: SnakeCaseRecord {
    static let databaseTableName = "alarms"
    var name: String
    var definition: String
    var state: String
    var stateReason: String
    var stateDatapoints: String
    var stateUpdatedAt: Double

    func decoded() throws -> AlarmDefinition {
        try JSONDecoder().decode(AlarmDefinition.self, from: Data(definition.utf8))
    }
}

extension AlarmRecord {
    /// Column by column: every tick reads each watched alarm, and Codable's keyed decoding was most of that read.
    init(row: Row) {
        name = row["name"]
        definition = row["definition"]
        state = row["state"]
        stateReason = row["state_reason"]
        stateDatapoints = row["state_datapoints"]
        stateUpdatedAt = row["state_updated_at"]
    }

    func encode(to container: inout PersistenceContainer) {
        container["name"] = name
        container["definition"] = definition
        container["state"] = state
        container["state_reason"] = stateReason
        container["state_datapoints"] = stateDatapoints
        container["state_updated_at"] = stateUpdatedAt
    }
}

final class DecodedAlarmCache: Sendable {
    let definitions = DecodedJSONCache<AlarmDefinition>()
    let datapoints = DecodedJSONCache<[AlarmEvaluation.Datapoint]>()
}

extension Registry {
    /// PutMetricAlarm: creates or replaces an alarm (its state is kept when it already exists).
    public func putAlarm(_ definition: AlarmDefinition) throws(RelctlError) {
        try definition.validate()
        try FunctionReference.validateName(definition.functionName)
        try write { db, _ in
            let json = String(decoding: try JSONEncoder.sorted.encode(definition), as: UTF8.self)
            if var existing = try AlarmRecord.fetchOne(db, key: definition.name) {
                existing.definition = json
                try existing.update(db)
            } else {
                try AlarmRecord(
                    name: definition.name, definition: json, state: AlarmState.insufficientData.rawValue,
                    stateReason: "Unchecked: initial alarm creation", stateDatapoints: "[]",
                    stateUpdatedAt: clock().timeIntervalSince1970
                ).insert(db)
            }
            try audit(
                db, "PutMetricAlarm", function: definition.functionName, resource: "alarm:\(definition.name)",
                after: definition)
        }
    }

    /// DeleteAlarms. An alarm an active deployment watches cannot go.
    @discardableResult
    public func deleteAlarm(name: String) throws(RelctlError) -> Bool {
        try write { db, _ in
            guard let record = try AlarmRecord.fetchOne(db, key: name) else { return false }
            for deployment in try activeDeployments(db) where deployment.alarms.contains(name) {
                throw RelctlError(
                    .resourceConflict,
                    "Alarm \(name) is watched by deployment \(deployment.id); stop it or wait for it to finish first.")
            }
            try record.delete(db)
            try audit(db, "DeleteAlarms", function: try? record.decoded().functionName, resource: "alarm:\(name)")
            return true
        }
    }
}

extension AlarmRecord {
    /// The alarm with its JSON columns decoded, at most once per distinct text.
    func stored(cache: DecodedAlarmCache) throws -> StoredAlarm {
        StoredAlarm(
            definition: try cache.definitions.decode(id: name, text: definition),
            state: AlarmState(rawValue: state) ?? .insufficientData, reason: stateReason,
            datapoints: (try? cache.datapoints.decode(id: name, text: stateDatapoints)) ?? [],
            updatedAt: stateUpdatedAt)
    }

    enum Columns {
        static let name = Column("name")
    }
}

// MARK: - Metrics

extension Registry {
    func insertMetricData(_ db: Database, _ datapoints: [MetricDatapoint]) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO metric_datapoints (function_name, resource, executed_version, metric, timestamp, value, unit)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        for point in datapoints {
            try statement.execute(arguments: [
                point.functionName, point.resource, point.executedVersion, point.metric,
                point.timestamp.timeIntervalSince1970, point.value, point.unit,
            ])
        }
    }

    func metricSamples(_ db: Database, _ query: MetricQuery) throws -> [MetricSample] {
        let statement = try db.cachedStatement(
            sql: """
                SELECT timestamp, value FROM metric_datapoints
                WHERE function_name = ?1 AND metric = ?2 AND timestamp >= ?3 AND timestamp < ?4
                  AND (?5 IS NULL OR resource = ?5) AND (?6 IS NULL OR executed_version = ?6)
                """)
        return try Row.fetchAll(
            statement,
            arguments: [query.function, query.metric, query.from, query.to, query.resource, query.executedVersion]
        )
        .map { MetricSample(timestamp: $0[0], value: $0[1]) }
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
