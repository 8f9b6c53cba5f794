import Foundation

/// One closed second of one version's traffic on the judged alias.
public struct VersionSecond: Sendable, Equatable {
    public var invocations: Int
    public var errors: Int
    /// Durations (milliseconds) of this second's successful invocations; may be empty when latency is not judged.
    public var durations: [Double]

    public init(invocations: Int, errors: Int, durations: [Double] = []) {
        self.invocations = invocations
        self.errors = errors
        self.durations = durations
    }
}

/// One closed second of a judged deployment: the alias's canary weight then, and each version's traffic.
public struct JudgeSecond: Sendable, Equatable {
    /// The alias weight on the canary (target) version during this second, in [0, 1].
    public var weight: Double
    public var canary: VersionSecond
    public var baseline: VersionSecond

    public init(weight: Double, canary: VersionSecond, baseline: VersionSecond) {
        self.weight = weight
        self.canary = canary
        self.baseline = baseline
    }
}

/// What the judge says after a second.
public enum JudgeVerdict: Sendable, Equatable, Codable {
    /// Keep to the policy's timing; about `needMore` more canary requests until "not worse" could be reached (nil: unknown).
    case `continue`(needMore: Int?)
    /// The canary is credibly worse: roll back.
    case abort(reason: String)
    /// The canary is credibly not worse and the step has its minimum requests: the hold may end.
    case promote
    /// No verdict can be trusted (routing does not match the weight), or the evidence ran out and the policy says pause.
    case pause(reason: String)
}

/// The anytime-valid canary judge of one deployment: fed one closed second at a time, it answers
/// continue / abort / promote / pause. Its state is small and `Codable` (kept in the deployment's
/// state), and each second costs a few microseconds.
///
/// - Abort when any harm e-value reaches 1/(its share of α) — errors (all of α, or half with latency
///   judged), the latency distribution's shift and its tail (a quarter each): weighted Bonferroni,
///   so false aborts ≤ α over the whole deployment however often it is read.
/// - Promote when every "not worse" e-value reaches its threshold (errors: relative 2/β or floor
///   2/β; each latency quantile 1/β — an intersection-union test, wrong promotes ≤ β) and the step
///   has `minRequests` canary requests. No data is never a pass: without events nothing grows.
/// - Pause when the canary's realised share of invocations is credibly not the alias weight
///   (sample-ratio mismatch e-value ≥ 1000): routing is broken and no verdict can be trusted.
public struct Judge: Sendable, Equatable, Codable {
    /// The sample-ratio-mismatch e-value that pauses the deployment (a false pause has chance ≤ 1/1000).
    public static let sampleRatioThreshold = 1000.0

    public let configuration: JudgeConfiguration
    public private(set) var seconds = 0
    public private(set) var canary = Totals()
    public private(set) var baseline = Totals()
    /// The weight of the current step and the canary requests seen since it started.
    public private(set) var stepWeight: Double = -1
    public private(set) var stepCanaryRequests = 0
    public private(set) var errorHarm = RatioEProcess.harm()
    public private(set) var errorNotWorse: RatioEProcess
    public private(set) var errorProfile = RatioEProcess.ratioProfile()
    public private(set) var errorFloor: FloorEProcess?
    /// Two-sided test of "the canary's share of invocations is the alias weight".
    public private(set) var sampleRatio = RatioEProcess(
        alternatives: [0.5, 0.67, 0.8, 0.9, 0.95, 1.05, 1.11, 1.25, 1.5, 2], null: 1)
    public private(set) var latency: LatencyJudge?
    /// A verdict that stands once reached: an abort, or a pause for sample-ratio mismatch.
    public private(set) var final: JudgeVerdict?

    public struct Totals: Sendable, Equatable, Codable {
        public var invocations = 0
        public var errors = 0
        public var errorRate: Double? { invocations > 0 ? Double(errors) / Double(invocations) : nil }
    }

