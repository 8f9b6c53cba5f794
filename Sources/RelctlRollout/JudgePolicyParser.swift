import Foundation
import RelctlCore

/// Reads a policy's `judge:` section (YAML already loaded by Yams) into a `JudgeConfiguration`;
/// ranges are checked by `JudgeConfiguration.validate()` when the policy is validated.
enum JudgePolicyParser {
    static let keys: Set<String> = [
        "errors", "latency", "alpha", "beta", "minRequests", "earlyPromote", "onInsufficientData", "source",
    ]
    static let sourceKeys: Set<String> = ["prometheus", "canary", "baseline", "step"]
    static let queryKeys: Set<String> = ["invocations", "errors"]
    static let errorKeys: Set<String> = ["maxRatio", "floor"]
    static let latencyKeys: Set<String> = ["metric", "quantiles", "maxIncrease"]

    static func parse(_ section: Any, place: String) throws(RelctlError) -> JudgeConfiguration {
        func invalid(_ why: String) -> RelctlError { RelctlError(.invalidParameterValue, "\(place): judge: \(why)") }
        func mapping(_ value: Any, _ field: String, allowed: Set<String>) throws(RelctlError) -> [String: Any] {
            guard let map = value as? [String: Any] else {
                throw invalid("`\(field)` is a mapping with \(allowed.sorted().joined(separator: ", ")).")
            }
            let unknown = Set(map.keys).subtracting(allowed)
            guard unknown.isEmpty else {
                throw invalid(
                    "unknown field\(unknown.count > 1 ? "s" : "") \(unknown.sorted().map { "\(field == "judge" ? "" : field + ".")\($0)" }.joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))."
                )
            }
            return map
        }
        /// A fraction, written as a number (0.05) or a percentage ("5%").
        func fraction(_ value: Any, _ field: String, example: String) throws(RelctlError) -> Double {
            if let number = PolicyParser.number(value) { return number }
            if let text = value as? String, text.hasSuffix("%"),
                let percent = Double(text.dropLast().trimmingCharacters(in: .whitespaces))
            {
                return percent / 100
            }
            throw invalid("`\(field)` must be a fraction or a percentage such as \(example) (got \(value)).")
        }
        let map = try mapping(section, "judge", allowed: keys)
        var configuration = JudgeConfiguration()
        if let value = map["errors"] {
            let errors = try mapping(value, "errors", allowed: errorKeys)
            if let ratio = errors["maxRatio"] {
                guard let number = PolicyParser.number(ratio) else {
                    throw invalid("`errors.maxRatio` must be a number above 1, such as 1.2 (got \(ratio)).")
                }
                configuration.errors.maxRatio = number
            }
            if let floor = errors["floor"] {
                configuration.errors.floor = try fraction(floor, "errors.floor", example: "0.001 or 0.1%")
            }
        }
        if let value = map["latency"] {
            let latency = try mapping(value, "latency", allowed: latencyKeys)
            var result = JudgeConfiguration.Latency()
            if let metric = latency["metric"] {
                guard let name = metric as? String else {
                    throw invalid(
                        "`latency.metric` is a metric name: \(JudgeConfiguration.latencyMetrics.joined(separator: ", "))."
                    )
                }
                result.metric = name
            }
            if let quantiles = latency["quantiles"] {
                guard let list = quantiles as? [Any] else {
                    throw invalid("`latency.quantiles` is a list such as [p50, p99].")
                }
                var levels: [Double] = []
                for item in list {
                    guard let level = quantileLevel(item) else {
                        throw invalid(
                            "latency quantile '\(item)' is not a quantile; write p50, p90, p99, p99.9 (or a fraction such as 0.99)."
                        )
                    }
                    levels.append(level)
                }
                result.quantiles = levels
            }
            if let increase = latency["maxIncrease"] {
                result.maxIncrease = try fraction(increase, "latency.maxIncrease", example: "10% or 0.1")
            }
            configuration.latency = result
        }
        if let value = map["alpha"] { configuration.alpha = try fraction(value, "alpha", example: "0.05 or 5%") }
        if let value = map["beta"] { configuration.beta = try fraction(value, "beta", example: "0.05 or 5%") }
        if let value = map["minRequests"] {
            guard let count = value as? Int else {
                throw invalid("`minRequests` must be a whole number of canary requests, such as 200 (got \(value)).")
            }
            configuration.minRequests = count
        }
        if let value = map["earlyPromote"] {
            guard let flag = value as? Bool else {
                throw invalid("`earlyPromote` must be true or false (got \(value)).")
            }
            configuration.earlyPromote = flag
        }
        if let value = map["onInsufficientData"] {
            guard let text = value as? String, let choice = JudgeConfiguration.InsufficientData(rawValue: text) else {
                throw invalid(
                    "`onInsufficientData` must be one of \(JudgeConfiguration.InsufficientData.allCases.map(\.rawValue).joined(separator: ", ")) (got \(value))."
                )
            }
            configuration.onInsufficientData = choice
        }
        if let value = map["source"] {
            let source = try mapping(value, "source", allowed: sourceKeys)
            guard let url = source["prometheus"] as? String else {
                throw invalid("`source.prometheus` is the Prometheus server's base URL, such as http://127.0.0.1:9090.")
            }
            func queries(_ side: String) throws(RelctlError) -> JudgeSource.Queries {
                let example =
                    "{invocations: 'sum(http_requests_total{version=\"{{\(side == "canary" ? "target" : "current")}}\"})', errors: '…'}"
                guard let value = source[side] else {
                    throw invalid("`source.\(side)` is missing: a mapping \(example) of cumulative counters.")
                }
                let fields = try mapping(value, "source.\(side)", allowed: queryKeys)
                guard let invocations = fields["invocations"] as? String, let errors = fields["errors"] as? String
                else {
                    throw invalid(
                        "`source.\(side)` needs both `invocations` and `errors`, each a PromQL query of a cumulative counter, such as \(example)."
                    )
                }
                return JudgeSource.Queries(invocations: invocations, errors: errors)
            }
            var result = JudgeSource(prometheus: url, canary: try queries("canary"), baseline: try queries("baseline"))
            if let step = source["step"] {
                if let number = PolicyParser.number(step) {
                    result.step = number
                } else if let text = step as? String {
                    do { result.step = try DurationText.parse(text) } catch {
                        throw invalid("`source.step`: \(error.message)")
                    }
                } else {
                    throw invalid("`source.step` is a duration such as 15s (got \(step)).")
                }
            }
            configuration.source = result
        }
        return configuration
    }

    /// `p99` → 0.99, `p99.9` → 0.999, `0.99` → 0.99; nil if it is neither.
    static func quantileLevel(_ item: Any) -> Double? {
        if let text = item as? String {
            guard text.hasPrefix("p") || text.hasPrefix("P"), let percent = Double(text.dropFirst()) else { return nil }
            return percent / 100
        }
        return PolicyParser.number(item)
    }
}
