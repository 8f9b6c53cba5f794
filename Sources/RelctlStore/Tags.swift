import Foundation
import GRDB
import RelctlCore

/// One tag of a function (tags live on the function, not on its versions or aliases).
struct FunctionTagRecord: SnakeCaseRecord {
    static let databaseTableName = "function_tags"
    var functionName: String
    var key: String
    var value: String
}

extension Registry {
    /// The tags of `function` (an empty map when it has none).
    public func tags(of function: String) throws(RelctlError) -> [String: String] {
        try read { db in
            _ = try requireFunction(db, function)
            return try tags(db, function)
        }
    }

    func tags(_ db: Database, _ function: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for tag in try FunctionTagRecord.filter(Column("function_name") == function).fetchAll(db) {
            result[tag.key] = tag.value
        }
        return result
    }

    /// TagResource: adds the tags, replacing the values of keys that exist.
    public func tagFunction(_ function: String, _ tags: [String: String]) throws(RelctlError) {
        try Self.validateTags(tags)
        try write { db, _ in
            _ = try requireFunction(db, function)
            let before = try self.tags(db, function)
            guard before.merging(tags, uniquingKeysWith: { $1 }).count <= Self.maximumTags else {
                throw Self.tooManyTags
            }
            for (key, value) in tags { try FunctionTagRecord(functionName: function, key: key, value: value).save(db) }
            try audit(
                db, "TagResource", function: function, resource: arn.functionArn(function), before: before,
                after: try self.tags(db, function))
        }
    }

    /// UntagResource: removes the keys (absent ones are ignored, as on AWS).
    public func untagFunction(_ function: String, keys: [String]) throws(RelctlError) {
        try write { db, _ in
            _ = try requireFunction(db, function)
            let before = try self.tags(db, function)
            try FunctionTagRecord.filter(Column("function_name") == function && keys.contains(Column("key"))).deleteAll(
                db)
            try audit(
                db, "UntagResource", function: function, resource: arn.functionArn(function), before: before,
                after: try self.tags(db, function))
        }
    }

    /// AWS's tag limits (`FunctionTags`, the same on every engine).
    static let maximumTags = FunctionTags.maximumCount
    static let tooManyTags = FunctionTags.tooMany

    static func validateTags(_ tags: [String: String]) throws(RelctlError) { try FunctionTags.validate(tags) }
}
