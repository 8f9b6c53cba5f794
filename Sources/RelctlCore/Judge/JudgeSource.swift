import Foundation

/// Where a judge reads its counts when the functions run elsewhere: a Prometheus server and, per
/// side, two PromQL queries whose answers are **cumulative counters** (requests, errors) of the
/// canary (`{{target}}`) and the baseline (`{{current}}`). relctl evaluates them every `step`
/// seconds and judges the increase between consecutive evaluations, attributed to the window's first
/// second: exact counts (no `increase()` extrapolation), counter resets handled as Prometheus does.
///
/// ```yaml
/// judge:
///   source:
///     prometheus: http://127.0.0.1:9090
///     step: 15s
///     canary:   {invocations: 'sum(http_requests_total{version="{{target}}"})', errors: 'sum(http_errors_total{version="{{target}}"}) or vector(0)'}
///     baseline: {invocations: 'sum(http_requests_total{version="{{current}}"})', errors: 'sum(http_errors_total{version="{{current}}"}) or vector(0)'}
/// ```
public struct JudgeSource: Sendable, Equatable, Codable {
    public struct Queries: Sendable, Equatable, Codable {
        public var invocations: String
        public var errors: String

        public init(invocations: String, errors: String) {
            self.invocations = invocations
            self.errors = errors
        }
    }

    /// The Prometheus server's base URL.
    public var prometheus: String
    public var canary: Queries
    public var baseline: Queries
    /// Seconds between evaluations (the judged windows' length); a window is read one step after it ends,
    /// so a scrape interval up to `step` is covered.
    public var step: Double

    public init(prometheus: String, canary: Queries, baseline: Queries, step: Double = 15) {
        self.prometheus = prometheus
        self.canary = canary
        self.baseline = baseline
        self.step = step
    }

    /// Evaluations per query at most (Prometheus refuses more than 11,000 points per series).
    public static let maxPoints = 10_000

    /// The four queries with what they count: `canary.invocations` and so on.
    public var queries: [(field: String, side: JudgeSamples.Side, metric: String, query: PrometheusQuery)] {
        let sides: [(String, JudgeSamples.Side, Queries)] = [
            ("canary", .canary, canary), ("baseline", .baseline, baseline),
        ]
        return sides.flatMap { name, side, queries in
            [
                (
                    "\(name).invocations", side, "Invocations",
                    PrometheusQuery(url: prometheus, query: queries.invocations)
                ),
                ("\(name).errors", side, "Errors", PrometheusQuery(url: prometheus, query: queries.errors)),
            ]
        }
    }

    public func validate() throws(RelctlError) {
        func invalid(_ why: String) -> RelctlError { RelctlError(.invalidParameterValue, "judge: source: \(why)") }
        guard step.isFinite, step >= 1, step <= 3600 else {
            throw invalid(
                "step \(DurationText.format(step)) must be from 1s to 1h (the length of the windows the counters are compared over)."
            )
        }
        for (field, _, _, query) in queries {
            do {
                try query.validate()
            } catch {
                let why = error.message.replacingOccurrences(of: "--prometheus", with: "prometheus")
                    .replacingOccurrences(of: "--query", with: field)
                throw invalid(why)
            }
        }
    }

    /// The evaluation times to read at `now` for a judge that has fed every second before
    /// `judgedThrough`: multiples of `step` from the first window starting at or after
    /// `judgedThrough` to the last one read a whole step after it ended. nil: no whole window yet.
    public func evaluationTimes(judgedThrough: Double, now: Double) -> (start: Double, end: Double)? {
        var start = (judgedThrough / step).rounded(.up) * step
        let end = ((now - step) / step).rounded(.down) * step
        if (end - start) / step > Double(Self.maxPoints - 1) { start = end - Double(Self.maxPoints - 1) * step }
        return end - start >= step ? (start, end) : nil
    }

    /// The counts between consecutive evaluations of each query, put at each window's first second.
    /// A decrease is a counter reset: the window counts the new value, as Prometheus' `increase` does.
    /// Errors are capped at the window's invocations (counters scraped a moment apart).
    public static func samples(_ points: [String: [(time: Double, value: Double)]], source: JudgeSource) -> JudgeSamples
    {
        var samples = JudgeSamples()
        var invocations: [JudgeSamples.Side: [Double: Double]] = [:]
        for (field, side, metric, _) in source.queries {
            let series = (points[field] ?? []).sorted { $0.time < $1.time }
            guard series.count >= 2 else { continue }
            for index in 1..<series.count {
                let previous = series[index - 1], current = series[index]
                // Only consecutive evaluations: a gap (missing points) is not spread over one window.
                guard abs(current.time - previous.time - source.step) < 0.001 else { continue }
                var count = current.value >= previous.value ? current.value - previous.value : current.value
                if metric == "Invocations" {
                    invocations[side, default: [:]][previous.time] = count
                } else {
                    count = min(count, invocations[side]?[previous.time] ?? count)
                }
                samples.add(side, metric: metric, timestamp: previous.time, value: count)
            }
        }
        return samples
    }
}
