// relctl-pg-bench: the PostgreSQL store beside SQLite, measured in the same run (issue 10's figures,
// the first of them). Needs a running PostgreSQL: `relctl-pg-bench SOCKET_PATH USER DATABASE`
// (an empty database; e.g. a cluster started as in Tests/RelctlTests/Support/PostgresCluster.swift).
import Foundation
import RelctlCore
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

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(
        Data("usage: relctl-pg-bench SOCKET_PATH USER DATABASE (an empty PostgreSQL database)\n".utf8))
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
postgres.close()

let baseline = percentile(sqliteSamples, 0.5)
print(
    "Alias update (UpdateAlias through RegistryRecords: one write transaction with its history, audit and event rows), \(count) samples"
)
print("   SQLite (baseline, synchronous=FULL)     p50 \(ms(baseline))  p99 \(ms(percentile(sqliteSamples, 0.99)))")
print(
    "   PostgreSQL 15 (unix socket)             p50 \(ms(percentile(postgresSamples, 0.5)))  p99 \(ms(percentile(postgresSamples, 0.99)))"
        + "  (\(String(format: "%.2f×", percentile(postgresSamples, 0.5) / baseline)) SQLite p50)")
