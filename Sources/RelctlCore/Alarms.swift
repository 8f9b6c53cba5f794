/// CloudWatch alarm states.
public enum AlarmState: String, Sendable, Codable {
    case ok = "OK"
    case alarm = "ALARM"
    case insufficientData = "INSUFFICIENT_DATA"
}

public enum ComparisonOperator: String, Sendable, Codable, CaseIterable {
    case greaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
    case greaterThanThreshold = "GreaterThanThreshold"
    case lessThanThreshold = "LessThanThreshold"
    case lessThanOrEqualToThreshold = "LessThanOrEqualToThreshold"

    public func breaches(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .greaterThanOrEqualToThreshold: value >= threshold
        case .greaterThanThreshold: value > threshold
        case .lessThanThreshold: value < threshold
        case .lessThanOrEqualToThreshold: value <= threshold
        }
    }

    var phrase: String {
        switch self {
        case .greaterThanOrEqualToThreshold: "greater than or equal to"
        case .greaterThanThreshold: "greater than"
        case .lessThanThreshold: "less than"
        case .lessThanOrEqualToThreshold: "less than or equal to"
        }
    }
}

public enum TreatMissingData: String, Sendable, Codable, CaseIterable {
    case missing, notBreaching, breaching, ignore
}

/// `Sum | Average | SampleCount | Minimum | Maximum | pNN`.
public enum Statistic: Sendable, Equatable, Codable, CustomStringConvertible {
    case sum, average, sampleCount, minimum, maximum
    /// A percentile, 0 < p < 100 (`p99` is 99).
    case percentile(Double)

    public init(parsing text: String) throws(RelctlError) {
        switch text {
        case "Sum": self = .sum
        case "Average": self = .average
        case "SampleCount": self = .sampleCount
        case "Minimum": self = .minimum
        case "Maximum": self = .maximum
        default:
            guard text.hasPrefix("p"), let value = Double(text.dropFirst()), value > 0, value < 100 else {
                throw RelctlError(
                    .invalidParameterValue,
                    "Unknown statistic '\(text)': use Sum, Average, SampleCount, Minimum, Maximum or a percentile pNN (0 < NN < 100, e.g. p99, p99.9)."
                )
            }
            self = .percentile(value)
        }
    }

    public var description: String {
        switch self {
        case .sum: "Sum"
        case .average: "Average"
        case .sampleCount: "SampleCount"
        case .minimum: "Minimum"
        case .maximum: "Maximum"
        case .percentile(let p): p == p.rounded() ? "p\(Int(p))" : "p\(p)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try Statistic(parsing: text) } catch { throw error }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The statistic of one period's samples (nil when there are none).
    /// Percentiles are nearest-rank over the raw samples, so they are exact.
    public func aggregate(_ samples: [Double]) -> Double? {
        guard !samples.isEmpty else { return nil }
        switch self {
        case .sum: return samples.reduce(0, +)
        case .average: return samples.reduce(0, +) / Double(samples.count)
        case .sampleCount: return Double(samples.count)
        case .minimum: return samples.min()
        case .maximum: return samples.max()
        case .percentile(let p):
            let sorted = samples.sorted()
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[max(0, min(sorted.count - 1, rank - 1))]
        }
    }
}

/// A metric alarm, CloudWatch's shape: the metric's dimensions (function, resource, executed
/// version), the statistic over each period, and M out of N breaching datapoints.
public struct AlarmDefinition: Sendable, Codable, Equatable {
    public var name: String
    public var functionName: String
    /// `Resource` dimension, e.g. `orders:live`; nil = any.
    public var resource: String?
    /// `ExecutedVersion` dimension: a version number, `target` (the target version of the
    /// function's active deployment), or nil = any.
    public var executedVersion: String?
    public var metric: String
    public var statistic: Statistic
    public var period: Int
    public var evaluationPeriods: Int
    public var datapointsToAlarm: Int
    public var threshold: Double
    public var comparisonOperator: ComparisonOperator
    public var treatMissingData: TreatMissingData
    /// Read a PromQL query from a Prometheus server instead of relctl's metric store (nil: the store).
    public var prometheus: PrometheusQuery?

    public init(
        name: String, functionName: String, resource: String? = nil, executedVersion: String? = nil, metric: String,
        statistic: Statistic, period: Int, evaluationPeriods: Int, datapointsToAlarm: Int? = nil, threshold: Double,
        comparisonOperator: ComparisonOperator, treatMissingData: TreatMissingData = .missing,
        prometheus: PrometheusQuery? = nil
    ) {
        self.name = name
        self.functionName = functionName
        self.resource = resource
        self.executedVersion = executedVersion
        self.metric = metric
        self.statistic = statistic
        self.period = period
        self.evaluationPeriods = evaluationPeriods
        self.datapointsToAlarm = datapointsToAlarm ?? evaluationPeriods
        self.threshold = threshold
        self.comparisonOperator = comparisonOperator
        self.treatMissingData = treatMissingData
        self.prometheus = prometheus
    }

    /// PutMetricAlarm's rules.
    public func validate() throws(RelctlError) {
        guard !name.isEmpty, name.count <= 255, name.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
            throw RelctlError(.invalidParameterValue, "Alarm names are 1–255 ASCII characters.")
        }
        guard !metric.isEmpty, metric.count <= 255 else {
            throw RelctlError(.invalidParameterValue, "The metric name must be 1–255 characters.")
        }
        guard period == 10 || period == 30 || (period >= 60 && period % 60 == 0) else {
            throw RelctlError(
                .invalidParameterValue,
                "Period \(period) is not allowed: use 10, 30 or a multiple of 60 seconds (as CloudWatch).")
        }
        guard evaluationPeriods >= 1 else {
            throw RelctlError(.invalidParameterValue, "--evaluation-periods must be at least 1.")
        }
        guard period * evaluationPeriods <= 86400 else {
            throw RelctlError(
                .invalidParameterValue,
                "Period × evaluation periods (\(period * evaluationPeriods) s) must not exceed one day (86400 s).")
        }
        guard (1...evaluationPeriods).contains(datapointsToAlarm) else {
            throw RelctlError(
                .invalidParameterValue,
                "--datapoints-to-alarm must be between 1 and --evaluation-periods (\(evaluationPeriods)).")
        }
        guard threshold.isFinite else {
            throw RelctlError(.invalidParameterValue, "The threshold must be a finite number.")
        }
        try prometheus?.validate()
        if let executedVersion, executedVersion != "target", !(Int(executedVersion).map { $0 >= 1 } ?? false) {
            throw RelctlError(
                .invalidParameterValue, "--executed-version is a version number or `target`, not '\(executedVersion)'.")
        }
    }

    /// How many periods CloudWatch looks back to find N real datapoints (the "evaluation range").
    public var evaluationRange: Int { evaluationPeriods + 2 }
}

/// The outcome of one evaluation, with what decided it.
public struct AlarmEvaluation: Sendable, Equatable, Codable {
    public var state: AlarmState
    public var reason: String
    /// The datapoints considered, oldest first (nil = missing), with each period's start.
    public var datapoints: [Datapoint]

