import ArgumentParser
import Foundation
import RelctlCore
import RelctlMigrate
import RelctlPostgres
import RelctlS3
import RelctlStorage

/// `relctl migrate-store`: moving a single-machine registry up to PostgreSQL (and its code to a bucket),
/// or, with `--from-database`, a PostgreSQL registry down into a new data directory (a backup, or moving down).
struct MigrateStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract:
            "Copy the data directory's registry into an empty PostgreSQL database (and its code into a bucket), or back into a new data directory, then verify.",
        discussion: """
            Up (--to-database): reads the SQLite registry of --data-dir in one snapshot, read-only (the source is
            never changed), applies the PostgreSQL schema to --to-database, and copies every table in one
            transaction, then checks every table's row count on both sides. With --to-code-store every code object
            is copied into the bucket first; without it the code stays in the data directory. Either way every
            object the copied rows name is then checked (size and SHA-256). Refuses a target database that already
            holds records. Stop the servers and controllers that write the data directory first.

            Down (--from-database URL --to-data-dir DIR): reads the PostgreSQL registry in one read-only snapshot
            (nothing is written to it), copies every code object its rows name from --from-code-store (else the
            code store the database's commands use: --code-store, or --data-dir's blobs) into DIR's blobs
            (fsynced, SHA-256 checked), and every table into a new SQLite registry in DIR, ids kept, then checks
            every table's row count and every object. DIR must be empty or not exist; a failed run leaves it so.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(
        name: .customLong("to-database"),
        help: ArgumentHelp(
            "The target: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE] (an empty database).",
            valueName: "url"))
    var toDatabase: String?

    @Option(
        name: .customLong("to-code-store"),
        help: ArgumentHelp(
            "Also copy the code into s3://BUCKET[/PREFIX] (keys and region from $RELCTL_S3_*); default: the code stays in the data directory.",
            valueName: "url"))
    var toCodeStore: String?

    @Option(
        name: .customLong("from-database"),
        help: ArgumentHelp(
            "Copy down from this PostgreSQL registry (postgres://…) into --to-data-dir; it is only read.",
            valueName: "url"))
    var fromDatabase: String?

    @Option(
        name: .customLong("from-code-store"),
        help: ArgumentHelp(
            "Where --from-database's code is: s3://BUCKET[/PREFIX] (default: --code-store, else --data-dir's blobs).",
            valueName: "url"))
    var fromCodeStore: String?

    @Option(
        name: .customLong("to-data-dir"),
        help: ArgumentHelp(
            "The new data directory (empty or not existing) that --from-database is copied into.", valueName: "dir"))
    var toDataDir: String?

    @Option(help: "The S3 endpoint of --to-code-store or --from-code-store (default: $RELCTL_S3_ENDPOINT, else AWS's).")
    var s3Endpoint: String?

    func run() async throws {
        if let fromDatabase {
            try await copyDown(from: fromDatabase)
            return
        }
        guard let toDatabase else {
            throw RelctlError(
                .invalidParameterValue,
                "Name where to copy: --to-database postgres://… (up from the data directory), or --from-database postgres://… with --to-data-dir DIR (down into a new data directory)."
            )
        }
        try refuse(["--from-code-store": fromCodeStore, "--to-data-dir": toDataDir], without: "--from-database")
        guard case .postgres(let url) = try DatabaseLocation.parse(toDatabase, name: "--to-database") else {
            throw RelctlError(
                .invalidParameterValue,
                "--to-database must be a postgres:// URL: the source is the data directory's own SQLite registry.")
        }
        if case .postgres(let source) = try global.databaseLocation() {
            throw RelctlError(
                .invalidParameterValue,
                "migrate-store reads the data directory's SQLite registry, not --database \(source.description); unset --database / RELCTL_DATABASE."
            )
        }
        var codeStore: (any CodeObjectStore)?
        if let toCodeStore { codeStore = try await bucket(toCodeStore) }
        let target = try await PostgresStore.open(url, actor: "migrate-store")
        defer { target.close() }
        let report = try await StoreMigration(
            dataDirectory: global.resolvedDataDirectory, target: target, codeStore: codeStore
        ).run(progress: { Output.note($0) })
        render(report, target: url)
    }

    /// `--from-database URL --to-data-dir DIR`: PostgreSQL (and its code) into a new data directory.
    func copyDown(from fromDatabase: String) async throws {
        if toDatabase != nil {
            throw RelctlError(
                .invalidParameterValue,
                "--from-database and --to-database cannot be combined: migrate-store copies up into PostgreSQL or down from it."
            )
        }
        try refuse(["--to-code-store": toCodeStore], without: "--to-database")
        guard let toDataDir else {
            throw RelctlError(
                .invalidParameterValue, "--from-database needs --to-data-dir DIR: the new data directory to copy into.")
        }
        guard case .postgres(let url) = try DatabaseLocation.parse(fromDatabase, name: "--from-database") else {
            throw RelctlError(.invalidParameterValue, "--from-database must be a postgres:// URL.")
        }
        var codeStore = try global.databaseCodeStore().store
        if let fromCodeStore, let bucket = try await bucket(fromCodeStore) { codeStore = bucket }
        let target = URL(fileURLWithPath: toDataDir, isDirectory: true).standardizedFileURL
        let source = try await PostgresStore.open(url, actor: "migrate-store", applyingMigrations: false)
        defer { source.close() }
        let report = try await DataDirectoryMigration(source: source, codeStore: codeStore, target: target)
            .run(progress: { Output.note($0) })
        switch global.output {
        case .json:
            Output.json(
                DownMigrationJSON(
                    Database: url.description, DataDirectory: target.path,
                    Tables: Dictionary(uniqueKeysWithValues: report.tables.map { ($0.table, $0.rows) }),
                    CodeObjects: report.blobs, CodeBytes: report.blobBytes, CodeStore: codeStore.location))
        case .table:
            Output.table(["TABLE", "ROWS"], report.tables.filter { $0.rows > 0 }.map { [$0.table, String($0.rows)] })
            let rows = report.tables.reduce(0) { $0 + $1.rows }
            print(
                "Copied \(rows) rows in \(report.tables.count) tables from \(url.description) into \(target.path); every table's count matches the source."
            )
            print(
                "Copied \(report.blobs) code objects (\(report.blobBytes) bytes) from \(codeStore.location) into \(report.codeLocation), each read back (size and SHA-256)."
            )
        }
    }

    /// An S3 code store named by a flag, its bucket checked.
    func bucket(_ url: String) async throws -> (any CodeObjectStore)? {
        let location = try CodeStoreLocation.parse(
            codeStore: url, s3Endpoint: s3Endpoint, environment: ProcessInfo.processInfo.environment)
        guard case .s3(let settings) = location else { return nil }
        let bucket = S3CodeStore(settings: settings)
        try await bucket.checkBucket()
        return bucket
    }

    /// Flags of the other direction are refused in one line.
    func refuse(_ flags: [String: String?], without direction: String) throws {
        if let flag = flags.filter({ $0.value != nil }).keys.sorted().first {
            throw RelctlError(.invalidParameterValue, "\(flag) goes with \(direction) only.")
        }
    }

    func render(_ report: StoreMigrationReport, target: PostgresURL) {
        switch global.output {
        case .json:
            Output.json(
                MigrationJSON(
                    Database: target.description,
                    Tables: Dictionary(uniqueKeysWithValues: report.tables.map { ($0.table, $0.rows) }),
                    CodeObjects: report.blobs, CodeBytes: report.blobBytes, Uploaded: report.uploaded,
                    CodeStore: report.codeLocation, CodeStaysInDataDirectory: report.codeStaysInDataDirectory))
        case .table:
            Output.table(["TABLE", "ROWS"], report.tables.filter { $0.rows > 0 }.map { [$0.table, String($0.rows)] })
            let rows = report.tables.reduce(0) { $0 + $1.rows }
            print(
                "Copied \(rows) rows in \(report.tables.count) tables into \(target.description); every table's count matches the source."
            )
            print(
                "Checked \(report.blobs) code objects (\(report.blobBytes) bytes, size and SHA-256) in \(report.codeLocation); \(report.uploaded) copied by this run."
            )
            if report.codeStaysInDataDirectory {
                print(
                    "The code stays in the data directory (no --to-code-store was given): \(report.codeLocation) is its only copy."
                )
            }
        }
    }
}

private struct DownMigrationJSON: Encodable {
    let Database: String
    let DataDirectory: String
    let Tables: [String: Int]
    let CodeObjects: Int
    let CodeBytes: Int64
    let CodeStore: String
}

private struct MigrationJSON: Encodable {
    let Database: String
    let Tables: [String: Int]
    let CodeObjects: Int
    let CodeBytes: Int64
    let Uploaded: Int
    let CodeStore: String
    let CodeStaysInDataDirectory: Bool
}
