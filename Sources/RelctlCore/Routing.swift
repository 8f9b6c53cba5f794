/// Where an alias sends traffic: one version (0 stands for `$LATEST`) and at most one additional
/// published version that receives `weight` of the invocations.
public struct AliasTarget: Hashable, Sendable, Codable {
    public struct Additional: Hashable, Sendable, Codable {
        public var version: Int
        public var weight: Double
        public init(version: Int, weight: Double) {
            self.version = version
            self.weight = weight
        }
    }

    /// `0` is `$LATEST`.
    public var functionVersion: Int
    public var additional: Additional?

    public init(functionVersion: Int, additional: Additional? = nil) {
        self.functionVersion = functionVersion
        self.additional = additional
    }

    public static let latestVersionNumber = 0

    public static func versionText(_ version: Int) -> String {
        version == latestVersionNumber ? "$LATEST" : String(version)
    }

    /// Parses `FunctionVersion`: `$LATEST` or a version number.
    public static func parseVersion(_ text: String) throws(RelctlError) -> Int {
        if text == "$LATEST" { return latestVersionNumber }
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let number = Int(text), number >= 1 else {
            throw .validation(
                value: text, field: "functionVersion",
                constraint: "Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)")
        }
        return number
    }

    /// Builds a target from Lambda's `FunctionVersion` + `RoutingConfig.AdditionalVersionWeights`,
    /// checking AWS's rules in AWS's order with AWS's messages. Existence is the store's to check.
    public static func from(
        functionVersion: Int, additionalVersionWeights weights: [String: Double]
    ) throws(RelctlError) -> AliasTarget {
        guard weights.count <= 1 else {
            throw RelctlError(
                .invalidParameterValue, "Number of items in AdditionalVersionWeights cannot be greater than 1")
        }
        guard let (key, weight) = weights.first else { return AliasTarget(functionVersion: functionVersion) }
        let mapText = "{\(key)=\(weight)}"
        guard weight.isFinite, weight >= 0, weight <= 1 else {
            throw .validation(
                value: mapText, field: "routingConfig.additionalVersionWeights",
                constraint:
                    "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"
            )
        }
        guard !key.isEmpty, key.count <= 1024, key.allSatisfy(\.isASCIIDigit), let version = Int(key), version >= 1
        else {
            throw .validation(
                value: mapText, field: "routingConfig.additionalVersionWeights",
                constraint:
                    "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]"
            )
        }
        guard functionVersion != latestVersionNumber else {
            throw RelctlError(
                .invalidParameterValue, "$LATEST is not supported for an alias pointing to more than 1 version")
        }
        guard version != functionVersion else {
            throw RelctlError(
                .invalidParameterValue,
                "Invalid function version \(version). Function version \(version) is already included in routing configuration."
            )
        }
        return AliasTarget(functionVersion: functionVersion, additional: Additional(version: version, weight: weight))
    }

    /// The versions this target references (both must exist).
    public var referencedVersions: [Int] {
        [functionVersion] + (additional.map { [$0.version] } ?? [])
    }

    public var routingConfig: AliasRoutingConfiguration? {
        additional.map { AliasRoutingConfiguration(AdditionalVersionWeights: [String($0.version): $0.weight]) }
    }

    /// `1`, or `1 + 2@10%` for a split.
    public var summary: String {
        var text = AliasTarget.versionText(functionVersion)
        if let additional {
            text += " + \(additional.version)@\(Self.percent(additional.weight))"
        }
        return text
    }

    static func percent(_ weight: Double) -> String {
        let value = weight * 100
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? "\(Int(rounded))%" : "\(rounded)%"
    }
}

/// The random source of weighted routing: xoshiro256** (Blackman and Vigna), seeded once. Routing
/// needs a uniform draw per invocation, not secrecy, and the system generator (a `getrandom` call
/// per draw) would cap decisions at its own rate. Seeded explicitly, it replays the same decisions.
public struct RoutingRandom: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the four words from `seed` through SplitMix64, as the authors recommend.
    public init(seed: UInt64) {
        var mixer = seed
        func next() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// Starts from the raw state words (not all zero).
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        self.state = state
    }

    /// Seeded from the system generator.
    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: system.next())
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    /// A uniform draw in [0, 1) from the top 53 bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