    public init(state: AlarmState, reason: String, datapoints: [Datapoint]) {
        self.state = state
        self.reason = reason
        self.datapoints = datapoints
    }

    public struct Datapoint: Sendable, Equatable, Codable {
        public var periodStart: Double
        public var value: Double?
        public init(periodStart: Double, value: Double?) {
            self.periodStart = periodStart
            self.value = value
        }
    }
}

public enum AlarmEvaluator {
    /// Evaluates `periods` (the evaluation range, oldest first, nil = missing) with CloudWatch's
    /// rules for M out of N and TreatMissingData. The rule reproduces both tables of
    /// CloudWatch's "How alarm state is evaluated when data is missing":
    /// - with ≥ N real datapoints in the range, the N most recent real ones decide;
    /// - otherwise `breaching`/`notBreaching` fill the gap to N and decide;
    /// - `missing`/`ignore`: ≥ M breaching real datapoints → ALARM; any non-breaching → OK; no real
    ///   datapoint → INSUFFICIENT_DATA (`ignore`: keep the state); only breaching ones, all older than
    ///   the last N periods → ALARM (`ignore`: keep); only breaching ones within them → INSUFFICIENT_DATA (`ignore`: keep).
    public static func evaluate(
        _ definition: AlarmDefinition, periods: [AlarmEvaluation.Datapoint], previous: AlarmState
    ) -> AlarmEvaluation {
        let n = definition.evaluationPeriods
        let m = definition.datapointsToAlarm
        let values = periods.map(\.value)
        let real = values.compactMap { $0 }
        func breaches(_ value: Double) -> Bool { definition.comparisonOperator.breaches(value, definition.threshold) }
        let breachingReal = real.filter(breaches).count
        let nonBreachingReal = real.count - breachingReal

        func describe(_ considered: [Double], filled: Int, fillText: String) -> String {
            let shown = considered.map { formatNumber($0) }.joined(separator: ", ")
            return
                "\(considered.filter(breaches).count + (fillText == "breaching" ? filled : 0)) out of the last \(n) datapoints [\(shown)\(filled > 0 ? "\(shown.isEmpty ? "" : ", ")\(filled) missing treated as \(fillText)" : "")] \(considered.filter(breaches).count + (fillText == "breaching" ? filled : 0) >= m ? "were" : "were not") \(definition.comparisonOperator.phrase) the threshold (\(formatNumber(definition.threshold))); \(m) needed for ALARM."
        }

        let state: AlarmState
        let reason: String
        if real.count >= n {
            let recent = Array(real.suffix(n))
            let count = recent.filter(breaches).count
            state = count >= m ? .alarm : .ok
            reason =
                "Threshold \(state == .alarm ? "Crossed" : "not crossed"): " + describe(recent, filled: 0, fillText: "")
        } else {
            let missingCount = n - real.count
            switch definition.treatMissingData {
            case .breaching:
                state = breachingReal + missingCount >= m ? .alarm : .ok
                reason =
                    "Threshold \(state == .alarm ? "Crossed" : "not crossed"): "
                    + describe(real, filled: missingCount, fillText: "breaching")
            case .notBreaching:
                state = breachingReal >= m ? .alarm : .ok
                reason =
                    "Threshold \(state == .alarm ? "Crossed" : "not crossed"): "
                    + describe(real, filled: missingCount, fillText: "not breaching")
            case .missing, .ignore:
                let keep = definition.treatMissingData == .ignore
                if real.isEmpty {
                    state = keep ? previous : .insufficientData
                    reason =
                        keep
                        ? "No datapoints in the last \(periods.count) periods; state kept (TreatMissingData ignore)."
                        : "Insufficient Data: no datapoints in the last \(periods.count) periods."
                } else if breachingReal >= m {
                    state = .alarm
                    reason = "Threshold Crossed: " + describe(real, filled: 0, fillText: "")
                } else if nonBreachingReal > 0 {
                    state = .ok
                    reason = "Threshold not crossed: " + describe(real, filled: 0, fillText: "")
                } else if values.suffix(n).allSatisfy({ $0 == nil }) {
                    state = keep ? previous : .alarm
                    reason =
                        keep
                        ? "Only older breaching datapoints; state kept (TreatMissingData ignore)."
                        : "Threshold Crossed: the most recent datapoints [\(real.map(formatNumber).joined(separator: ", "))] were \(definition.comparisonOperator.phrase) the threshold (\(formatNumber(definition.threshold))) and none since was within it."
                } else {
                    state = keep ? previous : .insufficientData
                    reason =
                        keep
                        ? "Fewer than \(m) datapoints, all breaching; state kept (TreatMissingData ignore)."
                        : "Insufficient Data: \(real.count) datapoint(s) [\(real.map(formatNumber).joined(separator: ", "))], all breaching, fewer than the \(m) needed for ALARM."
                }
            }
        }
        return AlarmEvaluation(state: state, reason: reason, datapoints: periods)
    }

