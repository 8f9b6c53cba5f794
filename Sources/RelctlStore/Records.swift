import Foundation
import GRDB
import RelctlCore

// One Codable record per table; columns are snake_case in SQL, camelCase here.

protocol SnakeCaseRecord: Codable, FetchableRecord, PersistableRecord {}

extension SnakeCaseRecord {
    static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

// Hot paths read one row by key many times a second: their SQL is compiled once per connection
// (`cachedStatement`) instead of being generated and parsed on every call, and the records they
// touch most decode and encode column by column (`init(row:)`, `encode(to:)`) instead of through
// Codable's keyed containers. Both were most of an alias update's CPU time.
extension Database {
    func fetchOne<Record: FetchableRecord>(
        _ type: Record.Type, cached sql: String, _ arguments: StatementArguments
    ) throws -> Record? {
        try Record.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func exists(cached sql: String, _ arguments: StatementArguments) throws -> Bool {
        try Bool.fetchOne(cachedStatement(sql: sql), arguments: arguments) ?? false
    }

    /// Asked by every "not found" answer that must say whether the function or its alias is missing.
    func functionExists(_ name: String) throws -> Bool {
        try exists(cached: "SELECT 1 FROM functions WHERE name = ?", [name])
    }

    /// Runs an INSERT or UPDATE compiled once per connection. The rows every alias move and
    /// deployment step writes (the alias, its move, the audit row, the events, the deployment's
    /// state) go through here: GRDB's generic record persistence (building the column container,
    /// generating and looking up the SQL) was half of an alias update's CPU time.
    func execute(cached sql: String, _ arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    /// An UPDATE by key compiled once per connection; a missing row is GRDB's `recordNotFound`, as `update` says it.
    func update(
        cached sql: String, _ arguments: StatementArguments, table: String,
        key: () -> [String: any DatabaseValueConvertible]
    ) throws {
        try execute(cached: sql, arguments)
        if changesCount == 0 {
            throw RecordError.recordNotFound(databaseTableName: table, key: key().mapValues { $0.databaseValue })
        }
    }
}
