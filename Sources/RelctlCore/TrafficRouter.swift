/// Picks the version an invocation of an alias runs, from its routing configuration.
///
/// Without a routing key the choice is random with the configured weight. With one, the key is
/// hashed to a fixed point u in [0, 1) and lands on the additional version when u < weight: the same
/// key always gets the same version for the same weights, and as a canary's weight grows the set of
/// keys on the new version only grows (a user who reached it stays there).
public enum TrafficRouter {
    public static func version(for target: AliasTarget, routingKey: String?, random: Double) -> Int {
        guard let additional = target.additional else { return target.functionVersion }
        let point = routingKey.map(position) ?? random
        return point < additional.weight ? additional.version : target.functionVersion
    }

    /// A key's fixed point in [0, 1): FNV-1a, then a SplitMix64 finaliser for uniformity.
    public static func position(_ key: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 30
        hash &*= 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash &*= 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return Double(hash >> 11) / Double(UInt64(1) << 53)
    }
}