    public static func formatNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// One stored value of a metric.
public struct MetricSample: Sendable, Equatable {
    public var timestamp: Double
    public var value: Double

    public init(timestamp: Double, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }
}

/// Consecutive periods of a metric, aligned to multiples of the period since the epoch.
public struct MetricPeriods: Sendable, Equatable {
    public var firstStart: Double
    public var period: Double
    public var count: Int

    public init(firstStart: Double, period: Double, count: Int) {
        self.firstStart = firstStart
        self.period = period
        self.count = count
    }

    /// The `count` periods ending with the one that contains `now` (so a datapoint counts the
    /// moment it lands; CloudWatch itself lags by a period).
    public static func ending(at now: Double, period: Int, count: Int) -> MetricPeriods {
        let length = Double(period)
        let lastStart = (now / length).rounded(.down) * length
        return MetricPeriods(firstStart: lastStart - Double(count - 1) * length, period: length, count: count)
    }

    /// The periods from the one containing `since` to the one containing `now`.
    public static func covering(since: Double, now: Double, period: Int) -> MetricPeriods {
        let length = Double(period)
        let first = (since / length).rounded(.down) * length
        return MetricPeriods(
            firstStart: first, period: length, count: max(1, Int(((now - first) / length).rounded(.down)) + 1))
    }

    /// Where the range ends (exclusive).
    public var end: Double { firstStart + Double(count) * period }

    /// One statistic per period; samples outside the range are ignored, a period without samples is nil.
    public func datapoints(_ samples: [MetricSample], statistic: Statistic) -> [AlarmEvaluation.Datapoint] {
        var buckets = [[Double]](repeating: [], count: count)
        for sample in samples {
            let index = Int(((sample.timestamp - firstStart) / period).rounded(.down))
            if buckets.indices.contains(index) { buckets[index].append(sample.value) }
        }
        return buckets.enumerated().map { index, values in
            AlarmEvaluation.Datapoint(
                periodStart: firstStart + Double(index) * period, value: statistic.aggregate(values))
        }
    }
}
