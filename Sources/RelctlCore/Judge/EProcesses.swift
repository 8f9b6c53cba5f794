import Foundation

// The judge's anytime-valid tests, as pure values updated once per closed second.
//
// Each test keeps the logarithm of a few likelihood ratios (one per alternative on a fixed grid)
// and reports their mean: a mixture of test martingales under the null, so by Ville's inequality
// P(ever ≥ 1/α) ≤ α however often it is read. Logarithms are kept finite (clamped at
// `EProcessMath.logFloor`) so the state always encodes as JSON.

/// Shared numerics.
public enum EProcessMath {
    /// The smallest log-likelihood kept (an alternative that the data has ruled out).
    public static let logFloor = -1e12

    /// log(mean(exp(values))), stable for large values.
    @inlinable
    public static func logMeanExp(_ values: [Double]) -> Double {
        guard let top = values.max(), top > logFloor else { return logFloor }
        var sum = 0.0
        for value in values { sum += exp(value - top) }
        return top + log(sum / Double(values.count))
    }

    /// log(Σ_j exp(values[j] + logWeights[j])): a weighted mixture, stable for large values.
    @inlinable
    public static func logWeightedSumExp(_ values: [Double], _ logWeights: [Double]) -> Double {
        var top = -Double.infinity
        for j in values.indices { top = max(top, values[j] + logWeights[j]) }
        guard top > logFloor else { return logFloor }
        var sum = 0.0
        for j in values.indices { sum += exp(values[j] + logWeights[j] - top) }
        return top + log(sum)
    }

    /// The standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1)
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00,
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01,
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low {
            let q = (-2 * log(1 - p)).squareRoot()
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let q = p - 0.5, r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }
}

/// The conditional-binomial (counting-process) e-process for a rate ratio r = p_canary / p_baseline.
///
/// In a second with k events (errors, or requests slower than a threshold) among invocations of
/// which a share θ went to the canary, the canary's count is Binomial(k, θ(r)) with
/// θ(r) = θr / (1 + θ(r − 1)) (exact when events are Poisson, conservative for Bernoulli events by
/// Hoeffding's ordering). The per-second likelihood ratio of ratio r against the null r₀ is
/// (r/r₀)^x · ((1 + θ(r₀−1)) / (1 + θ(r−1)))^k. Common changes in load or in the rate itself
/// (incidents hit both versions) cancel, and θ is the *realised* share, so routing noise does not
/// count as evidence. Against a null r₀ every alternative on the grid lies on one side of it
/// (harm: r₀ = 1 and r > 1; non-inferiority: r₀ = the margin and r < r₀), which makes the mixture a
/// supermartingale for the whole composite null (r ≤ 1, resp. r ≥ margin).
public struct RatioEProcess: Sendable, Equatable, Codable {
    /// The ratios the mixture bets on.
    public private(set) var alternatives: [Double]
    /// log of each alternative's prior weight (the weights sum to 1).
    public private(set) var logWeights: [Double]
    /// log(r_j / r₀), kept so a second costs one log1p per alternative.
    private var logRatioSteps: [Double]
    /// The ratio under the null hypothesis.
    public private(set) var null: Double
    /// log Λ_t(r_j) − log Λ_t(r₀), one per alternative.
    public private(set) var logRatios: [Double]
    /// Events seen, and how many of them were on the canary.
    public private(set) var events = 0
    public private(set) var canaryEvents = 0

    /// `weights` (default: equal) are normalised to sum to 1.
    public init(alternatives: [Double], null: Double, weights: [Double]? = nil) {
        precondition(!alternatives.isEmpty && alternatives.allSatisfy { $0 > 0 } && null > 0)
        let weights = weights ?? Array(repeating: 1, count: alternatives.count)
        precondition(weights.count == alternatives.count && weights.allSatisfy { $0 > 0 })
        let total = weights.reduce(0, +)
        self.alternatives = alternatives
        self.logWeights = weights.map { log($0 / total) }
        self.logRatioSteps = alternatives.map { log($0 / null) }
        self.null = null
        self.logRatios = Array(repeating: 0, count: alternatives.count)
    }

    /// The harm test: H₀ "the canary's rate is at most the baseline's" (r ≤ 1), alternatives 1.1×…30×,
    /// weighted towards the moderate ratios (1.35×–1.75×) that take longest to see; large ratios
    /// gather evidence so fast that their smaller weight costs seconds.
    public static func harm() -> RatioEProcess {
        RatioEProcess(
            alternatives: [1.1, 1.2, 1.35, 1.5, 1.75, 2, 3, 5, 10, 30], null: 1,
            weights: [0.05, 0.1, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1, 0.05, 0.05])
    }