    /// `baselineLatencies`: the baseline's recent durations (ms), to fix the latency thresholds
    /// before the first second; without them (or with fewer than 100) the judge learns them from
    /// the baseline's first `LatencyJudge.warmupSamples` durations of the deployment.
    public init(configuration: JudgeConfiguration, baselineLatencies: [Double]? = nil) {
        self.configuration = configuration
        errorNotWorse = .notWorse(margin: configuration.errors.maxRatio)
        if let floor = configuration.errors.floor, floor > 0 { errorFloor = FloorEProcess(floor: floor) }
        latency = configuration.latency.map { LatencyJudge($0, reference: baselineLatencies) }
    }

    // MARK: Thresholds

    /// The errors test's share of α: all of it, or half with latency judged (the shift and tail
    /// tests get a quarter each). Weighted Bonferroni: the shares sum to 1, so false aborts ≤ α.
    public var errorAlphaShare: Double { latency == nil ? 1 : 0.5 }
    public var latencyAlphaShare: Double { 0.25 }
    public var logHarmThreshold: Double { log(1 / (configuration.alpha * errorAlphaShare)) }
    public var logLatencyHarmThreshold: Double { log(1 / (configuration.alpha * latencyAlphaShare)) }
    /// With a floor, errors pass by either of two routes, each with β/2.
    public var logErrorNotWorseThreshold: Double { log((errorFloor == nil ? 1 : 2) / configuration.beta) }
    public var logLatencyNotWorseThreshold: Double { log(1 / configuration.beta) }

    // MARK: Observing

    /// Scores one closed second and returns the verdict.
    public mutating func observe(second: JudgeSecond) -> JudgeVerdict {
        let weight = second.weight.isFinite ? min(max(second.weight, 0), 1) : 0
        let canaryInvocations = max(second.canary.invocations, 0),
            baselineInvocations = max(second.baseline.invocations, 0)
        let canaryErrors = min(max(second.canary.errors, 0), canaryInvocations)
        let baselineErrors = min(max(second.baseline.errors, 0), baselineInvocations)
        seconds += 1
        canary.invocations += canaryInvocations
        canary.errors += canaryErrors
        baseline.invocations += baselineInvocations
        baseline.errors += baselineErrors
        if weight != stepWeight {
            stepWeight = weight
            stepCanaryRequests = 0
        }
        stepCanaryRequests += canaryInvocations

        let invocations = canaryInvocations + baselineInvocations
        if invocations > 0 {
            let share = Double(canaryInvocations) / Double(invocations)
            let events = canaryErrors + baselineErrors
            errorHarm.observe(canary: canaryErrors, events: events, share: share)
            errorNotWorse.observe(canary: canaryErrors, events: events, share: share)
            errorProfile.observe(canary: canaryErrors, events: events, share: share)
            errorFloor?.observe(errors: canaryErrors, invocations: canaryInvocations)
            sampleRatio.observe(canary: canaryInvocations, events: invocations, share: weight)
        }
        latency?.observe(canary: second.canary.durations, baseline: second.baseline.durations, weight: weight)
        return settle()
    }

    /// The verdict for the evidence so far.
    public var verdict: JudgeVerdict { final ?? stopVerdict ?? openVerdict }

    /// Records an abort or a pause so that it stands: later seconds cannot undo it.
    private mutating func settle() -> JudgeVerdict {
        if final == nil, let stop = stopVerdict { final = stop }
        return final ?? openVerdict
    }

    private var openVerdict: JudgeVerdict {
        if configuration.earlyPromote, isNotWorse, stepCanaryRequests >= configuration.minRequests { return .promote }
        return .continue(needMore: needMore)
    }

