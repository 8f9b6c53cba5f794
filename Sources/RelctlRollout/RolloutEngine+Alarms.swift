import Foundation
import RelctlCore
import RelctlStorage

/// An alarm with its current state, as `relctl alarm list` shows it.
public struct AlarmStatus: Sendable, Codable, Equatable {
    public var AlarmName: String
    public var StateValue: String
    public var StateReason: String
    public var StateUpdatedTimestamp: String
    public var Datapoints: [AlarmEvaluation.Datapoint]
    public var Definition: AlarmDefinition
}

/// Alarm observations made at one instant, shared by the deployments of one transaction.
struct AlarmCache: Sendable {
    /// An alarm's reading for one target version ("target" alarms read only that version's metrics).
    struct Key: Hashable, Sendable {
        let alarm: String
        let targetVersion: Int?
    }
    var observations: [Key: AlarmObservation] = [:]
    /// Prometheus alarms' answers, queried before the transaction (absent: the stored state stands).
    var prometheus: [String: PrometheusReading] = [:]
    /// Prometheus-sourced judges' answers by deployment id, queried before the transaction.
    var judgeSources: [String: JudgeSourceReading] = [:]
    /// Alarms as read in a read-only snapshot (never while writing: a saved state change must be seen).
    var snapshotAlarms: [String: StoredAlarm?] = [:]
}

extension RolloutEngine: MetricSink {
    /// PutMetricData. The datapoints land in one transaction together with the evaluation of
    /// every alarm of an active deployment that watches them: a datapoint that makes such an alarm
    /// breach rolls the alias back before this returns, without waiting for a tick. Controllers in
    /// other processes are woken to see the change.
    public func putMetricData(_ datapoints: [MetricDatapoint]) async throws(RelctlError) {
        for datapoint in datapoints {
            guard datapoint.value.isFinite else {
                throw RelctlError(.invalidParameterValue, "Metric values must be finite numbers.")
            }
            guard !datapoint.metric.isEmpty, datapoint.metric.count <= 255 else {
                throw RelctlError(.invalidParameterValue, "The metric name must be 1–255 characters.")
            }
            try FunctionReference.validateName(datapoint.functionName)
        }
        guard !datapoints.isEmpty else { return }
        let watched = Set(datapoints.map { "\($0.functionName)\u{0}\($0.metric)" })
        let changed = try await store.write { tx in
            try tx.insertMetricData(datapoints)
            var cache = AlarmCache()
            var changed = false
            for var deployment in try tx.activeDeployments()
            where !deployment.alarms.isEmpty || deployment.policy.judge != nil {
                let watches =
                    try Self.judgeWatches(deployment, datapoints)
                    || Self.anyAlarm(tx, deployment.alarms, watches: watched)
                guard watches else { continue }
                let before = deployment
                try Self.advance(tx, &deployment, cache: &cache)
                changed = changed || deployment != before
            }
            return try Self.advanceReleases(watching: watched, tx, cache: &cache) || changed
        }
        if changed { wakeOthers() }
    }

    /// Whether one of the named alarms reads one of `watched` (`function\0metric`).
    static func anyAlarm(_ tx: any RolloutTransaction, _ names: [String], watches watched: Set<String>) throws -> Bool {
        try names.contains { name in
            guard let alarm = try tx.alarm(name)?.definition else { return false }
            return watched.contains("\(alarm.functionName)\u{0}\(alarm.metric)")
        }
    }

    /// DescribeAlarms: every alarm evaluated now, states saved.
    public func listAlarms() async throws(RelctlError) -> [AlarmStatus] {
        let readings = await prometheusReadingsForAllAlarms()
        return try await store.write { tx in
            let now = tx.now
            return try tx.alarms().map { alarm in
                let definition = alarm.definition
                let target =
                    definition.executedVersion == "target"
                    ? try tx.latestTargetVersion(
                        function: definition.functionName, alias: Self.aliasName(of: definition)) : nil
                let evaluation = try Self.evaluate(tx, alarm, now: now, targetVersion: target, prometheus: readings)
                let updated = try Self.save(tx, alarm, evaluation, now: now, onlyOnStateChange: false)
                return AlarmStatus(
                    AlarmName: alarm.name, StateValue: evaluation.state.rawValue, StateReason: evaluation.reason,
                    StateUpdatedTimestamp: LambdaTimestamp.string(from: Date(timeIntervalSince1970: updated)),
                    Datapoints: evaluation.datapoints, Definition: definition)
            }
        }
    }

