import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RelctlCore
import RelctlStorage

/// What Prometheus answered for one alarm (on one target version) just before a transaction: its
/// value per period start, or why there is none. Queries are made outside transactions (they are
/// network calls); the evaluation inside reads these.
public struct PrometheusReading: Sendable, Equatable {
    /// Period start → value.
    public var values: [Double: Double]
    public var failure: String?
    /// The query as sent, placeholders filled in.
    public var query: String

    public init(values: [Double: Double], failure: String?, query: String) {
        self.values = values
        self.failure = failure
        self.query = query
    }

    static func key(_ alarm: String, target: Int?) -> String { "\(alarm)@\(target.map(String.init) ?? "-")" }
}

extension RolloutEngine {
    /// How long one Prometheus query may take before it counts as failed (missing data).
    static let prometheusTimeout = TimeAmount.seconds(5)

    /// The client for Prometheus queries: a server that refuses connections is missing data at once
    /// (AsyncHTTPClient's default retries the connection until the request's deadline, which would make
    /// every tick wait out the timeout while Prometheus is down).
    static let prometheusClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(2)
        // Lives as long as the process, as `HTTPClient.shared` does.
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// One alarm to query: its definition and the values its placeholders take.
    struct PrometheusPlan: Sendable {
        var key: String
        var source: PrometheusQuery
        var query: String
        var start: Double
        var end: Double
        var period: Double
    }

    /// Queries Prometheus for the Prometheus-sourced alarms of the active deployments (only `id`'s
    /// when given), all at once, each with the timeout. Nothing is read when no deployment has an alarm.
    func prometheusReadings(only id: String?) async -> [String: PrometheusReading] {
        let plans =
            (try? await store.read { tx -> [PrometheusPlan] in
                let now = tx.now
                var plans: [String: PrometheusPlan] = [:]
                // Many deployments share few alarms: each is read once per tick (most are not Prometheus alarms).
                var prometheusAlarms: [String: StoredAlarm?] = [:]
                for deployment in try tx.activeDeployments()
                where (id == nil || deployment.id == id) && !deployment.alarms.isEmpty {
                    for name in deployment.alarms {
                        if prometheusAlarms[name] == nil {
                            prometheusAlarms[name] = .some(
                                try tx.alarm(name).flatMap { $0.definition.prometheus == nil ? nil : $0 })
                        }
                        guard let alarm = prometheusAlarms[name] ?? nil else { continue }
                        let plan = Self.plan(
                            alarm.definition, now: now, target: deployment.targetVersion,
                            current: deployment.currentVersion,
                            alias: deployment.alias)
                        plans[plan.key] = plan
                    }
                }
                return Array(plans.values)
            }) ?? []
        return await Self.query(plans)
    }

    /// The same for every Prometheus alarm as `alarm list` shows it (`target`: the function's latest deployment).
    func prometheusReadingsForAllAlarms() async -> [String: PrometheusReading] {
        let plans =
            (try? await store.read { tx -> [PrometheusPlan] in
                let now = tx.now
                return try tx.alarms().compactMap { alarm -> PrometheusPlan? in
                    let definition = alarm.definition
                    guard definition.prometheus != nil else { return nil }
                    let alias = Self.aliasName(of: definition)
                    let target = try tx.latestTargetVersion(function: definition.functionName, alias: alias)
                    let deployment = try tx.activeDeployment(function: definition.functionName, alias: alias ?? "")
                    return Self.plan(
                        definition, now: now, target: target, current: deployment?.currentVersion,
                        alias: alias ?? deployment?.alias)
                }
            }) ?? []
        return await Self.query(plans)
    }

