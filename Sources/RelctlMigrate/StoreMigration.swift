import Foundation
import GRDB
import RelctlCore
import RelctlMigrations
import RelctlPostgres
import RelctlStorage
import RelctlStore

/// What `relctl migrate-store` did: rows per table (equal on both sides, checked), and the code.
public struct StoreMigrationReport: Sendable, Equatable {
    public struct TableCount: Sendable, Equatable {
        public let table: String
        public let rows: Int
    }

    public var tables: [TableCount]
    /// Code objects the copied rows name, every one checked in the target code store (size and SHA-256).
    public var blobs: Int
    public var blobBytes: Int64
    /// Objects written to the target code store by this run (the others were there with their size already).
    public var uploaded: Int
    /// Where the code is now: `s3://bucket/prefix`, or the data directory's blob folder.
    public var codeLocation: String
    /// True when no target code store was named: the code stays in the data directory.
    public var codeStaysInDataDirectory: Bool
}

/// Copies the single-machine registry of a data directory (SQLite, read in one snapshot, never
/// written) into an empty PostgreSQL database in one transaction, and its code into a code store,
/// then verifies both (issue 10 §4). Rows are copied table by table with their columns named
/// (`RegistryTable.all`); ids, sequence numbers and cursors keep their values.
///
/// Order: the target is checked empty; the code objects go first (an object before the row naming
/// it, as everywhere), then the rows in one transaction that re-checks the target is empty under the
/// store's write lock and compares every table's count with the source's before it commits; then
/// every object the target's rows name is checked in the code store (downloaded, size and hash).
/// Stop the servers and controllers writing the source first: rows they write later are not copied.
public struct StoreMigration: Sendable {
    public let dataDirectory: URL
    public let target: PostgresStore
    /// nil: the code stays in the data directory (only checked there).
    public let codeStore: (any CodeObjectStore)?

    public init(dataDirectory: URL, target: PostgresStore, codeStore: (any CodeObjectStore)?) {
        self.dataDirectory = dataDirectory
        self.target = target
        self.codeStore = codeStore
    }

    var localBlobs: BlobStore {
        BlobStore(dataDirectory: dataDirectory)
    }

    /// Runs the migration; `progress` gets one line per stage (for stderr).
    public func run(
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(RelctlError)
        -> StoreMigrationReport
    {
        let source = try SourceRegistry(dataDirectory: dataDirectory)
        try source.requireCurrentSchema()
        try requireEmpty(try await target.rowCounts(RegistryTable.all.map(\.name)))

        let sourceBlobs = try source.blobs()
        var uploaded = Set<String>()
        if let codeStore {
            progress("Copying \(sourceBlobs.count) code objects to \(codeStore.location)…")
            for (hash, size) in sourceBlobs.sorted(by: { $0.key < $1.key }) {
                if try await upload(hash, size: size, to: codeStore) { uploaded.insert(hash) }
            }
        }

        // MARK: S3 subset (S): artifacts' bytes become code objects, before their rows.
        uploaded.formUnion(try await copyArtifacts(source, progress: progress))

        progress("Copying the registry into \(target.location.description)…")
        let tables = try await target.importRows { importer in
            try source.copy(into: importer)
        }

        // Rows the source gained between its two reads may name objects not copied yet.
        let referenced = try await target.referencedCode()
        let store: any CodeObjectStore = codeStore ?? localBlobs
        if let codeStore {
            for (hash, size) in referenced.sorted(by: { $0.key < $1.key }) where sourceBlobs[hash] == nil {
                if try await upload(hash, size: size, to: codeStore) { uploaded.insert(hash) }
            }
        }
        progress("Checking \(referenced.count) code objects in \(store.location) (size and SHA-256)…")
        var bytes: Int64 = 0
        for (hash, size) in referenced.sorted(by: { $0.key < $1.key }) {
            _ = try await CodeObjectMaintenance.read(
                hash, size: size, from: store, outcome: "(The registry was copied into \(target.location.description).)"
            )
            bytes += size
        }
        return StoreMigrationReport(
            tables: tables, blobs: referenced.count, blobBytes: bytes, uploaded: uploaded.count,
            codeLocation: store.location, codeStaysInDataDirectory: codeStore == nil)
    }

    /// Puts the data directory's copy of `hash` into `store` unless an object of that size is there;
    /// true when it wrote one.
    func upload(_ hash: String, size: Int64, to store: any CodeObjectStore) async throws(RelctlError) -> Bool {
        if try await store.size(of: hash) == size { return false }
        let file = localBlobs.url(for: hash)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw RelctlError(
                .resourceNotFound,
                "The code object \(hash) is named by the registry but missing from \(localBlobs.root.path) (`relctl fsck` lists such rows); nothing was copied into the database."
            )
        }
        try await store.put(hash, size: size, from: file)
        return true
    }

