import Foundation
import RelctlCore
import RelctlMigrate
import RelctlPostgres
import RelctlRollout
import RelctlS3
import RelctlStorage
import RelctlStore
import Testing

/// `relctl migrate-store` as a library (issue 10 §4): a real SQLite registry with every kind of record,
/// copied into a real PostgreSQL database (`PostgresCluster`) and a real bucket (moto_server), then
/// read back through `PostgresStore`.
@Suite("migrate-store: SQLite registry → PostgreSQL + bucket", .serialized)
struct StoreMigrationTests {
    /// The engine fixture's registry (orders 1–3, alias live) plus: a finished canary deployment with
    /// its events and alias moves, an alias with weights, an alarm, metric samples, a layer.
    static func populatedRegistry() async throws -> (fixture: EngineFixture, deploymentId: String) {
        let fixture = try await EngineFixture.make(.sqlite)
        let registry = fixture.sandbox.registry
        _ = try await fixture.records.createAlias(
            function: "orders", name: "beta", functionVersion: "2", additionalVersionWeights: ["3": 0.25],
            description: "weighted")
        _ = try await fixture.records.updateAlias(
            function: "orders", name: "beta", functionVersion: "2", additionalVersionWeights: ["3": 0.5],
            description: "weighted more", expectedRevisionId: nil, cause: "UpdateAlias")
        try await fixture.errorsAlarm()
        let deployment = try await fixture.deploy("Canary10Percent5Minutes", alarms: ["orders-errors"])
        for _ in 0..<5 {
            if try await fixture.deployment(deployment.id).status != .inProgress { break }
            fixture.clock.advance(360)
            _ = try await fixture.engine.tick()
        }
        #expect(try await fixture.deployment(deployment.id).status == .succeeded)
        try await fixture.engine.putMetricData(
            (0..<3).map { index in
                MetricDatapoint(
                    functionName: "orders", executedVersion: "2", metric: "Duration", value: Double(10 + index),
                    timestamp: fixture.clock.now())
            })
        _ = try registry.publishLayerVersion(
            name: "shared", code: try fixture.sandbox.code("layer", noise: 3000), description: "a layer")
        return (fixture, deployment.id)
    }

    static func fileBytes(_ dataDirectory: URL) throws -> [Data?] {
        ["registry.sqlite", "registry.sqlite-wal"].map {
            try? Data(contentsOf: dataDirectory.appendingPathComponent($0))
        }
    }