    private var stopVerdict: JudgeVerdict? {
        if sampleRatio.reaches(log(Self.sampleRatioThreshold)) {
            return .pause(
                reason:
                    "sample ratio mismatch: the canary got \(Self.percent(Double(canary.invocations) / Double(max(1, canary.invocations + baseline.invocations)))) of invocations at a configured \(Self.percent(stepWeight)) (evidence \(Self.number(sampleRatio.eValue)) ≥ \(Self.number(Self.sampleRatioThreshold))); routing is not what the alias says, so no verdict can be trusted"
            )
        }
        let threshold = logHarmThreshold
        if errorHarm.reaches(threshold) {
            return .abort(
                reason:
                    "errors: canary \(Self.rate(canary)) vs baseline \(Self.rate(baseline)), harm evidence \(Self.number(errorHarm.eValue)) ≥ \(Self.number(exp(threshold)))"
            )
        }
        let latencyThreshold = logLatencyHarmThreshold
        if let latency, let shift = latency.shift, shift.reaches(latencyThreshold) {
            return .abort(
                reason:
                    "latency: the canary's \(configuration.latency?.metric ?? "Duration") distribution is shifted up, evidence \(Self.number(shift.eValue)) ≥ \(Self.number(exp(latencyThreshold)))"
            )
        }
        if let latency, let reference = latency.reference, latency.tail.reaches(latencyThreshold) {
            return .abort(
                reason:
                    "latency: canary requests above the baseline's p\(Self.level(latency.quantiles.last!)) (\(Self.ms(reference.tailThreshold))) too often, evidence \(Self.number(latency.tail.eValue)) ≥ \(Self.number(exp(latencyThreshold)))"
            )
        }
        return nil
    }

    /// A harm test has reached its threshold (whatever the standing verdict).
    public var harmCrossed: Bool {
        guard !errorHarm.reaches(logHarmThreshold) else { return true }
        guard let latency, latency.isReady else { return false }
        let threshold = logLatencyHarmThreshold
        return latency.shift?.reaches(threshold) == true || latency.tail.reaches(threshold)
    }

    /// The sample-ratio guard has reached its threshold.
    public var sampleRatioCrossed: Bool { sampleRatio.reaches(log(Self.sampleRatioThreshold)) }

    /// Every "not worse" test has reached its threshold.
    public var isNotWorse: Bool {
        let errorsPass =
            errorNotWorse.reaches(logErrorNotWorseThreshold) || errorFloor?.reaches(logErrorNotWorseThreshold) == true
        guard errorsPass else { return false }
        guard let latency else { return true }
        return latency.isReady && latency.notWorse.allSatisfy { $0.reaches(logLatencyNotWorseThreshold) }
    }

    /// About how many more canary requests until every "not worse" test passes and the step has its
    /// minimum, extrapolating the evidence's growth so far; nil when it is not growing yet.
    public var needMore: Int? {
        let requests = canary.invocations
        // Errors pass by either route: the sooner of the two.
        var errorsNeed = Double.infinity
        if let floor = errorFloor {
            if let need = floor.requestsToReach(logThreshold: logErrorNotWorseThreshold, canaryRequests: requests) {
                errorsNeed = need
            } else if requests == 0 {
                // No traffic yet: each clean request adds −ln(1 − floor) to the p = 0 alternative.
                errorsNeed = (logErrorNotWorseThreshold + log(4)) / -log1p(-floor.floor)
            }
        }
        if let need = errorNotWorse.requestsToReach(logThreshold: logErrorNotWorseThreshold, canaryRequests: requests) {
            errorsNeed = min(errorsNeed, need)
        }
        var evidenceNeed = errorsNeed.isFinite ? errorsNeed : -1
        if let latency, latency.isReady {
            // Latency passes only when every quantile does: the slowest of them.
            for test in latency.notWorse {
                if let need = test.requestsToReach(logThreshold: logLatencyNotWorseThreshold, canaryRequests: requests)
                {
                    evidenceNeed = max(evidenceNeed, need)
                }
            }
        }
        guard evidenceNeed >= 0 else { return nil }
        let need = max(evidenceNeed, Double(configuration.minRequests - stepCanaryRequests))
        return Int(min(need, 1e12).rounded(.up))
    }

