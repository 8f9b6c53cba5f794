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
}