    /// The "not worse than the margin" test: H₀ "the canary's rate is at least `margin` × the baseline's".
    /// Most weight is on r = 1 (an unchanged canary, the common case).
    public static func notWorse(margin: Double) -> RatioEProcess {
        RatioEProcess(
            alternatives: [0.95 * margin, (1 + margin) / 2, 1, 0.9, 0.75, 0.5], null: margin,
            weights: [0.1, 0.2, 0.4, 0.15, 0.1, 0.05])
    }

    /// A two-sided test of r = 1 on a log grid (1/16…64 in half-octaves, 21 points): the likelihood
    /// of every point, from which the confidence sequence for r is read.
    public static func ratioProfile() -> RatioEProcess {
        RatioEProcess(alternatives: (0...20).map { pow(2, -4 + Double($0) / 2) }, null: 1)
    }

    /// One second: `canary` of `events` events were on the canary, whose share of the eligible
    /// invocations was `share`.
    public mutating func observe(canary: Int, events: Int, share: Double) {
        guard events > 0 else { return }
        self.events += events
        self.canaryEvents += canary
        // A share of 0 or 1 carries no information (every event's version was certain).
        guard share > 0, share < 1 else { return }
        let x = Double(canary), k = Double(events)
        let nullTerm = null == 1 ? 0 : log1p(share * (null - 1))
        for j in alternatives.indices {
            let step = x * logRatioSteps[j] - k * (log1p(share * (alternatives[j] - 1)) - nullTerm)
            logRatios[j] = max(logRatios[j] + step, EProcessMath.logFloor)
        }
    }

    /// log of the e-value (the weighted mixture).
    public var logEValue: Double { EProcessMath.logWeightedSumExp(logRatios, logWeights) }

    /// Whether the e-value has reached exp(`logThreshold`); decided without exponentials when the
    /// largest weighted term is clearly above or below it (the usual case, checked every second).
    public func reaches(_ logThreshold: Double) -> Bool {
        var top = -Double.infinity
        for j in logRatios.indices { top = max(top, logRatios[j] + logWeights[j]) }
        if top >= logThreshold { return true }
        if top + log(Double(logRatios.count)) < logThreshold { return false }
        return logEValue >= logThreshold
    }
    public var eValue: Double { exp(min(logEValue, 700)) }

    /// Canary requests still needed for the e-value to reach exp(`logThreshold`), extrapolating each
    /// alternative's log-likelihood linearly in canary requests (`canaryRequests` seen so far); nil
    /// when no alternative is gaining.
    public func requestsToReach(logThreshold: Double, canaryRequests: Int) -> Double? {
        if reaches(logThreshold) { return 0 }
        guard canaryRequests > 0 else { return nil }
        // The mixture reaches the threshold once one alternative alone reaches threshold − log(weight).
        var best = Double.infinity
        for j in logRatios.indices where logRatios[j] > 0 {
            let value = logRatios[j]
            best = min(best, (logThreshold - logWeights[j] - value) / (value / Double(canaryRequests)))
        }
        return best.isFinite ? best : nil
    }
}

/// The absolute-floor e-process: H₀ "the canary's error probability is at least `floor` in every
/// second", against p ∈ {0, ¼, ½, ¾}·floor. Each canary invocation multiplies alternative p by
/// p/floor (error) or (1−p)/(1−floor) (success); for a true rate ≥ floor the expected factor is ≤ 1.
/// With no errors at all it needs about ln(G/β)/floor canary invocations.
public struct FloorEProcess: Sendable, Equatable, Codable {
    public private(set) var floor: Double
    public private(set) var logRatios: [Double] = [0, 0, 0, 0]
    /// Per canary success, log((1 − p_j)/(1 − floor)); per error, log(p_j/floor) (the floor value for p = 0).
    private var successSteps: [Double]
    private var errorSteps: [Double]

    static let fractions: [Double] = [0, 0.25, 0.5, 0.75]

    public init(floor: Double) {
        precondition(floor > 0 && floor < 1)
        self.floor = floor
        successSteps = Self.fractions.map { log1p(-$0 * floor) - log1p(-floor) }
        errorSteps = Self.fractions.map { $0 == 0 ? EProcessMath.logFloor : log($0) }
    }

    public mutating func observe(errors: Int, invocations: Int) {
        guard invocations > 0 else { return }
        let e = Double(errors), ok = Double(invocations - errors)
        for j in Self.fractions.indices {
            let errorTerm = errors == 0 ? 0 : e * errorSteps[j]
            logRatios[j] = max(logRatios[j] + errorTerm + ok * successSteps[j], EProcessMath.logFloor)
        }
    }

    public var logEValue: Double { EProcessMath.logMeanExp(logRatios) }
    public var eValue: Double { exp(min(logEValue, 700)) }

