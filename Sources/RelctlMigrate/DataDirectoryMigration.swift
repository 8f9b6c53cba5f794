import Foundation
import GRDB
import RelctlCore
import RelctlPostgres
import RelctlStorage
import RelctlStore

/// `relctl migrate-store --from-database`: the reverse of `StoreMigration`, for a backup or for moving
/// down to one machine. Copies a PostgreSQL registry (read in one read-only snapshot, never written)
/// into a new SQLite registry in an empty or new folder, and every code object its rows name into that
/// folder's blobs, then verifies both. Rows are copied table by table with their columns named
/// (`RegistryTable.all`, the list the forward copy uses); ids, sequence numbers and cursors keep their
/// values. Two tables are derived rather than copied, because SQLite keeps them as counters the
/// PostgreSQL engine does not maintain (it counts from the rows): `blobs` (one row per package the
/// versions and layer versions name) and `usage` (their sizes added up), which `relctl fsck` checks.
///
/// Order: the folder is checked empty; the code objects go first (read hash-checked from the source's
/// code store, written fsynced, an object before the row naming it, as everywhere), then the rows in one
/// SQLite transaction that compares every table's count with the snapshot's before it commits; then every
/// object the new registry names is read back from the folder (size and SHA-256). Any failure removes
/// what this run wrote, leaving the folder as it was.
public struct DataDirectoryMigration: Sendable {
    public let source: PostgresStore
    /// Where the source's code is: its `--code-store`, or the data directory whose blobs it uses.
    public let codeStore: any CodeObjectStore
    /// The new data directory.
    public let target: URL

    public init(source: PostgresStore, codeStore: any CodeObjectStore, target: URL) {
        self.source = source
        self.codeStore = codeStore
        self.target = target
    }

    var packageBlobs: BlobStore { BlobStore(root: target.appendingPathComponent("blobs/sha256", isDirectory: true)) }
    var artifactBlobs: BlobStore { BlobStore(root: target.appendingPathComponent("s3/sha256", isDirectory: true)) }

