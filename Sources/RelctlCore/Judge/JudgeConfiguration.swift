/// A policy's `judge:` section: how a canary is compared with its baseline, with anytime-valid tests.
public struct JudgeConfiguration: Sendable, Equatable, Codable {
    /// Errors: abort when the canary's error rate is credibly above the baseline's; "not worse" when
    /// it is credibly at most `maxRatio` × the baseline's, or credibly below `floor`.
    public struct Errors: Sendable, Equatable, Codable {
        public var maxRatio: Double
        /// An absolute error rate (a fraction) below which the canary counts as not worse; nil: none.
        public var floor: Double?

        public init(maxRatio: Double = 1.25, floor: Double? = 0.001) {
            self.maxRatio = maxRatio
            self.floor = floor
        }
    }

    /// Latency: abort when the canary's distribution is credibly shifted up (or its tail is);
    /// "not worse" when, at every quantile, the canary exceeds (1 + maxIncrease) × the baseline's
    /// quantile no more often than the baseline exceeds its own quantile.
    public struct Latency: Sendable, Equatable, Codable {
        /// The metric judged: `Duration` (per-invocation, milliseconds).
        public var metric: String
        /// Quantile levels in (0, 1), e.g. 0.5 and 0.99.
        public var quantiles: [Double]
        /// Allowed relative increase of each quantile (0.1 = 10%).
        public var maxIncrease: Double

        public init(metric: String = "Duration", quantiles: [Double] = [0.5, 0.99], maxIncrease: Double = 0.1) {
            self.metric = metric
            self.quantiles = quantiles
            self.maxIncrease = maxIncrease
        }
    }

    /// What the deployment does at the end of its last hold when the evidence says neither "worse" nor "not worse".
    public enum InsufficientData: String, Sendable, Equatable, Codable, CaseIterable {
        case fail, promote, pause
    }

    public var errors: Errors
    public var latency: Latency?
    /// Chance, over the whole deployment, of aborting a canary that is not worse.
    public var alpha: Double
    /// Chance of promoting a canary that is worse than the margins.
    public var beta: Double
    /// Canary requests per step before a step may end early or the deployment may promote.
    public var minRequests: Int
    /// End a hold as soon as the evidence says "not worse".
    public var earlyPromote: Bool
    public var onInsufficientData: InsufficientData
    /// Counts from Prometheus instead of relctl's metric store (nil: the runtime's own samples).
    public var source: JudgeSource?

    public init(
        errors: Errors = Errors(), latency: Latency? = nil, alpha: Double = 0.05, beta: Double = 0.05,
        minRequests: Int = 200, earlyPromote: Bool = true, onInsufficientData: InsufficientData = .pause,
        source: JudgeSource? = nil
    ) {
        self.errors = errors
        self.latency = latency
        self.alpha = alpha
        self.beta = beta
        self.minRequests = minRequests
        self.earlyPromote = earlyPromote
        self.onInsufficientData = onInsufficientData
        self.source = source
    }

    /// The metric names a latency section may judge.
    public static let latencyMetrics = ["Duration"]

    /// Checks every field; the message names the field and what it may be.
    public func validate() throws(RelctlError) {
        func invalid(_ why: String) -> RelctlError { RelctlError(.invalidParameterValue, "judge: \(why)") }
        guard errors.maxRatio.isFinite, errors.maxRatio > 1, errors.maxRatio <= 100 else {
            throw invalid(
                "errors.maxRatio \(errors.maxRatio) must be above 1 and at most 100 (1.2 = the canary may have up to 1.2× the baseline's error rate)."
            )
        }
        if let floor = errors.floor {
            guard floor.isFinite, floor >= 0, floor < 0.5 else {
                throw invalid("errors.floor \(floor) must be an error rate from 0 to below 0.5 (0.001 or 0.1%).")
            }
        }
        guard alpha.isFinite, alpha > 0, alpha <= 0.5 else {
            throw invalid("alpha \(alpha) must be above 0 and at most 0.5 (0.05 or 5%).")
        }
        guard beta.isFinite, beta > 0, beta <= 0.5 else {
            throw invalid("beta \(beta) must be above 0 and at most 0.5 (0.05 or 5%).")
        }
        guard minRequests >= 0, minRequests <= 100_000_000 else {
            throw invalid("minRequests \(minRequests) must be from 0 to 100000000.")
        }
        if let source {
            try source.validate()
            guard latency == nil else {
                throw invalid(
                    "latency is judged from relctl's own Duration samples, not from a Prometheus source: remove `latency:` (errors are judged from the source's counters) or `source:`."
                )
            }
        }
        if let latency {
            guard Self.latencyMetrics.contains(latency.metric) else {
                throw invalid(
                    "latency.metric '\(latency.metric)' is not judged; allowed: \(Self.latencyMetrics.joined(separator: ", "))."
                )
            }
            guard !latency.quantiles.isEmpty, latency.quantiles.count <= 5 else {
                throw invalid(
                    "latency.quantiles needs 1 to 5 quantiles such as [p50, p99] (has \(latency.quantiles.count)).")
            }
            for quantile in latency.quantiles where !(quantile > 0 && quantile < 1 && quantile <= 0.9999) {
                throw invalid("latency quantile \(quantile) must be above 0 and at most 0.9999 (p50 … p99.99).")
            }
            guard Set(latency.quantiles).count == latency.quantiles.count else {
                throw invalid("latency.quantiles lists a quantile twice.")
            }
            guard latency.maxIncrease.isFinite, latency.maxIncrease > 0, latency.maxIncrease <= 10 else {
                throw invalid(
                    "latency.maxIncrease \(latency.maxIncrease) must be above 0 and at most 10 (10% = 0.1; 1000% = 10)."
                )
            }
        }
    }
}