    /// The verdict when the policy's last hold ends: promote only on evidence, otherwise what
    /// `onInsufficientData` says — never a silent pass.
    public var verdictAtEndOfLastHold: JudgeVerdict {
        if let stop = final ?? stopVerdict { return stop }
        if isNotWorse, stepCanaryRequests >= configuration.minRequests { return .promote }
        let why =
            "insufficient evidence at the end of the last hold: \(canary.invocations) canary requests, \(needMore.map { "need ≈ \($0) more" } ?? "evidence not growing")"
        switch configuration.onInsufficientData {
        case .fail: return .abort(reason: why)
        case .promote: return .promote
        case .pause: return .pause(reason: why)
        }
    }

    // MARK: Evidence

    public var evidence: JudgeEvidence {
        let logAlpha = log(1 / configuration.alpha)
        let profile = errorProfile.logRatios, overall = EProcessMath.logMeanExp(profile)
        let inside = errorProfile.alternatives.indices.filter { overall - profile[$0] < logAlpha }
        let best = profile.indices.max { profile[$0] < profile[$1] }
        let errors = JudgeEvidence.Errors(
            harm: errorHarm.eValue, harmThreshold: exp(logHarmThreshold),
            notWorse: errorNotWorse.eValue, floorNotWorse: errorFloor?.eValue,
            notWorseThreshold: exp(logErrorNotWorseThreshold),
            ratio: errorProfile.events > 0 ? best.map { errorProfile.alternatives[$0] } : nil,
            ratioLow: inside.first.map { errorProfile.alternatives[$0] } ?? errorProfile.alternatives.first!,
            ratioHigh: inside.last.map { errorProfile.alternatives[$0] } ?? errorProfile.alternatives.last!)
        let latencyEvidence = latency.map { latency in
            JudgeEvidence.Latency(
                ready: latency.isReady, referenceSamples: latency.reference?.samples ?? latency.warmup.count,
                shift: latency.shift?.eValue ?? 1, tail: latency.tail.eValue,
                harmThreshold: exp(logLatencyHarmThreshold),
                quantiles: latency.quantiles.indices.map { i in
                    JudgeEvidence.Quantile(
                        quantile: latency.quantiles[i], baselineMs: latency.reference?.quantileValues[i],
                        limitMs: latency.reference?.limits[i],
                        canaryAbove: latency.canaryAbove[i], baselineAbove: latency.baselineAbove[i],
                        notWorse: latency.notWorse.indices.contains(i) ? latency.notWorse[i].eValue : 1,
                        threshold: exp(logLatencyNotWorseThreshold))
                })
        }
        return JudgeEvidence(
            seconds: seconds, weight: stepWeight, canary: canary, baseline: baseline,
            stepCanaryRequests: stepCanaryRequests,
            errors: errors, latency: latencyEvidence, sampleRatio: sampleRatio.eValue,
            sampleRatioThreshold: Self.sampleRatioThreshold,
            needMore: needMore, verdict: verdict)
    }

    // MARK: Text

    static func percent(_ value: Double) -> String { String(format: value < 0.01 ? "%.2f%%" : "%.1f%%", value * 100) }
    static func rate(_ totals: Totals) -> String {
        "\(totals.errorRate.map { percent($0) } ?? "–") (\(totals.errors)/\(totals.invocations))"
    }
    static func number(_ value: Double) -> String {
        value >= 1e6
            ? String(format: "%.2g", value)
            : value >= 10 ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }
    static func ms(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f ms", value) : String(format: "%.1f ms", value)
    }
    static func level(_ quantile: Double) -> String {
        let percent = quantile * 100
        return percent == percent.rounded() ? String(Int(percent)) : String(format: "%g", percent)
    }
}

/// What the judge has seen and concluded, for the decision log, the live view and `deployments get`.
public struct JudgeEvidence: Sendable, Equatable, Codable {
    public struct Errors: Sendable, Equatable, Codable {
        public var harm: Double
        public var harmThreshold: Double
        public var notWorse: Double
        public var floorNotWorse: Double?
        public var notWorseThreshold: Double
        /// The most likely rate ratio (canary / baseline) on the profile grid, and its anytime-valid (1 − α) interval.
        public var ratio: Double?
        public var ratioLow: Double
        public var ratioHigh: Double
    }

