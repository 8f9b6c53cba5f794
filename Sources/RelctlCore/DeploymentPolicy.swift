/// A deployment preference: how traffic moves from the alias's current version to the target.
///
/// Timing, pinned (CodeDeploy's docs are ambiguous): every stage sets a weight and then holds it;
/// 100% follows the last stage's hold.
/// - `Canary P% I`: P% at t0, 100% at t0+I.
/// - `Linear P% every I`: P%, 2P%, … at t0, t0+I, …; 100% at t0 + (⌈100/P⌉−1)·I
///   (Linear 10% every minute: 10% at t0, 20% at t0+1m, … 90% at t0+8m, 100% at t0+9m).
/// - `AllAtOnce`: 100% at t0.
/// - `Steps`: each `weight`/`hold` in order, `pause` waits for `relctl deployments promote`.
public struct DeploymentPolicy: Sendable, Equatable, Codable {
    public enum Kind: Sendable, Equatable, Codable {
        case canary(percentage: Double, interval: Double)
        case linear(percentage: Double, interval: Double)
        case allAtOnce
        case steps([Stage])
    }

    /// One stage of traffic shifting.
    public enum Stage: Sendable, Equatable, Codable {
        /// Send `percent` of traffic to the target, then wait `hold` seconds.
        case weight(percent: Double, hold: Double)
        /// Wait for a promote.
        case pause
    }

    public var name: String
    public var kind: Kind
    /// Where it came from: `shipped`, or a file path.
    public var source: String
    /// The canary judge (the `judge:` section); nil: the canary is judged by its alarms only.
    public var judge: JudgeConfiguration?

    public init(name: String, kind: Kind, source: String = "custom", judge: JudgeConfiguration? = nil) {
        self.name = name
        self.kind = kind
        self.source = source
        self.judge = judge
    }

    /// Most shifts a policy may make, the final 100% included: Linear at 1% makes exactly 100.
    /// `validate()` refuses more, from arithmetic alone, before any stage is built.
    public static let maxShifts = 100

    /// The stages before the final 100% (never more than `maxShifts`, even for a policy that
    /// `validate()` would refuse).
    public var stages: [Stage] {
        switch kind {
        case .allAtOnce:
            return []
        case .canary(let percentage, let interval):
            return [.weight(percent: percentage, hold: interval)]
        case .linear(let percentage, let interval):
            var result: [Stage] = []
            var weight = percentage
            while weight < 100 - 1e-9, result.count < Self.maxShifts - 1 {
                result.append(.weight(percent: weight, hold: interval))
                weight += percentage
            }
            return result
        case .steps(let steps):
            return steps
        }
    }

    /// `stages[index]` without building the array: a tick asks it of every waiting deployment.
    public func stage(at index: Int) -> Stage? {
        guard index >= 0 else { return nil }
        switch kind {
        case .allAtOnce:
            return nil
        case .canary(let percentage, let interval):
            return index == 0 ? .weight(percent: percentage, hold: interval) : nil
        case .linear(let percentage, let interval):
            // The same accumulation as `stages`, so the weights match to the last bit.
            var weight = percentage
            var count = 0
            while weight < 100 - 1e-9, count < Self.maxShifts - 1 {
                if count == index { return .weight(percent: weight, hold: interval) }
                weight += percentage
                count += 1
            }
            return nil
        case .steps(let steps):
            return steps.indices.contains(index) ? steps[index] : nil
        }
    }

    /// The shift schedule assuming no pauses: each weight with the offset it is applied at.
    public struct Shift: Sendable, Equatable, Codable {
        public var percent: Double
        /// Seconds after the start of traffic shifting; nil once a `pause` step makes it depend on a promote.
        public var offset: Double?
        public var waitsForPromote: Bool
    }

    public var schedule: [Shift] {
        var result: [Shift] = []
        var offset: Double? = 0
        var pauseBefore = false
        for stage in stages {
            switch stage {
            case .weight(let percent, let hold):
                result.append(Shift(percent: percent, offset: offset, waitsForPromote: pauseBefore))
                pauseBefore = false
                offset = offset.map { $0 + hold }
            case .pause:
                pauseBefore = true
                offset = nil
            }
        }
        result.append(Shift(percent: 100, offset: offset, waitsForPromote: pauseBefore))
        return result
    }

    /// Total time from the first shift to 100%, nil if a pause makes it open-ended.
    public var totalDuration: Double? { schedule.last?.offset }

    public var typeName: String {
        switch kind {
        case .canary: "Canary"
        case .linear: "Linear"
        case .allAtOnce: "AllAtOnce"
        case .steps: "Steps"
        }
    }

    /// Checks the rules a policy file must follow.
    public func validate() throws(RelctlError) {
        func invalid(_ why: String) -> RelctlError { RelctlError(.invalidParameterValue, "Policy \(name): \(why)") }
        guard !name.isEmpty, name.count <= 100,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw invalid("the name must be 1–100 characters of letters, digits, '-', '_' and '.'.")
        }
        func checkPercent(_ value: Double, _ field: String) throws(RelctlError) {
            guard value > 0, value <= 100, value.isFinite else {
                throw invalid(
                    "\(field) \(value) is outside (0, 100]; a weight is a percentage of traffic above 0 and at most 100."
                )
            }
        }
        func checkDuration(_ value: Double, _ field: String) throws(RelctlError) {
            guard value >= 0, value.isFinite, value <= 86400 * 14 else {
                throw invalid("\(field) must be between 0s and 14 days.")
            }
        }
        switch kind {
        case .allAtOnce:
            break
        case .canary(let percentage, let interval), .linear(let percentage, let interval):
            try checkPercent(percentage, "percentage")
            guard percentage < 100 || typeName == "Linear" else {
                throw invalid("a canary percentage must be below 100 (use AllAtOnce to shift everything at once).")
            }
            let shifts = (100 / percentage).rounded(.up)
            guard typeName != "Linear" || shifts <= Double(Self.maxShifts) else {
                let count = shifts < 1e9 ? String(Int(shifts)) : "more than a billion"
                throw invalid(
                    "a Linear percentage of \(Self.percentText(percentage)) takes \(count) shifts to reach 100%; at most \(Self.maxShifts) are allowed, so the percentage must be at least \(100 / Self.maxShifts)%."
                )
            }
            try checkDuration(interval, "interval")
            guard interval > 0 else { throw invalid("interval must be more than 0s.") }
        case .steps(let steps):
            guard !steps.isEmpty else { throw invalid("a Steps policy needs at least one step.") }
            guard steps.count < Self.maxShifts else {
                throw invalid(
                    "a Steps policy has at most \(Self.maxShifts - 1) steps (the final 100% makes \(Self.maxShifts) shifts); this one has \(steps.count)."
                )
            }
            var previous = 0.0
            for (index, step) in steps.enumerated() {
                guard case .weight(let percent, let hold) = step else { continue }
                try checkPercent(percent, "step \(index + 1) weight")
                guard percent > previous else {
                    throw invalid(
                        "step \(index + 1) weight \(Self.percentText(percent)) does not increase on the previous \(Self.percentText(previous)); weights must increase step by step."
                    )
                }
                try checkDuration(hold, "step \(index + 1) hold")
                previous = percent
            }
        }
        do { try judge?.validate() } catch { throw invalid(error.message) }
    }

    public static func percentText(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))%" : "\(value)%"
    }
}
