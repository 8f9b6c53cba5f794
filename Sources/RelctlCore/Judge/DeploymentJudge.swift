import Foundation

/// The canary judge of one deployment as the rollout engine keeps it (beside the deployment, one
/// row per judged deployment): the judge's state, how far it has consumed the metrics ("judged
/// through second T"), the alias weights the deployment set and when, and which verdicts it has
/// already acted on. Pure: the engine reads the samples and applies what `DeploymentJudge` decides.
public struct DeploymentJudge: Sendable, Equatable, Codable {
    /// A weight the deployment set on the target (percent), from `at` on.
    public struct WeightMark: Sendable, Equatable, Codable {
        public var at: Double
        public var percent: Double

        public init(at: Double, percent: Double) {
            self.at = at
            self.percent = percent
        }
    }

    public var judge: Judge
    /// Every second that starts before this (whole seconds since 1970) has been fed to the judge.
    public var judgedThrough: Double
    public var weights: [WeightMark]
    /// The verdict last written to the decision log (nil: none yet).
    public var logged: JudgeVerdict?
    /// The judge paused the deployment (routing mismatch, or no evidence at the end of the last hold);
    /// after an operator resumes it the same verdict does not pause it again.
    public var pausedByJudge = false
    /// The end of the last hold was judged (the verdict there is acted on once).
    public var endOfLastHoldJudged = false
    /// Why the judge's Prometheus source last failed (nil: it answers), so the change is logged once.
    public var sourceProblem: String?

    public init(judge: Judge, judgedThrough: Double, weights: [WeightMark] = []) {
        self.judge = judge
        self.judgedThrough = judgedThrough
        self.weights = weights
    }

    /// How long after a second ends it is judged: the runtime stamps a sample with its invocation's
    /// start and writes it within ~100 ms of its end, so a second is complete a little after it ends.
    public static let settleSeconds = 2.0

    /// The last second (exclusive end) that may be judged at `now`.
    public static func closedThrough(now: Double) -> Double { (now - settleSeconds).rounded(.down) }

    /// The weight on the target (percent) in effect at `time`.
    public func weight(at time: Double) -> Double {
        weights.last { $0.at <= time }?.percent ?? 0
    }

    /// Records a weight the deployment set at `now` (nothing when it is unchanged).
    public mutating func follow(weight percent: Double, at now: Double) {
        guard weights.last?.percent != percent else { return }
        weights.append(WeightMark(at: now, percent: percent))
    }

    /// Feeds the closed seconds in `[judgedThrough, through)` to the judge: each second's counts from
    /// `samples`, its weight the one in effect at its middle. Seconds at 0% or 100% (no canary, or no
    /// baseline) are skipped. Returns how many seconds were fed.
    @discardableResult
    public mutating func feed(_ samples: JudgeSamples, through: Double) -> Int {
        guard through > judgedThrough else { return 0 }
        var fed = 0
        var second = judgedThrough
        while second < through {
            let percent = weight(at: second + 0.5)
            if percent > 0, percent < 100 {
                _ = judge.observe(second: samples.second(Int64(second), weight: percent / 100))
                fed += 1
            }
            second += 1
        }
        judgedThrough = through
        return fed
    }
}

/// Per-second, per-version samples of a judged alias in a window (the runtime's Invocations,
/// Errors and Duration datapoints), ready to be fed a second at a time.
public struct JudgeSamples: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        public var invocations = 0.0
        public var errors = 0.0
        public var durations: [Double] = []
    }

    public var canary: [Int64: Counts] = [:]
    public var baseline: [Int64: Counts] = [:]

    public init() {}

    public enum Side: Sendable { case canary, baseline }

    /// Adds one datapoint of `metric` (Invocations, Errors or Duration; others are ignored).
    public mutating func add(_ side: Side, metric: String, timestamp: Double, value: Double) {
        let second = Int64(timestamp.rounded(.down))
        func update(_ counts: inout Counts) {
            switch metric {
            case "Invocations": counts.invocations += value
            case "Errors": counts.errors += value
            case "Duration": counts.durations.append(value)
            default: break
            }
        }
        switch side {
        case .canary: update(&canary[second, default: Counts()])
        case .baseline: update(&baseline[second, default: Counts()])
        }
    }

    public func second(_ second: Int64, weight: Double) -> JudgeSecond {
        func version(_ counts: Counts?) -> VersionSecond {
            guard let counts else { return VersionSecond(invocations: 0, errors: 0) }
            return VersionSecond(
                invocations: Int(counts.invocations.rounded()), errors: Int(counts.errors.rounded()),
                durations: counts.durations)
        }
        return JudgeSecond(weight: weight, canary: version(canary[second]), baseline: version(baseline[second]))
    }

    /// The seconds that have any sample, in order.
    public var seconds: [Int64] { Set(canary.keys).union(baseline.keys).sorted() }
}

extension JudgeVerdict {
    /// WAIT, ABORT, PROMOTE or PAUSE.
    public var word: String {
        switch self {
        case .continue: "WAIT"
        case .abort: "ABORT"
        case .promote: "PROMOTE"
        case .pause: "PAUSE"
        }
    }

    /// The same kind of verdict (a WAIT whose estimate moved is the same verdict).
    public func sameKind(as other: JudgeVerdict?) -> Bool { other.map { $0.word == word } ?? false }

    /// One line: `ABORT — errors: …`, `WAIT — need ≈ 120 more canary requests`.
    public var text: String {
        switch self {
        case .continue(let needMore):
            "WAIT — \(needMore.map { "need ≈ \($0) more canary requests" } ?? "too little data to say how much more is needed")"
        case .abort(let reason): "ABORT — \(reason)"
        case .promote: "PROMOTE — not worse than the margins"
        case .pause(let reason): "PAUSE — \(reason)"
        }
    }
}

extension Judge {
    /// An e-value or threshold as the evidence lines show it (3 significant figures at most).
    public static func numberText(_ value: Double) -> String { number(value) }
}

extension JudgeEvidence {
    /// The numbers behind a verdict, as an event's details (strings).
    public var details: [String: String] {
        var result: [String: String] = [
            "verdict": verdict.word,
            "seconds": String(seconds),
            "canaryRequests": String(canary.invocations), "canaryErrors": String(canary.errors),
            "baselineRequests": String(baseline.invocations), "baselineErrors": String(baseline.errors),
            "stepCanaryRequests": String(stepCanaryRequests),
            "errorHarm": Judge.number(errors.harm), "errorHarmThreshold": Judge.number(errors.harmThreshold),
            "errorNotWorse": Judge.number(errors.notWorse), "notWorseThreshold": Judge.number(errors.notWorseThreshold),
            "ratioLow": String(format: "%.3g", errors.ratioLow), "ratioHigh": String(format: "%.3g", errors.ratioHigh),
            "sampleRatio": Judge.number(sampleRatio),
        ]
        if let ratio = errors.ratio { result["ratio"] = String(format: "%.3g", ratio) }
        if let floor = errors.floorNotWorse { result["errorBelowFloor"] = Judge.number(floor) }
        if let needMore { result["needMore"] = String(needMore) }
        if let latency, latency.ready {
            result["latencyShift"] = Judge.number(latency.shift)
            result["latencyTail"] = Judge.number(latency.tail)
            result["latencyHarmThreshold"] = Judge.number(latency.harmThreshold)
        }
        switch verdict {
        case .abort(let reason), .pause(let reason): result["reason"] = reason
        default: break
        }
        return result
    }
}
