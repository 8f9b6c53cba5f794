import Foundation

/// The simulation's random numbers: routing's own seeded xoshiro256** (`RoutingRandom`) with the
/// distributions the traffic model draws from. The same seed gives the same simulation everywhere.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var random: RoutingRandom
    private var spareNormal: Double?

    public init(seed: UInt64) {
        random = RoutingRandom(seed: seed)
    }

    public mutating func next() -> UInt64 { random.next() }

    /// Uniform in (0, 1).
    public mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992 }

    public mutating func normal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        let radius = (-2 * log(uniform())).squareRoot(), angle = 2 * Double.pi * uniform()
        spareNormal = radius * sin(angle)
        return radius * cos(angle)
    }

    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// Binomial(n, p): inversion when n·min(p, 1−p) is small, else n Bernoulli draws.
    public mutating func binomial(_ n: Int, _ p: Double) -> Int {
        guard n > 0, p > 0 else { return 0 }
        guard p < 1 else { return n }
        let flipped = p > 0.5, q = flipped ? 1 - p : p
        var k = 0
        if Double(n) * q < 25 {
            let odds = q / (1 - q)
            var mass = pow(1 - q, Double(n)), u = uniform()
            while u > mass, k < n {
                u -= mass
                k += 1
                mass *= odds * Double(n - k + 1) / Double(k)
            }
        } else {
            for _ in 0..<n where uniform() < q { k += 1 }
        }
        return flipped ? n - k : k
    }

    /// Poisson(mean): inversion below 30, else Hörmann's transformed rejection (PTRS).
    public mutating func poisson(_ mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        if mean < 30 {
            var k = 0, mass = exp(-mean), u = uniform()
            while u > mass, k < 10_000 {
                u -= mass
                k += 1
                mass *= mean / Double(k)
            }
            return k
        }
        let root = mean.squareRoot(), logMean = log(mean)
        let b = 0.931 + 2.53 * root, a = -0.059 + 0.02483 * b
        let inverseAlpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = uniform() - 0.5, v = uniform()
            let us = 0.5 - abs(u)
            let k = floor((2 * a / us + b) * u + mean + 0.43)
            if us >= 0.07, v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(inverseAlpha) - log(a / (us * us) + b) <= -mean + k * logMean - lgamma(k + 1) {
                return Int(k)
            }
        }
    }
}

/// A canary scenario for the judge's Monte-Carlo: traffic on the alias, the canary's weight, and how
/// the canary differs from its baseline.
public struct JudgeScenario: Sendable, Equatable {
    /// Mean requests per second on the alias.
    public var rate: Double = 100
    /// Alias weight on the canary.
    public var weight: Double = 0.1
    public var baselineErrorRate: Double = 0.01
    public var canaryErrorRate: Double = 0.01
    /// Durations are lognormal: median and σ of the log.
    public var medianMs: Double = 100
    public var sigma: Double = 0.5
    /// The canary's durations are the baseline's × this.
    public var canaryLatencyFactor: Double = 1
    /// Length of each run (one decision per second).
    public var seconds: Int = 3600
    /// Load swings ±50% over the run (a sine), and an incident hits both versions from minute 20 to 25
    /// (errors ×8, latency ×1.3).
    public var diurnal = false
    /// Each second the canary's true share of invocations is uniform in weight × (1 ± jitter).
    public var routingJitter: Double = 0
    /// The canary's true share is weight × bias (a broken router).
    public var routingBias: Double = 1
    /// Baseline latencies known before the deployment (its recent history); 0: learnt during it.
    public var referenceSamples = 2000

    public init() {}
}

/// One simulated deployment.
public struct JudgeRunOutcome: Sendable, Equatable {
    /// The first second a harm test crossed its threshold (an abort), whatever else happened.
    public var abortSecond: Int?
    /// The first second the verdict was `.promote`.
    public var promoteSecond: Int?
    /// The first second the sample-ratio guard paused it.
    public var pauseSecond: Int?
    /// Canary requests when it first promoted, or aborted.
    public var canaryRequestsAtPromote: Int?
    public var canaryRequestsAtAbort: Int?
    /// The judge's "need ≈ N more canary requests" after its first minute (nil: not estimable or decided).
    public var needMoreAfterMinute: Int?

    /// Which decision the deployment would act on: the first of abort, promote and pause.
    public var decision: (kind: String, second: Int)? {
        [("abort", abortSecond), ("promote", promoteSecond), ("pause", pauseSecond)]
            .compactMap { kind, second in second.map { (kind, $0) } }
            .min { $0.1 < $1.1 }
    }
}

/// The judge's seeded Monte-Carlo (`relctl judge simulate`, the benchmark's figures, the tests).
public enum JudgeSimulation {
    /// The traffic of one simulated deployment, second by second.
    public struct Traffic: Sendable {
        public let scenario: JudgeScenario
        public let judgesLatency: Bool
        private var generator: SeededGenerator
        private var second = 0

        public init(_ scenario: JudgeScenario, judgesLatency: Bool, seed: UInt64) {
            self.scenario = scenario
            self.judgesLatency = judgesLatency
            generator = SeededGenerator(seed: seed)
        }

        /// Baseline latencies from before the deployment (no incident).
        public mutating func reference() -> [Double] {
            (0..<scenario.referenceSamples).map { _ in scenario.medianMs * exp(scenario.sigma * generator.normal()) }
        }