    /// Whether the e-value has reached exp(`logThreshold`) (the mean is at most the largest term).
    public func reaches(_ logThreshold: Double) -> Bool {
        guard let top = logRatios.max(), top >= logThreshold else { return false }
        return top - log(Double(logRatios.count)) >= logThreshold || logEValue >= logThreshold
    }

    public func requestsToReach(logThreshold: Double, canaryRequests: Int) -> Double? {
        if reaches(logThreshold) { return 0 }
        guard canaryRequests > 0 else { return nil }
        let needed = logThreshold + log(Double(logRatios.count))
        var best = Double.infinity
        for value in logRatios where value > 0 { best = min(best, (needed - value) / (value / Double(canaryRequests))) }
        return best.isFinite ? best : nil
    }
}

/// The latency-shift e-process ("label betting"): can the version of a request be predicted from
/// its latency bin? Bins are cut at quantiles of the baseline's reference latencies (known before
/// the second is scored). Under H₀ — the canary's latency law equals the baseline's in every
/// second, however load drifts — each request is the canary's with probability w whatever its bin,
/// so betting q_b(δ) = P(canary | bin b) under an exponential tilt δ (the canary's bin law
/// ∝ P_b·e^{δ·s_b}, s_b the bin's normal score) is an exact test martingale for any fixed tilts.
/// Alternatives δ > 0 only: slower canaries.
public struct ShiftEProcess: Sendable, Equatable, Codable {
    public static let tilts: [Double] = [0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6]

    /// Bin probabilities under the baseline (by construction: differences of quantile levels) and normal scores.
    public private(set) var binProbabilities: [Double]
    public private(set) var scores: [Double]
    public private(set) var logRatios: [Double] = Array(repeating: 0, count: ShiftEProcess.tilts.count)

    // Per-tilt, per-bin bets ln(q/w) and ln((1−q)/(1−w)) for the weight they were built for:
    // derived, rebuilt when the weight changes, never stored.
    private var tableWeight: Double = -1
    private var canaryBets: [Double] = []
    private var baselineBets: [Double] = []

    private enum CodingKeys: String, CodingKey { case binProbabilities, scores, logRatios }

    /// `levels`: the increasing quantile levels in (0, 1) at which the bins are cut.
    public init(levels: [Double]) {
        var bounds = [0.0] + levels + [1.0]
        bounds = bounds.enumerated().filter { $0.offset == 0 || $0.element > bounds[$0.offset - 1] }.map(\.element)
        binProbabilities = zip(bounds.dropFirst(), bounds).map { $0 - $1 }
        scores = zip(bounds.dropFirst(), bounds).map { EProcessMath.normalQuantile(($0 + $1) / 2) }
    }

    public static func == (lhs: ShiftEProcess, rhs: ShiftEProcess) -> Bool {
        lhs.binProbabilities == rhs.binProbabilities && lhs.scores == rhs.scores && lhs.logRatios == rhs.logRatios
    }

    private mutating func buildBets(weight w: Double) {
        let bins = binProbabilities.count
        canaryBets = Array(repeating: 0, count: Self.tilts.count * bins)
        baselineBets = canaryBets
        for (j, delta) in Self.tilts.enumerated() {
            var normaliser = 0.0
            for b in 0..<bins { normaliser += binProbabilities[b] * exp(delta * scores[b]) }
            for b in 0..<bins {
                let tilt = exp(delta * scores[b]) / normaliser
                let q = w * tilt / (w * tilt + 1 - w)
                canaryBets[j * bins + b] = log(q / w)
                baselineBets[j * bins + b] = log((1 - q) / (1 - w))
            }
        }
        tableWeight = w
    }

    public var bins: Int { binProbabilities.count }

    /// One second's bin counts — `counts[0..<bins]` the canary's, `counts[bins..<2·bins]` the
    /// baseline's — with weight `weight` routed to the canary.
    public mutating func observe(counts: [Int], weight: Double) {
        guard weight > 0, weight < 1 else { return }
        if weight != tableWeight { buildBets(weight: weight) }
        let bins = binProbabilities.count
        precondition(counts.count >= 2 * bins)
        for j in 0..<Self.tilts.count {
            var step = 0.0
            for b in 0..<bins {
                step +=
                    Double(counts[b]) * canaryBets[j * bins + b] + Double(counts[bins + b]) * baselineBets[j * bins + b]
            }
            logRatios[j] = max(logRatios[j] + step, EProcessMath.logFloor)
        }
    }

    public var logEValue: Double { EProcessMath.logMeanExp(logRatios) }
    public var eValue: Double { exp(min(logEValue, 700)) }

    /// Whether the e-value has reached exp(`logThreshold`) (the mean is at most the largest term).
    public func reaches(_ logThreshold: Double) -> Bool {
        guard let top = logRatios.max(), top >= logThreshold else { return false }
        return top - log(Double(logRatios.count)) >= logThreshold || logEValue >= logThreshold
    }
}