    static func plan(
        _ definition: AlarmDefinition, now: Double, target: Int?, current: Int?, alias: String?
    ) -> PrometheusPlan {
        let periods = MetricPeriods.ending(at: now, period: definition.period, count: definition.evaluationRange)
        let values = [
            "target": target.map(String.init), "current": current.map(String.init), "function": definition.functionName,
            "alias": alias ?? aliasName(of: definition),
        ].compactMapValues { $0 }
        let source = definition.prometheus!
        // Each period's value is the query evaluated at the period's end (the newest one: now).
        return PrometheusPlan(
            key: PrometheusReading.key(definition.name, target: target), source: source,
            query: source.substituted(values), start: periods.firstStart + Double(definition.period),
            end: min(periods.end, now), period: Double(definition.period))
    }

    static func query(_ plans: [PrometheusPlan]) async -> [String: PrometheusReading] {
        guard !plans.isEmpty else { return [:] }
        return await withTaskGroup(of: (String, PrometheusReading).self) { group in
            for plan in plans {
                group.addTask { (plan.key, await fetch(plan)) }
            }
            var result: [String: PrometheusReading] = [:]
            for await (key, reading) in group { result[key] = reading }
            return result
        }
    }

    static func fetch(_ plan: PrometheusPlan) async -> PrometheusReading {
        var reading = PrometheusReading(values: [:], failure: nil, query: plan.query)
        // The newest period ends after now: its value is the one at now.
        let times = stride(from: plan.start, through: plan.end + plan.period - 1e-6, by: plan.period).map {
            min($0, plan.end)
        }
        guard let first = times.first else {
            reading.failure = "no period to query"
            return reading
        }
        switch await fetchRange(plan.source, query: plan.query, start: first, end: plan.end, step: plan.period) {
        case .success(let points):
            for point in points {
                // A value at time t belongs to the period that ends at t (the newest: the one containing now).
                let start = ((point.time - 1e-6) / plan.period).rounded(.down) * plan.period
                reading.values[start] = point.value
            }
            if points.isEmpty { reading.failure = "the query returned no data" }
        case .failure(let failure):
            reading.failure = failure.description
        }
        return reading
    }

    /// One `/api/v1/query_range` of `query` (placeholders already filled in) on `source`'s server, with the timeout.
    static func fetchRange(
        _ source: PrometheusQuery, query: String, start: Double, end: Double,
        step: Double
    ) async -> Result<[(time: Double, value: Double)], PrometheusFailure> {
        guard let url = source.rangeURL(query, start: start, end: end, step: step) else {
            return .failure(PrometheusFailure("cannot build a query URL from \(source.url)"))
        }
        do {
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .GET
            let response = try await prometheusClient.execute(request, timeout: prometheusTimeout)
            let body = try await response.body.collect(upTo: 8 << 20)
            switch PrometheusQuery.parseRange(Data(body.readableBytesView)) {
            case .success(let points): return .success(points)
            case .failure(let failure):
                return .failure(
                    response.status.code == 200
                        ? failure : PrometheusFailure("HTTP \(response.status.code): \(failure.description)"))
            }
        } catch {
            return .failure(PrometheusFailure("cannot query \(source.url): \(error)"))
        }
    }

    /// A Prometheus alarm's evaluation from its reading: failed or empty queries are missing data
    /// (TreatMissingData decides); without a reading (a path that did not query) the stored state stands.
    static func prometheusEvaluation(
        _ alarm: StoredAlarm, periods: MetricPeriods, reading: PrometheusReading?
    ) -> AlarmEvaluation {
        let definition = alarm.definition
        guard let reading else {
            return AlarmEvaluation(state: alarm.state, reason: alarm.reason, datapoints: alarm.datapoints)
        }
        let samples = reading.values.map { MetricSample(timestamp: $0.key, value: $0.value) }
        var evaluation = AlarmEvaluator.evaluate(
            definition, periods: periods.datapoints(samples, statistic: .maximum), previous: alarm.state)
        if let failure = reading.failure {
            evaluation.reason +=
                " (Prometheus: \(failure) — missing data, treated as \(definition.treatMissingData.rawValue))"
        }
        return evaluation
    }
}
