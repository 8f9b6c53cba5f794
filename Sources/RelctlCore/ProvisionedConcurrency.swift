/// How a provisioned-concurrency setting is spread over the versions its qualifier routes to.
extension AliasTarget {
    /// Instances to keep per version for `requested` provisioned executions. A version keeps all of
    /// them; an alias with weighted routing splits them by the weights, as AWS provisions an alias's
    /// versions during a canary or linear shift: the additional version gets `requested × weight`
    /// rounded to the nearest whole instance, the primary the rest.
    public func provisionedSplit(_ requested: Int) -> [Int: Int] {
        guard let additional, additional.version != functionVersion else { return [functionVersion: requested] }
        let shifted = min(requested, max(0, Int((Double(requested) * additional.weight).rounded())))
        return [functionVersion: requested - shifted, additional.version: shifted].filter { $0.value > 0 }
    }
}
