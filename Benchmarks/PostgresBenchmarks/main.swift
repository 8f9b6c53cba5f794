// relctl-pg-bench: the PostgreSQL store beside SQLite, measured in the same run (issue 10's figures:
// alias update, publish, cleanup plan at 100k versions, list at 1M versions, migrate-store). Needs a running
// PostgreSQL: `relctl-pg-bench SOCKET_PATH USER DATABASE`
// (an empty database; e.g. a cluster started as in Tests/RelctlTests/Support/PostgresCluster.swift).
// A second empty database as a fourth argument also measures `migrate-store` of the SQLite registry the
// run built into it, and back down into a new data directory. Sizes: RELCTL_PG_BENCH_VERSIONS versions of one
// function listed (default 1,000,000) and RELCTL_PG_BENCH_CLEANUP_VERSIONS versions in 100 functions planned by
// cleanup (default 100,000); set both to 10000 for a quick check that the run works.
import Foundation
import GRDB
import Logging
import PostgresNIO
import RelctlCore
import RelctlMigrate
import RelctlPackages
@_spi(Benchmarks) import RelctlPostgres
import RelctlStorage
@_spi(Benchmarks) import RelctlStore

func secondsAsync(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func percentile(_ samples: [Double], _ p: Double) -> Double {
    let sorted = samples.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func ms(_ value: Double) -> String { String(format: "%.3f ms", value * 1000) }

/// A function with two versions and an alias, then `count` alias updates (1 ↔ 2): their durations.
func aliasUpdates(_ records: any RegistryRecords, zip: Data, count: Int) async throws -> [Double] {
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    try await records.createFunction(name: "orders", settings: settings, zip: zip)
    _ = try await records.publishVersion(name: "orders", description: "one")
    _ = try await records.publishVersion(name: "orders", description: "two")  // unchanged: returns 1
    _ = try await records.createAlias(
        function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: [:], description: "")
    var samples: [Double] = []
    for index in 0..<count {
        samples.append(
            try await secondsAsync {
                _ = try await records.updateAlias(
                    function: "orders", name: "live", functionVersion: "1",
                    additionalVersionWeights: nil, description: "move \(index)",
                    expectedRevisionId: nil, cause: "UpdateAlias")
            })
    }
    return samples
}

/// `count` publishes of a changed `$LATEST` (UpdateFunctionCode, then PublishVersion): the publishes' durations.
func publishes(_ records: any RegistryRecords, zips: [Data], settings: FunctionSettings) async throws -> [Double] {
    try await records.createFunction(name: "publisher", settings: settings, zip: zips[0])
    var samples: [Double] = []
    for zip in zips.dropFirst() {
        try await records.updateFunctionCode(name: "publisher", zip: zip)
        samples.append(
            try await secondsAsync { _ = try await records.publishVersion(name: "publisher", description: nil) })
    }
    return samples
}

/// Every version of `function` through ListVersionsByFunction's code path (`relctl versions`, the API), in
/// pages of 10,000 as relctl-bench lists them on SQLite: how many were listed. One page is held at a time.
func listAllVersions(_ records: any RegistryRecords, function: String) async throws -> Int {
    var listed = 0
    var marker: String?
    repeat {
        let page = try await records.versionPage(FunctionReference(name: function), marker: marker, maxItems: 10_000)
        listed += page.items.count
        marker = page.nextMarker
    } while marker != nil
    return listed
}

/// 100 functions of `perFunction` versions each (`seed` publishes them in bulk), an alias on the middle version
/// of each, as relctl-bench's cleanup figure builds them.
func seedCleanupFleet(
    _ records: any RegistryRecords, zip: Data, perFunction: Int, seed: @Sendable (String, Date) async throws -> Void
) async throws {
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    for index in 0..<cleanupFunctions {
        let name = "fn\(index)"
        try await records.createFunction(name: name, settings: settings, zip: zip)
        try await seed(name, Date(timeIntervalSince1970: 1_700_000_000 + Double(index)))
        _ = try await records.createAlias(
            function: name, name: "live", functionVersion: "\(perFunction / 2)", additionalVersionWeights: [:],
            description: "")
    }
}

/// The columns a version listing reads (the API's own SELECT on PostgreSQL), for the raw scans.
let versionColumns = """
    function_name, version, code_sha256, code_size, runtime, handler, role, description, memory_size, timeout,
    architecture, last_modified, revision_id, environment, logging_config, ephemeral_storage_size, tracing_mode
    """

/// The raw baseline on SQLite: `sql`'s rows streamed through GRDB, every column decoded into a Swift value.
func sqliteScan(_ database: URL, _ sql: String) throws -> Int {
    var configuration = Configuration()
    configuration.readonly = true
    let queue = try DatabaseQueue(path: database.path, configuration: configuration)
    return try queue.read { db in
        var checksum = 0
        let rows = try Row.fetchCursor(db, sql: sql)
        while let row = try rows.next() {
            for value in row.databaseValues {
                switch value.storage {
                case .int64(let number): checksum &+= Int(number)
                case .string(let text): checksum &+= text.utf8.count
                case .double(let number): checksum &+= Int(number)
                case .blob(let bytes): checksum &+= bytes.count
                case .null: break
                }
            }
        }
        return checksum
    }
}

/// The raw baseline on PostgreSQL: `sql`'s rows streamed through one postgres-nio connection, every column
/// decoded into a Swift value.
func postgresScan(_ connection: PostgresConnection, _ sql: String) async throws -> Int {
    var checksum = 0
    for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger) {
        for cell in row where cell.bytes != nil {
            switch cell.dataType {
            case .int2, .int4, .int8: checksum &+= try cell.decode(Int.self)
            case .bool: checksum &+= try cell.decode(Bool.self) ? 1 : 0
            default: checksum &+= try cell.decode(String.self).utf8.count
            }
        }
    }
    return checksum
}

var quietLogger: Logger {
    var logger = Logger(label: "relctl-pg-bench")
    logger.logLevel = .critical
    return logger
}

func size(_ name: String, default value: Int) -> Int {
    guard let text = ProcessInfo.processInfo.environment[name] else { return value }
    guard let number = Int(text), number >= 200 else {
        FileHandle.standardError.write(
            Data("error: \(name) must be a whole number of at least 200, not '\(text)'\n".utf8))
        exit(2)
    }
    return number
}

let cleanupFunctions = 100
let listedVersions = size("RELCTL_PG_BENCH_VERSIONS", default: 1_000_000)
let cleanupPerFunction = size("RELCTL_PG_BENCH_CLEANUP_VERSIONS", default: 100_000) / cleanupFunctions

let arguments = CommandLine.arguments
guard arguments.count == 4 || arguments.count == 5 else {
    FileHandle.standardError.write(
        Data(
            "usage: relctl-pg-bench SOCKET_PATH USER DATABASE [MIGRATE_DATABASE] (empty PostgreSQL databases)\n".utf8))
    exit(2)
}
let zipFolder = FileManager.default.temporaryDirectory.appendingPathComponent(
    "relctl-pg-bench-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: zipFolder.appendingPathComponent("src"), withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: zipFolder) }
try Data("#!/bin/sh\necho bench\n".utf8).write(to: zipFolder.appendingPathComponent("src/bootstrap"))
let zip = try PackageBuilder.zip(directory: zipFolder.appendingPathComponent("src"))

let count = 2000
let sqlite = try Registry(dataDirectory: zipFolder.appendingPathComponent("data"), actor: "bench")
let sqliteSamples = try await aliasUpdates(sqlite, zip: zip, count: count)
let location = PostgresStore.Location(
    endpoint: .unixSocket(path: arguments[1]), username: arguments[2], database: arguments[3])
let postgres = try await PostgresStore.open(location, actor: "bench")
let raw = try await PostgresConnection.connect(
    configuration: PostgresConnection.Configuration(
        unixSocketPath: arguments[1], username: arguments[2], password: nil, database: arguments[3]),
    id: 1, logger: quietLogger)

// Cleanup plan: first, so that the database's versions are the fleet's alone, as in the SQLite registry beside it
// (the planner reads every version of every function).
let cleanupRegistry = try Registry(dataDirectory: zipFolder.appendingPathComponent("cleanup"), actor: "bench")
let sqliteFleetSeed = try await secondsAsync {
    try await seedCleanupFleet(cleanupRegistry, zip: zip, perFunction: cleanupPerFunction) {
        [cleanupRegistry, cleanupPerFunction] name, created in
        try cleanupRegistry.seedPublishedVersions(function: name, count: cleanupPerFunction, firstCreated: created)
    }
}
let postgresFleetSeed = try await secondsAsync {
    try await seedCleanupFleet(postgres, zip: zip, perFunction: cleanupPerFunction) {
        [postgres, cleanupPerFunction] name, created in
        try await postgres.seedPublishedVersions(function: name, count: cleanupPerFunction, firstCreated: created)
    }
}
// What autovacuum does after a bulk load (statistics, visibility map), so no plan is measured against a table
// nobody has looked at yet.
_ = try await raw.query("VACUUM (ANALYZE) versions", logger: quietLogger).collect()
let cleanupScanSQL = "SELECT function_name, version, code_size, last_modified FROM versions"
let cleanupDatabase = cleanupRegistry.dataDirectory.appendingPathComponent("registry.sqlite")
let sqliteCleanupScan = try (0..<5).map { _ in try seconds { _ = try sqliteScan(cleanupDatabase, cleanupScanSQL) } }
var postgresCleanupScan: [Double] = []
for _ in 0..<5 {
    postgresCleanupScan.append(try await secondsAsync { _ = try await postgresScan(raw, cleanupScanSQL) })
}
var sqlitePlan: CleanupPlan?
let sqliteCleanup = try (0..<3).map { _ in
    try seconds { sqlitePlan = try cleanupRegistry.cleanup(CleanupRequest(keep: 10), dryRun: true) }
}
var postgresPlan: CleanupPlan?
var postgresCleanup: [Double] = []
for _ in 0..<3 {
    postgresCleanup.append(
        try await secondsAsync { postgresPlan = try await postgres.cleanup(CleanupRequest(keep: 10), dryRun: true) })
}
precondition(sqlitePlan?.Deletions.count == postgresPlan?.Deletions.count, "the engines planned different cleanups")

let postgresSamples = try await aliasUpdates(postgres, zip: zip, count: count)

// Publishes: each of a new package (the code's hash changes), so every one freezes a new version.
let publishCount = 500
let publishZips = try (0...publishCount).map { index in
    try Data("#!/bin/sh\necho bench \(index)\n".utf8).write(to: zipFolder.appendingPathComponent("src/bootstrap"))
    return try PackageBuilder.zip(directory: zipFolder.appendingPathComponent("src"))
}
let publishSettings = FunctionSettings(
    runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
let sqlitePublishes = try await publishes(sqlite, zips: publishZips, settings: publishSettings)
let postgresPublishes = try await publishes(postgres, zips: publishZips, settings: publishSettings)

// List at 1M versions: one function, each engine's version listing beside a raw scan of the same columns.
let listRegistry = try Registry(dataDirectory: zipFolder.appendingPathComponent("million"), actor: "bench")
try await listRegistry.createFunction(name: "big", settings: publishSettings, zip: zip)
let sqliteListSeed = try seconds {
    try listRegistry.seedPublishedVersions(
        function: "big", count: listedVersions, firstCreated: Date(timeIntervalSince1970: 1_700_000_000))
}
try await postgres.createFunction(name: "big", settings: publishSettings, zip: zip)
let postgresListSeed = try await secondsAsync {
    try await postgres.seedPublishedVersions(
        function: "big", count: listedVersions, firstCreated: Date(timeIntervalSince1970: 1_700_000_000))
}
_ = try await raw.query("VACUUM (ANALYZE) versions", logger: quietLogger).collect()
let listScanSQL = "SELECT \(versionColumns) FROM versions WHERE function_name = 'big' ORDER BY version"
let listDatabase = listRegistry.dataDirectory.appendingPathComponent("registry.sqlite")
var (sqliteListed, postgresListed) = (0, 0)
var (sqliteList, postgresList, sqliteListScan, postgresListScan) = ([Double](), [Double](), [Double](), [Double]())
for _ in 0..<3 {
    sqliteListScan.append(try seconds { _ = try sqliteScan(listDatabase, listScanSQL) })
    sqliteList.append(
        try await secondsAsync { sqliteListed = try await listAllVersions(listRegistry, function: "big") })
    postgresListScan.append(try await secondsAsync { _ = try await postgresScan(raw, listScanSQL) })
    postgresList.append(
        try await secondsAsync { postgresListed = try await listAllVersions(postgres, function: "big") })
}
precondition(sqliteListed == listedVersions + 1 && postgresListed == sqliteListed, "a listing missed versions")
func firstAndLastPages(_ records: any RegistryRecords) async throws -> (first: [Double], last: [Double]) {
    var first: [Double] = []
    var last: [Double] = []
    for _ in 0..<50 {
        first.append(
            try await secondsAsync {
                _ = try await records.versionPage(FunctionReference(name: "big"), marker: nil, maxItems: 50)
            })
        last.append(
            try await secondsAsync {
                _ = try await records.versionPage(
                    FunctionReference(name: "big"), marker: String(listedVersions - 50), maxItems: 50)
            })
    }
    return (first, last)
}
let sqlitePages = try await firstAndLastPages(listRegistry)
let postgresPages = try await firstAndLastPages(postgres)
try await raw.close().get()
postgres.close()

let baseline = percentile(sqliteSamples, 0.5)
print(
    "Alias update (UpdateAlias through RegistryRecords: one write transaction with its history, audit and event rows), \(count) samples"
)
print("   SQLite (baseline, synchronous=FULL)     p50 \(ms(baseline))  p99 \(ms(percentile(sqliteSamples, 0.99)))")
print(
    "   PostgreSQL 15 (unix socket)             p50 \(ms(percentile(postgresSamples, 0.5)))  p99 \(ms(percentile(postgresSamples, 0.99)))"
        + "  (\(String(format: "%.2f×", percentile(postgresSamples, 0.5) / baseline)) SQLite p50)")

let publishBaseline = percentile(sqlitePublishes, 0.5)
print("Publish (PublishVersion of a changed $LATEST through RegistryRecords), \(publishCount) samples")
print(
    "   SQLite (baseline, synchronous=FULL)     p50 \(ms(publishBaseline))  p99 \(ms(percentile(sqlitePublishes, 0.99)))"
)
print(
    "   PostgreSQL 15 (unix socket)             p50 \(ms(percentile(postgresPublishes, 0.5)))  p99 \(ms(percentile(postgresPublishes, 0.99)))"
        + "  (\(String(format: "%.2f×", percentile(postgresPublishes, 0.5) / publishBaseline)) SQLite p50)")
func ratio(_ value: Double, _ baseline: Double) -> String { String(format: "%.2f×", value / baseline) }
func inSeconds(_ value: Double) -> String { String(format: "%.2f s", value) }
let fleet = cleanupFunctions * cleanupPerFunction
print(
    "Cleanup plan (cleanup --keep 10 --dry-run) at \(fleet) versions in \(cleanupFunctions) functions, an alias each (seeded in \(inSeconds(sqliteFleetSeed)) on SQLite, \(inSeconds(postgresFleetSeed)) on PostgreSQL); p50 of 5 scans, 3 plans"
)
print("   SQLite     raw scan of the versions table (baseline)  \(ms(percentile(sqliteCleanupScan, 0.5)))")
print(
    "              cleanup plan                               \(ms(percentile(sqliteCleanup, 0.5)))  (\(ratio(percentile(sqliteCleanup, 0.5), percentile(sqliteCleanupScan, 0.5))) its raw scan; plans \(sqlitePlan?.Deletions.count ?? 0) deletions)"
)
print("   PostgreSQL raw scan of the versions table (baseline)  \(ms(percentile(postgresCleanupScan, 0.5)))")
print(
    "              cleanup plan                               \(ms(percentile(postgresCleanup, 0.5)))  (\(ratio(percentile(postgresCleanup, 0.5), percentile(postgresCleanupScan, 0.5))) its raw scan; \(ratio(percentile(postgresCleanup, 0.5), percentile(sqliteCleanup, 0.5))) SQLite's plan; plans \(postgresPlan?.Deletions.count ?? 0) deletions)"
)
print(
    "List all \(listedVersions + 1) versions of one function (ListVersionsByFunction / relctl versions, pages of 10,000; seeded in \(inSeconds(sqliteListSeed)) on SQLite, \(inSeconds(postgresListSeed)) on PostgreSQL); p50 of 3"
)
print("   SQLite     raw scan of the same columns (baseline)  \(inSeconds(percentile(sqliteListScan, 0.5)))")
print(
    "              versions, all \(sqliteListed)                \(inSeconds(percentile(sqliteList, 0.5)))  (\(ratio(percentile(sqliteList, 0.5), percentile(sqliteListScan, 0.5))) its raw scan)"
)
print(
    "              first page of 50 p50 \(ms(percentile(sqlitePages.first, 0.5))), last page of 50 (marker) p50 \(ms(percentile(sqlitePages.last, 0.5)))"
)
print("   PostgreSQL raw scan of the same columns (baseline)  \(inSeconds(percentile(postgresListScan, 0.5)))")
print(
    "              versions, all \(postgresListed)                \(inSeconds(percentile(postgresList, 0.5)))  (\(ratio(percentile(postgresList, 0.5), percentile(postgresListScan, 0.5))) its raw scan; \(ratio(percentile(postgresList, 0.5), percentile(sqliteList, 0.5))) SQLite's listing)"
)
print(
    "              first page of 50 p50 \(ms(percentile(postgresPages.first, 0.5))), last page of 50 (marker) p50 \(ms(percentile(postgresPages.last, 0.5)))"
)

if arguments.count == 5 {
    // migrate-store of this run's SQLite registry into the second database, beside a plain copy of its file.
    let copy = zipFolder.appendingPathComponent("registry-copy.sqlite")
    let fileCopy = try await secondsAsync {
        try FileManager.default.copyItem(at: sqlite.dataDirectory.appendingPathComponent("registry.sqlite"), to: copy)
    }
    let target = try await PostgresStore.open(
        PostgresStore.Location(
            endpoint: .unixSocket(path: arguments[1]), username: arguments[2], database: arguments[4]),
        actor: "bench")
    var report: StoreMigrationReport?
    let migration = try await secondsAsync {
        report = try await StoreMigration(dataDirectory: sqlite.dataDirectory, target: target, codeStore: nil).run()
    }
    target.close()
    // And back down (`--from-database … --to-data-dir`): that database into a new data directory, the code read
    // from this run's data directory, where the upward copy left it.
    let source = try await PostgresStore.open(
        PostgresStore.Location(
            endpoint: .unixSocket(path: arguments[1]), username: arguments[2], database: arguments[4]),
        actor: "bench", applyingMigrations: false)
    var downReport: StoreMigrationReport?
    let down = try await secondsAsync {
        downReport = try await DataDirectoryMigration(
            source: source, codeStore: BlobStore(root: sqlite.dataDirectory.appendingPathComponent("blobs/sha256")),
            target: zipFolder.appendingPathComponent("down")
        ).run()
    }
    source.close()
    func migrated(_ report: StoreMigrationReport?, _ duration: Double) -> String {
        let rows = report?.tables.reduce(0) { $0 + $1.rows } ?? 0
        return
            "   \(rows) rows in \(report?.tables.count ?? 0) tables, \(report?.blobs ?? 0) code objects: \(String(format: "%.2f s", duration))"
            + " (\(String(format: "%.0f", Double(rows) / duration)) rows/s; \(String(format: "%.0f×", duration / fileCopy)) a plain copy of registry.sqlite)"
    }
    print("migrate-store (this run's SQLite registry → PostgreSQL, code left in the data directory and checked)")
    print(migrated(report, migration))
    print(
        "migrate-store --from-database (that database → a new data directory, every code object copied and re-hashed)")
    print(migrated(downReport, down))
}