        public mutating func next() -> JudgeSecond {
            let s = scenario, t = Double(second)
            second += 1
            let load = s.diurnal ? 1 + 0.5 * sin(2 * Double.pi * t / Double(max(s.seconds, 1))) : 1
            let incident = s.diurnal && t >= 1200 && t < 1500
            let invocations = generator.poisson(s.rate * load)
            var share = s.weight * s.routingBias
            if s.routingJitter > 0 { share *= 1 + s.routingJitter * (2 * generator.uniform() - 1) }
            let canaryInvocations = generator.binomial(invocations, min(max(share, 0), 1))
            let baselineInvocations = invocations - canaryInvocations
            let errorFactor = incident ? 8.0 : 1, latencyFactor = incident ? 1.3 : 1
            let canaryErrors = generator.binomial(canaryInvocations, min(s.canaryErrorRate * errorFactor, 1))
            let baselineErrors = generator.binomial(baselineInvocations, min(s.baselineErrorRate * errorFactor, 1))
            var canaryDurations: [Double] = [], baselineDurations: [Double] = []
            if judgesLatency {
                let median = s.medianMs * latencyFactor
                canaryDurations = (0..<(canaryInvocations - canaryErrors)).map { _ in
                    median * s.canaryLatencyFactor * exp(s.sigma * generator.normal())
                }
                baselineDurations = (0..<(baselineInvocations - baselineErrors)).map { _ in
                    median * exp(s.sigma * generator.normal())
                }
            }
            return JudgeSecond(
                weight: s.weight,
                canary: VersionSecond(invocations: canaryInvocations, errors: canaryErrors, durations: canaryDurations),
                baseline: VersionSecond(
                    invocations: baselineInvocations, errors: baselineErrors, durations: baselineDurations))
        }
    }

    /// One deployment, run for the scenario's whole length (or until it is aborted, when
    /// `stopAtDecision` is set, or decided at all).
    public static func run(
        _ scenario: JudgeScenario, configuration: JudgeConfiguration, seed: UInt64, stopAtDecision: Bool
    ) -> JudgeRunOutcome {
        var traffic = Traffic(scenario, judgesLatency: configuration.latency != nil, seed: seed)
        let reference = configuration.latency != nil && scenario.referenceSamples > 0 ? traffic.reference() : nil
        var judge = Judge(configuration: configuration, baselineLatencies: reference)
        var outcome = JudgeRunOutcome()
        for second in 1...max(scenario.seconds, 1) {
            let verdict = judge.observe(second: traffic.next())
            if outcome.abortSecond == nil, judge.harmCrossed {
                outcome.abortSecond = second
                outcome.canaryRequestsAtAbort = judge.canary.invocations
            }
            switch verdict {
            case .promote where outcome.promoteSecond == nil:
                outcome.promoteSecond = second
                outcome.canaryRequestsAtPromote = judge.canary.invocations
            case .pause where outcome.pauseSecond == nil && judge.sampleRatioCrossed:
                outcome.pauseSecond = second
            case .continue(let needMore) where second == 60:
                outcome.needMoreAfterMinute = needMore
            default: break
            }
            if outcome.abortSecond != nil || (stopAtDecision && outcome.decision != nil) { break }
        }
        return outcome
    }

    /// Many seeded runs: run i uses seed `seed &+ i`.
    public static func runs(
        _ scenario: JudgeScenario, configuration: JudgeConfiguration, count: Int, seed: UInt64,
        stopAtDecision: Bool
    ) -> [JudgeRunOutcome] {
        (0..<count).map {
            run(
                scenario, configuration: configuration, seed: seed &+ UInt64($0) &* 0x9E37_79B9,
                stopAtDecision: stopAtDecision)
        }
    }
}

/// Figures over many runs.
public struct JudgeSimulationSummary: Sendable, Equatable {
    public var runs: Int
    public var aborts: Int
    public var promotes: Int
    public var pauses: Int
    public var abortSeconds: [Int]
    public var promoteSeconds: [Int]
    public var pauseSeconds: [Int]
    public var canaryRequestsAtAbort: [Int]
    public var canaryRequestsAtPromote: [Int]
    public var needMoreAfterMinute: [Int]

    public init(_ outcomes: [JudgeRunOutcome]) {
        runs = outcomes.count
        abortSeconds = outcomes.compactMap(\.abortSecond).sorted()
        promoteSeconds = outcomes.compactMap(\.promoteSecond).sorted()
        aborts = abortSeconds.count
        promotes = promoteSeconds.count
        pauseSeconds = outcomes.compactMap(\.pauseSecond).sorted()
        pauses = pauseSeconds.count
        canaryRequestsAtAbort = outcomes.compactMap(\.canaryRequestsAtAbort).sorted()
        canaryRequestsAtPromote = outcomes.compactMap(\.canaryRequestsAtPromote).sorted()
        needMoreAfterMinute = outcomes.compactMap(\.needMoreAfterMinute).sorted()
    }

    public var abortRate: Double { Double(aborts) / Double(max(runs, 1)) }
    public var promoteRate: Double { Double(promotes) / Double(max(runs, 1)) }
    public var pauseRate: Double { Double(pauses) / Double(max(runs, 1)) }

    /// The p-quantile (0…1) of sorted values (nearest rank), nil when empty.
    public static func percentile(_ sorted: [Int], _ p: Double) -> Int? {
        guard !sorted.isEmpty else { return nil }
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
    }
}