    /// Evaluates the named alarms now without saving anything (for displays). `targetVersion`
    /// resolves `--executed-version target`.
    public func alarmStatuses(names: [String], targetVersion: Int?) async throws(RelctlError) -> [String: AlarmStatus] {
        try await store.read { tx in
            let now = tx.now
            var result: [String: AlarmStatus] = [:]
            for name in names {
                guard let alarm = try tx.alarm(name) else { continue }
                let evaluation = try Self.evaluate(tx, alarm, now: now, targetVersion: targetVersion)
                result[name] = AlarmStatus(
                    AlarmName: name, StateValue: evaluation.state.rawValue, StateReason: evaluation.reason,
                    StateUpdatedTimestamp: LambdaTimestamp.string(from: Date(timeIntervalSince1970: alarm.updatedAt)),
                    Datapoints: evaluation.datapoints, Definition: alarm.definition)
            }
            return result
        }
    }

    /// The alias an alarm's `Resource` dimension names (`F:alias`), if any.
    static func aliasName(of definition: AlarmDefinition) -> String? {
        definition.resource.flatMap { $0.split(separator: ":").dropFirst().first.map(String.init) }
    }

    /// The deployment's alarms as they are at `now` (`target` meaning its target version);
    /// with `save`, state changes are stored.
    static func observeAlarms(
        _ tx: any RolloutTransaction, _ deployment: Deployment, now: Double, cache: inout AlarmCache,
        save: Bool
    ) throws -> [String: AlarmObservation] {
        var result: [String: AlarmObservation] = [:]
        for name in deployment.alarms {
            result[name] = try observe(
                tx, alarm: name, targetVersion: deployment.targetVersion, now: now, cache: &cache, save: save)
        }
        return result
    }

    /// One alarm as it is at `now` for a deployment to `targetVersion`, evaluated once per tick (nil: no such alarm).
    static func observe(
        _ tx: any RolloutTransaction, alarm name: String, targetVersion: Int, now: Double, cache: inout AlarmCache,
        save: Bool
    ) throws -> AlarmObservation? {
        let key = AlarmCache.Key(alarm: name, targetVersion: targetVersion)
        if let cached = cache.observations[key] { return cached }
        let stored: StoredAlarm?
        if !save, let snapshot = cache.snapshotAlarms[name] {
            stored = snapshot
        } else {
            stored = try tx.alarm(name)
            if !save { cache.snapshotAlarms[name] = .some(stored) }
        }
        guard let alarm = stored else { return nil }
        let evaluation = try evaluate(tx, alarm, now: now, targetVersion: targetVersion, prometheus: cache.prometheus)
        if save { try Self.save(tx, alarm, evaluation, now: now, onlyOnStateChange: true) }
        let observation = AlarmObservation(state: evaluation.state, reason: evaluation.reason)
        cache.observations[key] = observation
        return observation
    }

    /// Evaluates an alarm at `now` over its evaluation range (see `MetricPeriods`).
    static func evaluate(
        _ tx: any RolloutTransaction, _ alarm: StoredAlarm, now: Double, targetVersion: Int?,
        prometheus readings: [String: PrometheusReading] = [:]
    ) throws -> AlarmEvaluation {
        let definition = alarm.definition
        let periods = MetricPeriods.ending(at: now, period: definition.period, count: definition.evaluationRange)
        if definition.prometheus != nil {
            return prometheusEvaluation(
                alarm, periods: periods, reading: readings[PrometheusReading.key(alarm.name, target: targetVersion)])
        }
        let version: String?
        switch definition.executedVersion {
        case "target"?: version = targetVersion.map(String.init) ?? "-none-"
        case let other: version = other
        }
        let samples = try tx.metricSamples(
            MetricQuery(
                function: definition.functionName, metric: definition.metric, from: periods.firstStart, to: periods.end,
                resource: definition.resource, executedVersion: version))
        var evaluation = AlarmEvaluator.evaluate(
            definition, periods: periods.datapoints(samples, statistic: definition.statistic),
            previous: alarm.state)
        if definition.executedVersion == "target", targetVersion == nil {
            evaluation.reason += " (no deployment on \(definition.functionName) yet, so `target` matches no version)"
        }
        return evaluation
    }

    /// Saves a new state (and when it changed); returns the time of the last state change.
    @discardableResult
    static func save(
        _ tx: any RolloutTransaction, _ alarm: StoredAlarm, _ evaluation: AlarmEvaluation, now: Double,
        onlyOnStateChange: Bool
    ) throws -> Double {
        let changed = alarm.state != evaluation.state
        if onlyOnStateChange && !changed { return alarm.updatedAt }
        if changed || alarm.reason != evaluation.reason || alarm.datapoints != evaluation.datapoints {
            try tx.saveAlarmState(
                alarm.name, state: evaluation.state, reason: evaluation.reason, datapoints: evaluation.datapoints,
                changedAt: changed ? now : alarm.updatedAt)
        }
        return changed ? now : alarm.updatedAt
    }
}
