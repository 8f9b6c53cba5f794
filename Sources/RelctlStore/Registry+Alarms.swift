import Foundation
import GRDB
import RelctlCore

/// An alarm with its current state, as `relctl alarm list` shows it.
public struct AlarmStatus: Sendable, Codable, Equatable {
    public var AlarmName: String
    public var StateValue: String
    public var StateReason: String
    public var StateUpdatedTimestamp: String
    public var Datapoints: [AlarmEvaluation.Datapoint]
    public var Definition: AlarmDefinition
}

/// One datapoint of `relctl metrics put` (and, later, of the runtime).
public struct MetricDatapoint: Sendable, Equatable {
    public var functionName: String
    public var resource: String?
    public var executedVersion: String?
    public var metric: String
    public var value: Double
    public var unit: String?
    public var timestamp: Date

    public init(functionName: String, resource: String? = nil, executedVersion: String? = nil, metric: String,
                value: Double, unit: String? = nil, timestamp: Date) {
        self.functionName = functionName
        self.resource = resource
        self.executedVersion = executedVersion
        self.metric = metric
        self.value = value
        self.unit = unit
        self.timestamp = timestamp
    }
}

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
                try AlarmRecord(name: definition.name, definition: json, state: AlarmState.insufficientData.rawValue,
                                stateReason: "Unchecked: initial alarm creation", stateDatapoints: "[]",
                                stateUpdatedAt: clock().timeIntervalSince1970).insert(db)
            }
            try audit(db, "PutMetricAlarm", function: definition.functionName, resource: "alarm:\(definition.name)", after: definition)
        }
    }

    /// DeleteAlarms. An alarm an active deployment watches cannot go.
    @discardableResult
    public func deleteAlarm(name: String) throws(RelctlError) -> Bool {
        try write { db, _ in
            guard let record = try AlarmRecord.fetchOne(db, key: name) else { return false }
            for deployment in try activeDeployments(db) where deployment.alarms.contains(name) {
                throw RelctlError(.resourceConflict, "Alarm \(name) is watched by deployment \(deployment.id); stop it or wait for it to finish first.")
            }
            try record.delete(db)
            try audit(db, "DeleteAlarms", function: try? record.decoded().functionName, resource: "alarm:\(name)")
            return true
        }
    }

    /// DescribeAlarms: every alarm evaluated now, states saved.
    public func listAlarms() throws(RelctlError) -> [AlarmStatus] {
        try write { db, _ in
            let now = clock().timeIntervalSince1970
            return try AlarmRecord.order(Column("name")).fetchAll(db).map { record in
                let definition = try record.decoded()
                let evaluation = try evaluateAlarm(db, definition, now: now, targetVersion: try targetVersion(db, for: definition))
                let updated = try saveAlarmState(db, record, evaluation, now: now)
                return AlarmStatus(
                    AlarmName: record.name, StateValue: evaluation.state.rawValue, StateReason: evaluation.reason,
                    StateUpdatedTimestamp: LambdaTimestamp.string(from: Date(timeIntervalSince1970: updated)),
                    Datapoints: evaluation.datapoints, Definition: definition)
            }
        }
    }

    /// Evaluates the named alarms now without saving anything (for displays). `targetVersion`
    /// resolves `--executed-version target`.
    public func alarmStatuses(names: [String], targetVersion: Int?) throws(RelctlError) -> [String: AlarmStatus] {
        try read { db in
            let now = clock().timeIntervalSince1970
            var result: [String: AlarmStatus] = [:]
            for name in names {
                guard let record = try AlarmRecord.fetchOne(db, key: name) else { continue }
                let definition = try record.decoded()
                let evaluation = try evaluateAlarm(db, definition, now: now, targetVersion: targetVersion)
                result[name] = AlarmStatus(
                    AlarmName: name, StateValue: evaluation.state.rawValue, StateReason: evaluation.reason,
                    StateUpdatedTimestamp: LambdaTimestamp.string(from: Date(timeIntervalSince1970: record.stateUpdatedAt)),
                    Datapoints: evaluation.datapoints, Definition: definition)
            }
            return result
        }
    }

    /// PutMetricData.
    public func putMetricData(_ datapoints: [MetricDatapoint]) throws(RelctlError) {
        for datapoint in datapoints {
            guard datapoint.value.isFinite else { throw RelctlError(.invalidParameterValue, "Metric values must be finite numbers.") }
            guard !datapoint.metric.isEmpty, datapoint.metric.count <= 255 else {
                throw RelctlError(.invalidParameterValue, "The metric name must be 1–255 characters.")
            }
            try FunctionReference.validateName(datapoint.functionName)
        }
        try write { db, _ in
            let statement = try db.makeStatement(sql: """
                INSERT INTO metric_datapoints (function_name, resource, executed_version, metric, timestamp, value, unit)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for point in datapoints {
                try statement.execute(arguments: [point.functionName, point.resource, point.executedVersion, point.metric,
                                                  point.timestamp.timeIntervalSince1970, point.value, point.unit])
            }
        }
    }

    // MARK: - Evaluation

    /// The version `--executed-version target` stands for: the target of the function's active
    /// deployment (on the alias, when the alarm names a `Resource`), else of its latest one, so an
    /// alarm that failed a deployment still shows the datapoints that failed it.
    func targetVersion(_ db: Database, for definition: AlarmDefinition) throws -> Int? {
        guard definition.executedVersion == "target" else { return nil }
        let alias = definition.resource.flatMap { $0.split(separator: ":").dropFirst().first.map(String.init) }
        return try Int.fetchOne(db, sql: """
            SELECT target_version FROM deployments WHERE function_name = ?1 AND (?2 IS NULL OR alias_name = ?2)
            ORDER BY status IN ('Created', 'InProgress', 'Paused') DESC, create_time DESC LIMIT 1
            """, arguments: [definition.functionName, alias])
    }

    /// Evaluates an alarm at `now` over its evaluation range. Periods are aligned to multiples of the
    /// period since the epoch; the newest is the one containing `now`, so a datapoint counts the
    /// moment it lands (CloudWatch itself lags by a period).
    func evaluateAlarm(_ db: Database, _ definition: AlarmDefinition, now: Double, targetVersion: Int?) throws -> AlarmEvaluation {
        let period = Double(definition.period)
        let lastStart = (now / period).rounded(.down) * period
        let range = definition.evaluationRange
        let firstStart = lastStart - Double(range - 1) * period
        let version: String?
        switch definition.executedVersion {
        case "target"?: version = targetVersion.map(String.init) ?? "-none-"
        case let other: version = other
        }
        let rows = try Row.fetchAll(db, sql: """
            SELECT timestamp, value FROM metric_datapoints
            WHERE function_name = ?1 AND metric = ?2 AND timestamp >= ?3 AND timestamp < ?4
              AND (?5 IS NULL OR resource = ?5) AND (?6 IS NULL OR executed_version = ?6)
            """, arguments: [definition.functionName, definition.metric, firstStart, lastStart + period, definition.resource, version])
        var buckets = [[Double]](repeating: [], count: range)
        for row in rows {
            let timestamp: Double = row[0]
            let index = Int(((timestamp - firstStart) / period).rounded(.down))
            if buckets.indices.contains(index) { buckets[index].append(row[1]) }
        }
        let periods = buckets.enumerated().map { index, samples in
            AlarmEvaluation.Datapoint(periodStart: firstStart + Double(index) * period, value: definition.statistic.aggregate(samples))
        }
        let previous = try String.fetchOne(db, sql: "SELECT state FROM alarms WHERE name = ?", arguments: [definition.name])
            .flatMap(AlarmState.init(rawValue:)) ?? .insufficientData
        var evaluation = AlarmEvaluator.evaluate(definition, periods: periods, previous: previous)
        if definition.executedVersion == "target", targetVersion == nil {
            evaluation.reason += " (no deployment on \(definition.functionName) yet, so `target` matches no version)"
        }
        return evaluation
    }

    /// Saves a new state (and when it changed); returns the time of the last state change.
    @discardableResult
    func saveAlarmState(_ db: Database, _ record: AlarmRecord, _ evaluation: AlarmEvaluation, now: Double, onlyOnStateChange: Bool = false) throws -> Double {
        let changed = record.state != evaluation.state.rawValue
        if onlyOnStateChange && !changed { return record.stateUpdatedAt }
        let datapoints = String(decoding: try JSONEncoder.sorted.encode(evaluation.datapoints), as: UTF8.self)
        if changed || record.stateReason != evaluation.reason || record.stateDatapoints != datapoints {
            try db.execute(sql: """
                UPDATE alarms SET state = ?, state_reason = ?, state_datapoints = ?, state_updated_at = ? WHERE name = ?
                """, arguments: [evaluation.state.rawValue, evaluation.reason, datapoints, changed ? now : record.stateUpdatedAt, record.name])
        }
        return changed ? now : record.stateUpdatedAt
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