    func requireEmpty(_ counts: [String: Int]) throws(RelctlError) {
        let seeded = Set(RegistryTable.all.filter(\.seededByMigrations).map(\.name))
        let filled = RegistryTable.all.map(\.name).filter { !seeded.contains($0) && (counts[$0] ?? 0) > 0 }
        guard filled.isEmpty else {
            let shown = filled.prefix(4).map { "\($0): \(counts[$0] ?? 0) rows" }.joined(separator: ", ")
            throw RelctlError(
                .resourceConflict,
                "The target database \(target.location.description) is not empty (\(shown)\(filled.count > 4 ? ", …" : "")): migrate-store copies into an empty database only, and wrote nothing."
            )
        }
    }
}

/// The data directory's SQLite registry opened read-only: no migration, no checkpoint, no write.
struct SourceRegistry: Sendable {
    let file: URL
    let queue: DatabaseQueue

    init(dataDirectory: URL) throws(RelctlError) {
        file = dataDirectory.appendingPathComponent("registry.sqlite")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw RelctlError(
                .resourceNotFound,
                "There is no registry in \(dataDirectory.path) (registry.sqlite is missing): nothing to migrate. Name the data directory with --data-dir."
            )
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(60)
        do {
            queue = try DatabaseQueue(path: file.path, configuration: configuration)
        } catch {
            throw RelctlError(.service, "Cannot open \(file.path) read-only: \(error)")
        }
    }

    /// Runs `body` in one read transaction: every statement sees the same snapshot.
    func snapshot<T>(_ body: (Database) throws -> T) throws(RelctlError) -> T {
        do {
            return try queue.inDatabase { db in
                try db.execute(sql: "BEGIN DEFERRED")
                defer { try? db.execute(sql: "ROLLBACK") }
                return try body(db)
            }
        } catch let error as RelctlError {
            throw error
        } catch {
            throw RelctlError(.service, "Reading \(file.path) failed: \(error)")
        }
    }

    /// The source must be at this relctl's schema (every SQLite migration applied, none unknown).
    func requireCurrentSchema() throws(RelctlError) {
        let applied = try snapshot { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
        switch SchemaSteps(applied: applied, known: Migrations.all.map(\.identifier)) {
        case .current:
            return
        case .unknown(let step):
            throw RelctlError(
                .invalidParameterValue,
                "The registry in \(file.deletingLastPathComponent().path) has the schema step \(step), which this relctl does not know: migrate it with the relctl that wrote it."
            )
        case .behind(let applied, let known):
            throw RelctlError(
                .invalidParameterValue,
                "The registry in \(file.deletingLastPathComponent().path) is at an older schema (\(applied) of \(known) steps): run any relctl command on it once (e.g. `relctl function list`), then migrate."
            )
        }
    }

    /// Every code object the registry keeps (its `blobs` rows): hash → size.
    func blobs() throws(RelctlError) -> [String: Int64] {
        try snapshot { db in
            var sizes: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT sha256, size FROM blobs") {
                let hash: String = row[0]
                let size: Int64 = row[1]
                sizes[hash] = size
            }
            return sizes
        }
    }

