/// How a registry's applied schema steps (migration identifiers) compare with the steps this relctl knows,
/// the same rule on every engine: a store is usable as it is only when it has every known step and no other.
public enum SchemaSteps: Equatable, Sendable {
    case current
    /// A step this relctl does not know: a newer relctl wrote it.
    case unknown(String)
    /// Fewer steps than this relctl has: the store is older (or not a relctl registry at all).
    case behind(applied: Int, known: Int)

    public init(applied: [String], known: [String]) {
        if let step = applied.first(where: { !known.contains($0) }) {
            self = .unknown(step)
        } else if applied.count != known.count {
            self = .behind(applied: applied.count, known: known.count)
        } else {
            self = .current
        }
    }
}
