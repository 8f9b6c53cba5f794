import Foundation
import RelctlCore

/// The series `relctl metrics get` prints (GetMetricStatistics): one statistic per period from the
/// period containing `since` to the one containing now, the same on every engine.
public struct MetricSeriesRequest: Sendable, Equatable {
    public var function: String
    public var version: String?
    public var resource: String?
    public var metric: String
    public var statistic: Statistic
    public var period: Int
    public var since: Date

    public init(
        function: String, version: String?, resource: String?, metric: String, statistic: Statistic, period: Int,
        since: Date
    ) {
        self.function = function
        self.version = version
        self.resource = resource
        self.metric = metric
        self.statistic = statistic
        self.period = period
        self.since = since
    }

    /// The datapoints as of `now`, from the samples `samples` answers for the request's query.
    public func datapoints(
        now: Double, samples: (MetricQuery) throws -> [MetricSample]
    ) throws -> [AlarmEvaluation.Datapoint] {
        guard period >= 1 else { throw RelctlError(.invalidParameterValue, "--period must be at least 1 second.") }
        let periods = MetricPeriods.covering(since: since.timeIntervalSince1970, now: now, period: period)
        guard periods.count <= 100_000 else {
            throw RelctlError(
                .invalidParameterValue, "That is more than 100,000 periods; use a longer --period or a shorter --since."
            )
        }
        let query = MetricQuery(
            function: function, metric: metric, from: periods.firstStart, to: periods.end, resource: resource,
            executedVersion: version)
        return periods.datapoints(try samples(query), statistic: statistic)
    }
}

extension RolloutStore {
    /// The series in one read snapshot of this store, as of the transaction's clock.
    public func metricSeries(_ request: MetricSeriesRequest) async throws(RelctlError) -> [AlarmEvaluation.Datapoint] {
        try await read { tx in try request.datapoints(now: tx.now, samples: { try tx.metricSamples($0) }) }
    }
}