    @Test func everyRecordAndObjectIsCopiedVerifiedAndTheSourceIsUnchanged() async throws {
        let (fixture, deploymentId) = try await Self.populatedRegistry()
        let source = fixture.records
        let dataDirectory = fixture.sandbox.dataDirectory
        let before = try Self.fileBytes(dataDirectory)
        let moto = try MotoServer()
        let bucket = S3CodeStore(settings: moto.settings())
        try await bucket.createBucket()
        let target = try await PostgresStore.open(try PostgresCluster.database(), actor: "test")
        defer { target.close() }

        let report = try await StoreMigration(dataDirectory: dataDirectory, target: target, codeStore: bucket).run()

        // Counts: every table, the same on both sides (the migration checked them; the test reads them again).
        let counts = try await target.rowCounts(RegistryTable.all.map(\.name))
        for entry in report.tables { #expect(counts[entry.table] == entry.rows, "\(entry.table)") }
        let rows = Dictionary(uniqueKeysWithValues: report.tables.map { ($0.table, $0.rows) })
        #expect(rows["functions"] == 1)
        #expect(rows["versions"] == 4)
        #expect(rows["aliases"] == 2)
        #expect(rows["layer_versions"] == 1)
        #expect(rows["deployments"] == 1)
        #expect(rows["alarms"] == 1)
        #expect((rows["metric_datapoints"] ?? 0) >= 3)
        #expect((rows["deployment_events"] ?? 0) > 0)
        #expect((rows["events"] ?? 0) > 0)
        #expect((rows["audit"] ?? 0) > 0)

        // Content, through the PostgreSQL store's own reads: equal to the SQLite registry's.
        for alias in ["live", "beta"] {
            #expect(
                try await target.getAlias(function: "orders", name: alias)
                    == (try await source.getAlias(function: "orders", name: alias)))
            #expect(
                try await target.aliasMoves(function: "orders", alias: alias, limit: 100)
                    == (try await source.aliasMoves(function: "orders", alias: alias, limit: 100)))
        }
        #expect(
            try await target.getAlias(function: "orders", name: "beta").RoutingConfig?.AdditionalVersionWeights == [
                "3": 0.5
            ])
        #expect(try await target.deployment(id: deploymentId) == (try await source.deployment(id: deploymentId)))
        #expect(try await target.deployment(id: deploymentId).status == .succeeded)
        let events = try await target.deploymentEvents(id: deploymentId, after: 0)
        #expect(!events.isEmpty)
        #expect(events == (try await source.deploymentEvents(id: deploymentId, after: 0)))

        // Ids move on from the copied ones: the next alias move on PostgreSQL gets a new, higher id.
        let lastMove = try #require(try await target.aliasMoves(function: "orders", alias: "beta", limit: 1).first)
        _ = try await target.updateAlias(
            function: "orders", name: "beta", functionVersion: "2", additionalVersionWeights: nil, description: "",
            expectedRevisionId: nil, cause: "UpdateAlias")
        #expect(try await target.aliasMoves(function: "orders", alias: "beta", limit: 1).first!.id > lastMove.id)

        // Code: every object the rows name is in the bucket with its bytes; the layer's among them.
        let referenced = try await target.referencedCode()
        #expect(report.blobs == referenced.count)
        #expect(report.uploaded == referenced.count)
        #expect(!report.codeStaysInDataDirectory)
        for (hash, size) in referenced {
            let data = try await bucket.get(hash)
            #expect(Int64(data.count) == size)
            #expect(data == (try fixture.sandbox.registry.blobs.read(hash)))
        }
        let layerHash = try PostgresCluster.shared().psql(
            "SELECT code_sha256 FROM layer_versions WHERE layer_name = 'shared'", database: target.location.database)
        #expect(referenced[layerHash] != nil)

        // The source: byte for byte what it was.
        #expect(try Self.fileBytes(dataDirectory) == before)

        // A second run into the same (now filled) database is refused, and writes nothing.
        do {
            _ = try await StoreMigration(dataDirectory: dataDirectory, target: target, codeStore: bucket).run()
            Issue.record("a second migration into a filled database ran")
        } catch {
            #expect(error.code == .resourceConflict)
            #expect(error.message.contains("is not empty"), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
        #expect(
            try await target.rowCounts(["functions", "alias_moves"])["alias_moves"] == (counts["alias_moves"] ?? 0) + 1)
    }

    @Test func withoutACodeStoreTheCodeStaysInTheDataDirectoryAndIsChecked() async throws {
        let (fixture, _) = try await Self.populatedRegistry()
        let target = try await PostgresStore.open(try PostgresCluster.database(), actor: "test")
        defer { target.close() }
        let report = try await StoreMigration(
            dataDirectory: fixture.sandbox.dataDirectory, target: target, codeStore: nil
        ).run()
        #expect(report.codeStaysInDataDirectory)
        #expect(report.uploaded == 0)
        #expect(report.blobs == (try await target.referencedCode()).count)
        #expect(report.codeLocation == fixture.sandbox.registry.blobs.root.path)
    }

    /// A blob missing from the data directory: nothing goes into the database.
    @Test func aMissingCodeObjectStopsTheMigrationBeforeAnyRow() async throws {
        let (fixture, _) = try await Self.populatedRegistry()
        let moto = try MotoServer()
        let bucket = S3CodeStore(settings: moto.settings())
        try await bucket.createBucket()
        let registry = fixture.sandbox.registry
        let blobFiles = registry.blobs.files().filter(\.isBlob)
        let hash = try #require(blobFiles.first).name
        try FileManager.default.removeItem(at: registry.blobs.url(for: hash))
        let target = try await PostgresStore.open(try PostgresCluster.database(), actor: "test")
        defer { target.close() }
        do {
            _ = try await StoreMigration(
                dataDirectory: fixture.sandbox.dataDirectory, target: target, codeStore: bucket
            ).run()
            Issue.record("migrated with a code object missing")
        } catch {
            #expect(error.code == .resourceNotFound)
            #expect(error.message.contains(hash), "\(error.message)")
        }
        #expect(try await target.rowCounts(["functions"])["functions"] == 0)
    }

    @Test func aDataDirectoryWithoutARegistryIsOneClearError() async throws {
        let target = try await PostgresStore.open(try PostgresCluster.database(), actor: "test")
        defer { target.close() }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("relctl-none-\(UUID().uuidString)")
        do {
            _ = try await StoreMigration(dataDirectory: empty, target: target, codeStore: nil).run()
            Issue.record("migrated from nothing")
        } catch {
            #expect(error.code == .resourceNotFound)
            #expect(error.message.contains("registry.sqlite is missing"), "\(error.message)")
        }
    }
}
