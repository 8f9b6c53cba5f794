import Foundation

/// AWS's tag limits for a function, in AWS's words, the same on every engine: 50 per resource, keys
/// 1–128 characters, values up to 256.
public enum FunctionTags {
    public static let maximumCount = 50
    public static let tooMany = RelctlError(
        .invalidParameterValue, "Number of tags exceeds resource tag limit (50).")

    public static func validate(_ tags: [String: String]) throws(RelctlError) {
        guard tags.count <= maximumCount else { throw tooMany }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            guard (1...128).contains(key.count) else {
                throw .validation(
                    value: key, field: "tags",
                    constraint:
                        "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"
                )
            }
            guard value.count <= 256 else {
                throw .validation(
                    value: value, field: "tags",
                    constraint: "Map value must satisfy constraint: [Member must have length less than or equal to 256]"
                )
            }
        }
    }
}
