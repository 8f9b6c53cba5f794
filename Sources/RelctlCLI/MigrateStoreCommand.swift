import ArgumentParser
import Foundation
import RelctlCore
import RelctlMigrate
import RelctlPostgres
import RelctlS3
import RelctlStorage

/// `relctl migrate-store`: moving a single-machine registry up to PostgreSQL (and its code to a bucket).
struct MigrateStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract:
            "Copy the data directory's registry into an empty PostgreSQL database (and its code into a bucket), then verify.",
        discussion: """
            Reads the SQLite registry of --data-dir in one snapshot, read-only (the source is never changed), applies
            the PostgreSQL schema to --to-database, and copies every table in one transaction, then checks every
            table's row count on both sides. With --to-code-store every code object is copied into the bucket first;
            without it the code stays in the data directory. Either way every object the copied rows name is then
            checked (size and SHA-256). Refuses a target database that already holds records. Stop the servers and
            controllers that write the data directory first.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(
        name: .customLong("to-database"),
        help: ArgumentHelp(
            "The target: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE] (an empty database).",
            valueName: "url"))
    var toDatabase: String

    @Option(
        name: .customLong("to-code-store"),
        help: ArgumentHelp(
            "Also copy the code into s3://BUCKET[/PREFIX] (keys and region from $RELCTL_S3_*); default: the code stays in the data directory.",
            valueName: "url"))
    var toCodeStore: String?

    @Option(help: "The S3 endpoint of --to-code-store (default: $RELCTL_S3_ENDPOINT, else AWS's).")
    var s3Endpoint: String?

    func run() async throws {
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
        if let toCodeStore {
            let location = try CodeStoreLocation.parse(
                codeStore: toCodeStore, s3Endpoint: s3Endpoint, environment: ProcessInfo.processInfo.environment)
            if case .s3(let settings) = location {
                let bucket = S3CodeStore(settings: settings)
                try await bucket.checkBucket()
                codeStore = bucket
            }
        }
        let target = try await PostgresStore.open(url, actor: "migrate-store")
        defer { target.close() }
        let report = try await StoreMigration(
            dataDirectory: global.resolvedDataDirectory, target: target, codeStore: codeStore
        ).run(progress: { Output.note($0) })
        render(report, target: url)
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

private struct MigrationJSON: Encodable {
    let Database: String
    let Tables: [String: Int]
    let CodeObjects: Int
    let CodeBytes: Int64
    let Uploaded: Int
    let CodeStore: String
    let CodeStaysInDataDirectory: Bool
}