    /// Copies every table through `importer` (inside the target's transaction), from one snapshot,
    /// and checks each table's count on both sides before the transaction commits.
    func copy(into importer: RowImporter) throws(RelctlError) -> [StoreMigrationReport.TableCount] {
        try snapshot { db in
            try Self.requireKnownTables(db)
            var counts: [StoreMigrationReport.TableCount] = []
            for table in RegistryTable.all {
                if table.seededByMigrations {
                    try importer.removeAll(table.name)
                } else if try importer.count(table.name) > 0 {
                    throw RelctlError(
                        .resourceConflict,
                        "The target database is not empty (\(table.name) has rows, written since the check): migrate-store copies into an empty database only, and wrote nothing."
                    )
                }
                try Self.requireColumns(db, table)
                let sql = "SELECT \(table.columnNames.joined(separator: ", ")) FROM \(table.name)"
                let rows = try Row.fetchCursor(db, sql: sql)
                var batch: [[CopiedValue]] = []
                var copied = 0
                while let row = try rows.next() {
                    batch.append(try Self.values(row, table))
                    if batch.count == 2000 {
                        try importer.insert(table.name, columns: table.columnNames, rows: batch)
                        copied += batch.count
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                try importer.insert(table.name, columns: table.columnNames, rows: batch)
                copied += batch.count
                if let identity = table.identity {
                    let handedOut =
                        try Int64.fetchOne(
                            db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table.name])
                        ?? 0
                    try importer.advanceIdentity(table.name, column: identity, atLeast: handedOut)
                }
                let sourceCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0
                let targetCount = try importer.count(table.name)
                guard sourceCount == copied, targetCount == sourceCount else {
                    throw RelctlError(
                        .integrityCheckFailed,
                        "\(table.name): the source has \(sourceCount) rows, \(copied) were read and the target has \(targetCount); nothing was written."
                    )
                }
                counts.append(.init(table: table.name, rows: targetCount))
            }
            return counts
        }
    }

    /// Every table of the source is one this relctl copies: a table it does not know would be left behind.
    static func requireKnownTables(_ db: Database) throws {
        let known = Set(RegistryTable.all.map(\.name))
        let tables = try String.fetchAll(
            db,
            sql:
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'"
        )
        if let unknown = tables.sorted().first(where: { !known.contains($0) }) {
            throw RelctlError(
                .service,
                "The source registry has a table this relctl does not copy (\(unknown)); nothing was written.")
        }
    }

    /// The SQLite table has exactly the columns the copy names (no column would be dropped).
    static func requireColumns(_ db: Database, _ table: RegistryTable) throws {
        let columns = Set(try db.columns(in: table.name).map(\.name))
        let named = Set(table.columnNames)
        guard columns == named else {
            let missing = named.subtracting(columns).sorted()
            let extra = columns.subtracting(named).sorted()
            throw RelctlError(
                .service,
                "The SQLite table \(table.name) does not have the columns this relctl copies (missing: \(missing.joined(separator: ", ")); not copied: \(extra.joined(separator: ", "))); nothing was written."
            )
        }
    }

    /// A source row as the target's columns want it.
    static func values(_ row: Row, _ table: RegistryTable) throws(RelctlError) -> [CopiedValue] {
        var values: [CopiedValue] = []
        values.reserveCapacity(table.columns.count)
        for (index, column) in table.columns.enumerated() {
            let value: DatabaseValue = row[index]
            let converted: CopiedValue?
            switch (column.kind, value.storage) {
            case (_, .null): converted = .null
            case (.text, .string(let text)): converted = .text(text)
            case (.text, .int64(let number)): converted = .text(String(number))
            case (.integer, .int64(let number)): converted = .integer(number)
            case (.integer, .double(let number)) where number.rounded() == number && abs(number) < 9e18:
                converted = .integer(Int64(number))
            case (.real, .double(let number)): converted = .real(number)
            case (.real, .int64(let number)): converted = .real(Double(number))
            case (.boolean, .int64(let number)) where number == 0 || number == 1: converted = .boolean(number == 1)
            default: converted = nil
            }
            guard let converted else {
                throw RelctlError(
                    .service,
                    "\(table.name).\(column.name) holds \(value.description.prefix(60)), which is not a \(column.kind) value; nothing was written."
                )
            }
            values.append(converted)
        }
        return values
    }
}