    /// Runs the migration; `progress` gets one line per stage (for stderr).
    public func run(
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(RelctlError) -> StoreMigrationReport {
        let createdFolder = try requireEmptyTarget()
        do {
            return try await copy(progress: progress)
        } catch {
            removeWhatThisRunWrote(createdFolder: createdFolder)
            throw error
        }
    }

    func copy(progress: @escaping @Sendable (String) -> Void) async throws(RelctlError) -> StoreMigrationReport {
        let (packages, artifacts) = try await source.exportRows { exporter in
            (try exporter.packages(), try exporter.s3ObjectBytes())
        }
        progress("Copying \(packages.count) code objects from \(codeStore.location) into \(packageBlobs.root.path)…")
        for (hash, package) in packages.sorted(by: { $0.key < $1.key }) {
            try await copyObject(hash, size: package.size, into: packageBlobs)
        }
        if !artifacts.isEmpty {
            progress("Copying \(artifacts.count) S3 objects' bytes into \(artifactBlobs.root.path)…")
        }
        for (hash, size) in artifacts.sorted(by: { $0.key < $1.key }) {
            try await copyObject(hash, size: size, into: artifactBlobs)
        }

        progress("Copying the registry of \(source.location.description) into \(target.path)…")
        do {
            _ = try Registry(dataDirectory: target, actor: "migrate-store")  // the schema, then closed
        }
        let database = target.appendingPathComponent("registry.sqlite")
        let tables = try await source.exportRows { exporter in
            try Self.copyRows(
                from: exporter, into: database, packages: Set(packages.keys), artifacts: Set(artifacts.keys))
        }

        progress("Checking \(packages.count + artifacts.count) code objects in \(target.path) (size and SHA-256)…")
        var bytes: Int64 = 0
        for (hash, size) in try Self.namedObjects(database, table: "blobs", hash: "sha256", size: "size") {
            bytes += try await requireObject(hash, size: size, in: packageBlobs)
        }
        for (hash, size) in try Self.namedObjects(database, table: "s3_objects", hash: "sha256", size: "size") {
            _ = try await requireObject(hash, size: size, in: artifactBlobs)
        }
        return StoreMigrationReport(
            tables: tables, blobs: packages.count, blobBytes: bytes, uploaded: packages.count + artifacts.count,
            codeLocation: packageBlobs.root.path, codeStaysInDataDirectory: false)
    }

    /// Reads `hash` from the source's code store (hash checked there) and stores it fsynced in `blobs`.
    func copyObject(_ hash: String, size: Int64, into blobs: BlobStore) async throws(RelctlError) {
        let data = try await CodeObjectMaintenance.read(
            hash, size: size, from: codeStore, outcome: "Nothing was kept in \(target.path).")
        try blobs.store(data, as: hash)
    }

    /// Reads the copy back (its hash checked) and returns its size.
    func requireObject(_ hash: String, size: Int64, in blobs: BlobStore) async throws(RelctlError) -> Int64 {
        _ = try await CodeObjectMaintenance.read(
            hash, size: size, from: blobs, outcome: "Nothing was kept in \(target.path).")
        return size
    }

    /// The target must be a folder with nothing in it, or not exist yet (it is then created): true when created.
    func requireEmptyTarget() throws(RelctlError) -> Bool {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target.path, isDirectory: &isFolder) else {
            do {
                try FileManager.default.createDirectory(
                    at: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw RelctlError(.service, "Cannot create \(target.path): \(error.localizedDescription)")
            }
            return true
        }
        let entries = isFolder.boolValue ? (try? FileManager.default.contentsOfDirectory(atPath: target.path)) : nil
        guard let entries, entries.isEmpty else {
            let what =
                entries.map {
                    "it holds \($0.count) entr\($0.count == 1 ? "y" : "ies") (\($0.sorted().prefix(3).joined(separator: ", ")))"
                }
                ?? "it is not a folder"
            throw RelctlError(
                .resourceConflict,
                "The target \(target.path) is not empty (\(what)): migrate-store writes a new data directory into an empty or new folder only, and wrote nothing."
            )
        }
        return false
    }

    func removeWhatThisRunWrote(createdFolder: Bool) {
        let fileManager = FileManager.default
        if createdFolder {
            try? fileManager.removeItem(at: target)
            return
        }
        for entry in (try? fileManager.contentsOfDirectory(atPath: target.path)) ?? [] {
            try? fileManager.removeItem(at: target.appendingPathComponent(entry))
        }
    }

    // MARK: The rows (on the snapshot's blocking thread)

    /// Copies every table in one SQLite transaction, then derives `blobs` and `usage`; each table's count is
    /// compared with the snapshot's before the commit.
    static func copyRows(
        from exporter: RowExporter, into database: URL, packages: Set<String>, artifacts: Set<String>
    ) throws(RelctlError) -> [StoreMigrationReport.TableCount] {
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(60)
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let queue = try DatabaseQueue(path: database.path, configuration: configuration)
            return try queue.write { db in
                // Parents come before children in the list, but `blobs` is filled last: check at the commit.
                try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
                var rows: [String: Int] = [:]
                for table in RegistryTable.all where !derivedTables.contains(table.name) {
                    rows[table.name] = try copyTable(table, from: exporter, into: db)
                }
                try requireObjectsCopied(db, packages: packages, artifacts: artifacts)
                try deriveCounters(db)
                for name in derivedTables {
                    rows[name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(name)") ?? 0
                }
                return RegistryTable.all.map { .init(table: $0.name, rows: rows[$0.name] ?? 0) }
            }
        } catch let error as RelctlError {
            throw error
        } catch {
            throw RelctlError(.service, "Writing the registry \(database.path) failed: \(error)")
        }
    }

    /// SQLite's counters of the code the rows name, rebuilt from the rows.
    static let derivedTables = ["usage", "blobs"]

    static func copyTable(_ table: RegistryTable, from exporter: RowExporter, into db: Database) throws -> Int {
        try SourceRegistry.requireColumns(db, table)
        let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
        let statement = try db.makeStatement(
            sql: "INSERT INTO \(table.name) (\(table.columnNames.joined(separator: ", "))) VALUES (\(placeholders))")
        var copied = 0
        try exporter.rows(table.name, columns: table.columns) { batch throws(RelctlError) in
            do {
                for row in batch {
                    try statement.execute(arguments: StatementArguments(row.map(databaseValue)))
                }
            } catch {
                throw RelctlError(.service, "Writing \(table.name) into SQLite failed: \(error)")
            }
            copied += batch.count
        }
        if let identity = table.identity {
            // AUTOINCREMENT: a number the source handed out is never handed out again.
            let handedOut = max(
                try exporter.identityHandedOut(table.name, column: identity),
                try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(\(identity)), 0) FROM \(table.name)") ?? 0)
            try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = ?", arguments: [table.name])
            if handedOut > 0 {
                try db.execute(
                    sql: "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", arguments: [table.name, handedOut])
            }
        }
        let sourceCount = try exporter.count(table.name)
        let targetCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0
        guard sourceCount == copied, targetCount == sourceCount else {
            throw RelctlError(
                .integrityCheckFailed,
                "\(table.name): the source has \(sourceCount) rows, \(copied) were read and the target has \(targetCount); nothing was kept."
            )
        }
        return targetCount
    }

    static func databaseValue(_ value: CopiedValue) -> (any DatabaseValueConvertible)? {
        switch value {
        case .null: nil
        case .integer(let number): number
        case .real(let number): number
        case .text(let text): text
        case .boolean(let flag): flag
        }
    }

    /// Every package and S3 object the copied rows name was copied before them (the snapshot of the rows is
    /// a later one than the list of objects: a source written meanwhile is refused, not copied half).
    static func requireObjectsCopied(_ db: Database, packages: Set<String>, artifacts: Set<String>) throws {
        let named = try String.fetchAll(
            db, sql: "SELECT code_sha256 FROM versions UNION SELECT code_sha256 FROM layer_versions")
        let namedArtifacts = try String.fetchAll(db, sql: "SELECT DISTINCT sha256 FROM s3_objects")
        if let missing = named.first(where: { !packages.contains($0) })
            ?? namedArtifacts.first(where: { !artifacts.contains($0) })
        {
            throw RelctlError(
                .resourceConflict,
                "The source database changed during the copy (its rows now name \(missing), which was not copied): stop the servers writing it and run migrate-store again; nothing was kept."
            )
        }
    }

    /// `blobs`: one row per package the versions and layer versions name; `usage`: their sizes added up, as
    /// SQLite keeps them (and `relctl fsck` checks them).
    static func deriveCounters(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO blobs (sha256, size, unzipped_size)
                SELECT code_sha256, MAX(code_size), MAX(unzipped_size) FROM (
                    SELECT code_sha256, code_size, unzipped_size FROM versions
                    UNION ALL SELECT code_sha256, code_size, unzipped_size FROM layer_versions
                ) GROUP BY code_sha256
                """)
        try db.execute(
            sql: """
                UPDATE usage SET
                    total_code_size = (SELECT COALESCE(SUM(code_size), 0) FROM versions)
                        + (SELECT COALESCE(SUM(code_size), 0) FROM layer_versions),
                    stored_bytes = (SELECT COALESCE(SUM(size), 0) FROM blobs)
                WHERE id = 1
                """)
    }

    /// The objects a table of the new registry names: hash → size.
    static func namedObjects(
        _ database: URL, table: String, hash: String, size: String
    ) throws(RelctlError) -> [(String, Int64)] {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            return try DatabaseQueue(path: database.path, configuration: configuration).read { db in
                try Row.fetchAll(
                    db, sql: "SELECT \(hash), MAX(\(size)) FROM \(table) GROUP BY \(hash) ORDER BY \(hash)"
                )
                .map { ($0[0] as String, $0[1] as Int64) }
            }
        } catch {
            throw RelctlError(.service, "Reading \(database.path) back failed: \(error)")
        }
    }
}
