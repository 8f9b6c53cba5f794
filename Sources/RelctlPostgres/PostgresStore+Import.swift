import Foundation
import PostgresNIO
import RelctlCore

/// How a copied column's value is typed on each engine (migrate-store's table list names one per column).
public enum ColumnKind: Sendable {
    case text
    case integer
    case real
    /// SQLite's 0/1 integers, PostgreSQL's BOOLEAN.
    case boolean
}

/// One value of a row being copied in (or out), typed as its target column wants it.
public enum CopiedValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case boolean(Bool)
}

/// A bulk load into this database inside one write transaction (`PostgresStore.importRows`): what
/// `relctl migrate-store` uses to copy a registry in. Table and column names come from the caller's
/// fixed lists, never from user input; values are always bound.
public struct RowImporter: Sendable {
    let connection: BlockingConnection

    /// The rows of `table` (a bare identifier) in this transaction.
    public func count(_ table: String) throws(RelctlError) -> Int {
        try count(table, doing: "Copying \(table) into PostgreSQL")
    }

    /// The rows of `table`; an error names what was `doing`.
    func count(_ table: String, doing: String) throws(RelctlError) -> Int {
        let name = try Self.identifier(table)
        do {
            return Int(
                try connection.rows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(name)"))[0].decode(Int64.self))
        } catch {
            throw Self.wrap(error, doing: doing)
        }
    }

    /// Removes every row of `table`: the rows a migration seeds (the one `usage` row) before their copies go in.
    public func removeAll(_ table: String) throws(RelctlError) {
        let name = try Self.identifier(table)
        do {
            try connection.execute(PostgresQuery(unsafeSQL: "DELETE FROM \(name)"))
        } catch {
            throw Self.wrap(error, table: table)
        }
    }

    /// Inserts `rows` (each in `columns`' order) in multi-row statements. Identity columns take the
    /// given values (`OVERRIDING SYSTEM VALUE`), so ids, sequence numbers and cursors stay what they were.
    public func insert(_ table: String, columns: [String], rows: [[CopiedValue]]) throws(RelctlError) {
        let name = try Self.identifier(table)
        let columnList = try columns.map { (column: String) throws(RelctlError) in try Self.identifier(column) }
            .joined(separator: ", ")
        // PostgreSQL takes at most 65535 binds per statement.
        let rowsPerStatement = max(1, min(1000, 60000 / max(1, columns.count)))
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + rowsPerStatement)]
            var bindings = PostgresBindings(capacity: batch.count * columns.count)
            var tuples: [String] = []
            tuples.reserveCapacity(batch.count)
            var parameter = 0
            for row in batch {
                guard row.count == columns.count else {
                    throw RelctlError(
                        .service, "A row for \(table) has \(row.count) values for \(columns.count) columns.")
                }
                var placeholders: [String] = []
                for value in row {
                    parameter += 1
                    placeholders.append("$\(parameter)")
                    switch value {
                    case .null: bindings.appendNull()
                    case .integer(let number): bindings.append(number)
                    case .real(let number): bindings.append(number)
                    case .text(let text): bindings.append(text)
                    case .boolean(let flag): bindings.append(flag)
                    }
                }
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
            }
            let sql =
                "INSERT INTO \(name) (\(columnList)) OVERRIDING SYSTEM VALUE VALUES " + tuples.joined(separator: ", ")
            do {
                try connection.execute(PostgresQuery(unsafeSQL: sql, binds: bindings))
            } catch {
                throw Self.wrap(error, table: table)
            }
            start += batch.count
        }
    }

    /// Sets the identity sequence of `table.column` so the next generated value is above `atLeast` and
    /// above every stored value: a number the source handed out (SQLite's AUTOINCREMENT) is never reused.
    public func advanceIdentity(_ table: String, column: String, atLeast: Int64) throws(RelctlError) {
        let name = try Self.identifier(table)
        let columnName = try Self.identifier(column)
        do {
            let stored = try connection.rows(
                PostgresQuery(unsafeSQL: "SELECT COALESCE(max(\(columnName)), 0)::bigint FROM \(name)"))[0].decode(
                    Int64.self)
            let highest = max(atLeast, stored)
            guard highest > 0 else { return }
            try connection.execute("SELECT setval(pg_get_serial_sequence(\(name), \(columnName)), \(highest))")
        } catch {
            throw Self.wrap(error, table: table)
        }
    }

    static func identifier(_ name: String) throws(RelctlError) -> String {
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        else {
            throw RelctlError(.service, "'\(name)' is not a table or column name relctl copies.")
        }
        return name
    }

    static func wrap(_ error: any Error, table: String) -> RelctlError {
        wrap(error, doing: "Copying \(table) into PostgreSQL")
    }

    /// One error line: what was being done, and PostgreSQL's own message.
    static func wrap(_ error: any Error, doing: String) -> RelctlError {
        if let error = error as? RelctlError { return error }
        if let error = error as? PSQLError, let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return RelctlError(.service, "\(doing) failed: \(message)\(state)")
        }
        return RelctlError(.service, "\(doing) failed: \(error)")
    }
}

extension PostgresStore {
    /// Runs `body` with a `RowImporter` inside one write transaction (the store's write lock held):
    /// everything it inserts commits together, or nothing does when it throws. The body runs on a
    /// blocking thread, so it may read another database synchronously (one SQLite snapshot) as it goes.
    public func importRows<T: Sendable>(
        _ body: @escaping @Sendable (RowImporter) throws -> T
    ) async throws(RelctlError) -> T {
        try await blocking(write: true) { connection in try body(RowImporter(connection: connection)) }
    }

    /// Row counts of `tables`, read in one snapshot.
    public func rowCounts(_ tables: [String]) async throws(RelctlError) -> [String: Int] {
        try await blocking(write: false) { connection in
            let importer = RowImporter(connection: connection)
            var counts: [String: Int] = [:]
            for table in tables { counts[table] = try importer.count(table) }
            return counts
        }
    }

    /// The distinct code hashes and sizes the database's rows name (versions, layer versions and the
    /// `blobs` table), read in one snapshot: what must be in the code store.
    public func referencedCode() async throws(RelctlError) -> [String: Int64] {
        try await blocking(write: false) { connection in
            var sizes: [String: Int64] = [:]
            for row in try connection.rows(
                """
                SELECT code_sha256, code_size FROM versions UNION SELECT code_sha256, code_size FROM layer_versions
                UNION SELECT sha256, size FROM blobs
                """)
            {
                let (hash, size) = try row.decode((String, Int64).self)
                sizes[hash] = size
            }
            return sizes
        }
    }
}
