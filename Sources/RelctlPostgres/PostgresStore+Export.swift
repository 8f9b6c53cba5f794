import Foundation
import PostgresNIO
import RelctlCore

/// A read of this database table by table inside one `REPEATABLE READ READ ONLY` snapshot
/// (`PostgresStore.exportRows`): what `relctl migrate-store --from-database` copies out of. Table and
/// column names come from the caller's fixed lists, never from user input; rows come through a
/// server-side cursor, one batch at a time, so no table is held whole in memory.
public struct RowExporter: Sendable {
    let connection: BlockingConnection

    /// The rows of `table` in the snapshot.
    public func count(_ table: String) throws(RelctlError) -> Int {
        try RowImporter(connection: connection).count(table, doing: "Reading \(table) from PostgreSQL")
    }

    /// Every row of `table`, its `columns` typed by their kinds, handed to `body` `batchSize` rows at a time.
    public func rows(
        _ table: String, columns: [(name: String, kind: ColumnKind)], batchSize: Int = 2000,
        _ body: ([[CopiedValue]]) throws(RelctlError) -> Void
    ) throws(RelctlError) {
        let name = try RowImporter.identifier(table)
        let columnList = try columns.map { (column: (name: String, kind: ColumnKind)) throws(RelctlError) in
            try RowImporter.identifier(column.name)
        }.joined(separator: ", ")
        var batch: [[CopiedValue]] = []
        do {
            try connection.simple("DECLARE relctl_export NO SCROLL CURSOR FOR SELECT \(columnList) FROM \(name)")
            while true {
                let rows = try connection.rows(
                    PostgresQuery(unsafeSQL: "FETCH FORWARD \(batchSize) FROM relctl_export"))
                if rows.isEmpty { break }
                batch.removeAll(keepingCapacity: true)
                for row in rows {
                    var values: [CopiedValue] = []
                    values.reserveCapacity(columns.count)
                    for (cell, column) in zip(row, columns) { values.append(try Self.value(cell, column.kind)) }
                    batch.append(values)
                }
                try body(batch)
            }
            try connection.simple("CLOSE relctl_export")
        } catch let error as RelctlError {
            throw error
        } catch {
            throw RowImporter.wrap(error, doing: "Reading \(table) from PostgreSQL")
        }
    }

    /// The highest value `table.column`'s identity sequence has handed out (0: none yet), which a copy must
    /// never hand out again even when the row that had it is gone.
    public func identityHandedOut(_ table: String, column: String) throws(RelctlError) -> Int64 {
        let name = try RowImporter.identifier(table)
        let columnName = try RowImporter.identifier(column)
        do {
            return try connection.rows(
                "SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence(\(name), \(columnName))), 0)::bigint"
            )[0].decode(Int64.self)
        } catch {
            throw RowImporter.wrap(error, doing: "Reading \(table)'s identity from PostgreSQL")
        }
    }

    /// The code packages the rows name (`$LATEST`, versions, layer versions): hash → size and unzipped size.
    public func packages() throws(RelctlError) -> [String: (size: Int64, unzippedSize: Int64)] {
        do {
            var packages: [String: (size: Int64, unzippedSize: Int64)] = [:]
            for row in try connection.rows(
                """
                SELECT code_sha256, code_size, unzipped_size FROM versions
                UNION SELECT code_sha256, code_size, unzipped_size FROM layer_versions
                """)
            {
                let (hash, size, unzipped) = try row.decode((String, Int64, Int64).self)
                packages[hash] = (size, unzipped)
            }
            return packages
        } catch {
            throw RowImporter.wrap(error, doing: "Reading the code packages from PostgreSQL")
        }
    }

    /// The bytes the S3 subset's objects name (code objects on PostgreSQL): hash → size.
    public func s3ObjectBytes() throws(RelctlError) -> [String: Int64] {
        do {
            var sizes: [String: Int64] = [:]
            for row in try connection.rows("SELECT sha256, MAX(size)::bigint FROM s3_objects GROUP BY sha256") {
                let (hash, size) = try row.decode((String, Int64).self)
                sizes[hash] = size
            }
            return sizes
        } catch {
            throw RowImporter.wrap(error, doing: "Reading the S3 objects from PostgreSQL")
        }
    }

    static func value(_ cell: PostgresCell, _ kind: ColumnKind) throws -> CopiedValue {
        guard cell.bytes != nil else { return .null }
        switch kind {
        case .text: return .text(try cell.decode(String.self))
        case .integer: return .integer(try cell.decode(Int64.self))
        case .real: return .real(try cell.decode(Double.self))
        case .boolean: return .boolean(try cell.decode(Bool.self))
        }
    }
}

extension PostgresStore {
    /// Runs `body` with a `RowExporter` inside one read-only snapshot: every table it reads is the same
    /// moment of the database, and nothing is written. The body runs on a blocking thread, so it may
    /// write another database synchronously (one SQLite transaction) as it goes.
    public func exportRows<T: Sendable>(
        _ body: @escaping @Sendable (RowExporter) throws -> T
    ) async throws(RelctlError) -> T {
        try await blocking(write: false) { connection in try body(RowExporter(connection: connection)) }
    }
}
