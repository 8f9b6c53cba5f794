import Foundation
import GRDB
import RelctlCore

struct AuditRecord: SnakeCaseRecord {
    static let databaseTableName = "audit"
    var id: Int64?
    var at: String
    var actor: String
    var action: String
    var functionName: String?
    var resource: String
    var before: String?
    var after: String?

    /// One encoder for every audit row (configured once; encoding does not mutate it).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["at"] = at
        container["actor"] = actor
        container["action"] = action
        container["function_name"] = functionName
        container["resource"] = resource
        container["before"] = before
        container["after"] = after
    }
}

// The audit log: who changed what, with the record before and after, in the same transaction.
extension Registry {
    func audit(
        _ db: Database, _ action: String, function: String?, resource: String,
        before: (any Encodable)? = nil, after: (any Encodable)? = nil
    ) throws {
        func json(_ value: (any Encodable)?) -> String? {
            guard let value else { return nil }
            // An alias move's before and after: the same bytes, written by hand (every move writes two).
            if let alias = value as? AliasConfiguration, let text = alias.jsonText { return text }
            return (try? AuditRecord.encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
        }
        let record = AuditRecord(
            at: now, actor: actor, action: action, functionName: function, resource: resource,
            before: json(before), after: json(after))
        try db.execute(
            cached:
                "INSERT INTO audit (at, actor, action, function_name, resource, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [record.at, record.actor, record.action, record.functionName, record.resource, record.before, record.after])
    }
}
