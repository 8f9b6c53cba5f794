// relctl-pg-bench: the PostgreSQL store beside SQLite, measured in the same run (issue 10's figures,
// the first of them). Needs a running PostgreSQL: `relctl-pg-bench SOCKET_PATH USER DATABASE`
// (an empty database; e.g. a cluster started as in Tests/RelctlTests/Support/PostgresCluster.swift).
// A second empty database as a fourth argument also measures `migrate-store` of the SQLite registry the
// run built into it.
import Foundation
import RelctlCore
import RelctlMigrate
import RelctlPackages
import RelctlPostgres
import RelctlStorage
import RelctlStore

func secondsAsync(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
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
print(
    "List at 1M versions and cleanup plan at 100k: not measured on PostgreSQL — RegistryRecords offers neither a version listing nor a cleanup plan yet (relctl-bench measures them on SQLite)."
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
    let rows = report?.tables.reduce(0) { $0 + $1.rows } ?? 0
    print("migrate-store (this run's SQLite registry → PostgreSQL, code left in the data directory and checked)")
    print(
        "   \(rows) rows in \(report?.tables.count ?? 0) tables, \(report?.blobs ?? 0) code objects: \(String(format: "%.2f s", migration))"
            + " (\(String(format: "%.0f", Double(rows) / migration)) rows/s; \(String(format: "%.0f×", migration / fileCopy)) a plain copy of registry.sqlite)"
    )
}
