/// The latency half of the judge: a shift test on the whole distribution (label betting over bins
/// cut at the baseline's quantiles), a tail test at the highest configured quantile, and one
/// "not worse" test per configured quantile.
///
/// Thresholds come from baseline latencies seen *before* the seconds they score: a reference sample
/// passed in (the baseline's recent history), or else the first `warmupSamples` baseline latencies
/// of the deployment. Either way they are fixed before any second is scored, so every test stays
/// valid; a poor reference only costs power.
public struct LatencyJudge: Sendable, Equatable, Codable {
    /// Baseline latencies collected before the thresholds are fixed when no reference was given.
    public static let warmupSamples = 1000
    /// Quantile levels the shift test's bins are cut at (with the configured ones added).
    static let binLevels: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999]

    /// Thresholds in milliseconds, fixed from the reference.
    public struct Reference: Sendable, Equatable, Codable {
        /// Upper bounds of the bins (one fewer than bins): the shift test's quantile cuts, the
        /// configured quantiles and their limits, so one search per request counts everything.
        public var cuts: [Double]
        /// Which cut is the tail threshold, and which is each quantile's limit.
        public var tailCut: Int
        public var limitCuts: [Int]
        /// The baseline's value at each configured quantile.
        public var quantileValues: [Double]
        /// (1 + maxIncrease) × each quantile value: the latency a canary request is "too slow" above.
        public var limits: [Double]
        /// The baseline's own share of requests above each limit, and the resulting ratio margin
        /// (1 − p) / share: a canary above it exceeds the limit more often than the baseline exceeds its quantile.
        public var baselineShareAbove: [Double]
        public var margins: [Double]
        /// The tail test's threshold: the baseline's highest configured quantile.
        public var tailThreshold: Double
        /// Size of the reference sample.
        public var samples: Int
    }

    public private(set) var quantiles: [Double]
    public private(set) var maxIncrease: Double
    public private(set) var reference: Reference?
    public private(set) var warmup: [Double] = []
    public private(set) var shift: ShiftEProcess?
    /// H₀: the canary is above the baseline's top quantile no more often than the baseline.
    public private(set) var tail = RatioEProcess.harm()
    public private(set) var notWorse: [RatioEProcess] = []
    /// Requests above each limit, per version (for display).
    public private(set) var canaryAbove: [Int]
    public private(set) var baselineAbove: [Int]

    public init(_ configuration: JudgeConfiguration.Latency, reference baselineLatencies: [Double]? = nil) {
        quantiles = configuration.quantiles.sorted()
        maxIncrease = configuration.maxIncrease
        canaryAbove = Array(repeating: 0, count: quantiles.count)
        baselineAbove = canaryAbove
        if let baselineLatencies, baselineLatencies.count >= 100 { fix(reference: baselineLatencies) }
    }

    public var isReady: Bool { reference != nil }

    /// Sample quantile with linear interpolation (type 7) of a sorted array.
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        let position = p * Double(sorted.count - 1)
        let low = Int(position), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (position - Double(low)) * (sorted[high] - sorted[low])
    }

    private mutating func fix(reference samples: [Double]) {
        let sorted = samples.filter { $0.isFinite }.sorted()
        let count = Double(sorted.count)
        let values = quantiles.map { Self.quantile(sorted, $0) }
        let limits = values.map { $0 * (1 + maxIncrease) }
        // Cuts: quantiles with a few reference samples above them, plus the configured quantiles and limits.
        var cutSet = Set(Self.binLevels.filter { (1 - $0) * count >= 5 }.map { Self.quantile(sorted, $0) })
        cutSet.formUnion(values)
        cutSet.formUnion(limits)
        let cuts = cutSet.sorted()
        // Each bin's probability under the baseline, from the reference (smoothed so none is 0).
        let levels = cuts.enumerated().map { index, cut in
            (Double(Self.countAtMost(sorted, cut)) + Double(index + 1)) / (count + Double(cuts.count + 1))
        }
        let shares = limits.map { limit in max(Double(sorted.count - Self.countAtMost(sorted, limit)), 0.5) / count }
        let margins = zip(quantiles, shares).map { max((1 - $0) / $1, 1.01) }
        reference = Reference(
            cuts: cuts, tailCut: cuts.firstIndex(of: values.last!)!, limitCuts: limits.map { cuts.firstIndex(of: $0)! },
            quantileValues: values, limits: limits, baselineShareAbove: shares, margins: margins,
            tailThreshold: values.last!, samples: sorted.count)
        shift = ShiftEProcess(levels: levels)
        notWorse = margins.map { RatioEProcess.notWorse(margin: $0) }
        warmup = []
    }

    /// How many of `sorted` are ≤ `value`.
    static func countAtMost(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// One second of successful requests' latencies (milliseconds) per version, at canary weight `weight`.
    public mutating func observe(canary: [Double], baseline: [Double], weight: Double) {
        guard let reference, shift != nil else {
            warmup.append(contentsOf: baseline.prefix(Self.warmupSamples - warmup.count))
            if warmup.count >= Self.warmupSamples { fix(reference: warmup) }
            return
        }
        let total = canary.count + baseline.count
        guard total > 0 else { return }
        let cuts = reference.cuts
        let bins = cuts.count + 1
        // The canary's bins, then the baseline's: a request is in bin b when it is above b cuts.
        var counts = [Int](repeating: 0, count: 2 * bins)
        cuts.withUnsafeBufferPointer { cuts in
            counts.withUnsafeMutableBufferPointer { counts in
                func count(_ values: [Double], into offset: Int) {
                    for value in values {
                        // Counting the cuts below the value with no branch beats a binary search
                        // over a dozen cuts (its branches are unpredictable).
                        var bin = 0
                        for cut in cuts { bin &+= Int(unsafeBitCast(value > cut, to: UInt8.self)) }
                        counts[offset &+ bin] &+= 1
                    }
                }
                count(canary, into: 0)
                count(baseline, into: bins)
            }
        }
        shift!.observe(counts: counts, weight: weight)
        func above(_ cut: Int, _ offset: Int) -> Int {
            var total = 0
            for b in (cut + 1)..<bins { total += counts[offset + b] }
            return total
        }
        let share = Double(canary.count) / Double(total)
        let tailCanary = above(reference.tailCut, 0), tailBaseline = above(reference.tailCut, bins)
        tail.observe(canary: tailCanary, events: tailCanary + tailBaseline, share: share)
        for (i, cut) in reference.limitCuts.enumerated() {
            let canaryCount = above(cut, 0), baselineCount = above(cut, bins)
            notWorse[i].observe(canary: canaryCount, events: canaryCount + baselineCount, share: share)
            canaryAbove[i] += canaryCount
            baselineAbove[i] += baselineCount
        }
    }
}
