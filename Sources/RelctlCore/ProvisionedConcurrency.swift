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

/// A provisioned-concurrency setting as GetProvisionedConcurrencyConfig reports it (every engine's answer).
public struct ProvisionedConcurrencyConfig: Sendable, Equatable {
    /// The version or alias ARN it is set on.
    public var functionArn: String
    public var requested: Int
    public var lastModified: String

    public init(functionArn: String, requested: Int, lastModified: String) {
        self.functionArn = functionArn
        self.requested = requested
        self.lastModified = lastModified
    }

    /// PutProvisionedConcurrencyConfig's ProvisionedConcurrentExecutions: at least 1.
    public static func validate(executions: Int) throws(RelctlError) {
        guard executions >= 1 else {
            throw .validation(
                value: String(executions), field: "provisionedConcurrentExecutions",
                constraint: "Member must have value greater than or equal to 1")
        }
    }

    /// Put's answer for `$LATEST`.
    public static let latestCannotBeProvisioned =
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    /// Get's and Delete's answer for `$LATEST`.
    public static let latestHasNoProvisionedConcurrency =
        "The function resource provided must be an alias or a published version."

    public static func aliasNotFound(_ aliasArn: String) -> RelctlError {
        RelctlError(.resourceNotFound, "Cannot find alias arn: \(aliasArn)")
    }

    /// An alias and the version it points to cannot both carry a setting (AWS's conflict).
    public static let aliasOfProvisionedVersion = RelctlError(
        .resourceConflict,
        "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")

    /// The function's settings together, this one at its new value, exceed its reserved concurrency.
    public static let aboveReservedConcurrency = RelctlError(
        .invalidParameterValue,
        "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")

    public static let notFound = RelctlError(
        .provisionedConcurrencyConfigNotFound, "No Provisioned Concurrency Config found for this function")
}