    public struct Quantile: Sendable, Equatable, Codable {
        public var quantile: Double
        public var baselineMs: Double?
        public var limitMs: Double?
        public var canaryAbove: Int
        public var baselineAbove: Int
        public var notWorse: Double
        public var threshold: Double
    }

    public struct Latency: Sendable, Equatable, Codable {
        public var ready: Bool
        public var referenceSamples: Int
        public var shift: Double
        public var tail: Double
        public var harmThreshold: Double
        public var quantiles: [Quantile]
    }

    public var seconds: Int
    public var weight: Double
    public var canary: Judge.Totals
    public var baseline: Judge.Totals
    public var stepCanaryRequests: Int
    public var errors: Errors
    public var latency: Latency?
    public var sampleRatio: Double
    public var sampleRatioThreshold: Double
    public var needMore: Int?
    public var verdict: JudgeVerdict

    /// The evidence as a few lines of text.
    public var lines: [String] {
        var result: [String] = []
        let share = Double(canary.invocations) / Double(max(1, canary.invocations + baseline.invocations))
        let ratioText = errors.ratio.map { String(format: "%.2g×", $0) } ?? "–"
        func bound(_ value: Double, _ edge: Double, _ symbol: String) -> String {
            value == edge ? "\(symbol)\(String(format: "%.3g", value))×" : String(format: "%.3g×", value)
        }
        result.append(
            "Errors    canary \(Judge.rate(canary))   baseline \(Judge.rate(baseline))   ratio \(ratioText) [anytime CI \(bound(errors.ratioLow, 0.0625, "≤"))–\(bound(errors.ratioHigh, 64, "≥"))]"
        )
        var notWorse = "not-worse \(Judge.number(errors.notWorse))/\(Judge.number(errors.notWorseThreshold))"
        if let floor = errors.floorNotWorse {
            notWorse += ", below-floor \(Judge.number(floor))/\(Judge.number(errors.notWorseThreshold))"
        }
        result.append(
            "          harm evidence \(Judge.number(errors.harm))/\(Judge.number(errors.harmThreshold)) · \(notWorse)")
        if let latency {
            if latency.ready {
                result.append(
                    "Latency   shift evidence \(Judge.number(latency.shift))/\(Judge.number(latency.harmThreshold)) · tail evidence \(Judge.number(latency.tail))/\(Judge.number(latency.harmThreshold))"
                )
                for quantile in latency.quantiles {
                    let limit = quantile.limitMs.map { Judge.ms($0) } ?? "–",
                        base = quantile.baselineMs.map { Judge.ms($0) } ?? "–"
                    result.append(
                        "          p\(Judge.level(quantile.quantile)) baseline \(base), limit \(limit): canary above \(quantile.canaryAbove), baseline above \(quantile.baselineAbove) · not-worse \(Judge.number(quantile.notWorse))/\(Judge.number(quantile.threshold))"
                    )
                }
            } else {
                result.append(
                    "Latency   learning the baseline's quantiles (\(latency.referenceSamples)/\(LatencyJudge.warmupSamples) samples)"
                )
            }
        }
        result.append(
            "Traffic   \(canary.invocations) / \(canary.invocations + baseline.invocations) = \(Judge.percent(share)) (configured \(Judge.percent(max(weight, 0)))) · SRM evidence \(Judge.number(sampleRatio))/\(Judge.number(sampleRatioThreshold))"
        )
        switch verdict {
        case .continue(let needMore):
            result.append(
                "Verdict   WAIT — \(needMore.map { "need ≈ \($0) more canary requests" } ?? "too little data to say how much more is needed")"
            )
        case .abort(let reason): result.append("Verdict   ABORT — \(reason)")
        case .promote: result.append("Verdict   PROMOTE — not worse than the margins")
        case .pause(let reason): result.append("Verdict   PAUSE — \(reason)")
        }
        return result
    }
}
