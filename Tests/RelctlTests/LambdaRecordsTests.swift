import Foundation
import RelctlCore
import RelctlPackages
import RelctlPostgres
import RelctlStorage
import RelctlStore
import Testing

/// The Lambda function/version/alias reads and writes of `RegistryRecords` (what `relctl serve`
/// answers from), with the same answers and AWS errors on SQLite and PostgreSQL.
@Suite struct LambdaRecordsTests {
    @Test(arguments: StoreEngine.allCases)
    func functionsVersionsAndAliasesAnswerAlikeOnBothEngines(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let latest = try await records.getFunction(FunctionReference(name: "orders"))
        #expect(latest.Version == "$LATEST")
        #expect(latest.FunctionArn == TestData.arnPrefix + "orders")
        let second = try await records.getFunction(FunctionReference(name: "orders", qualifier: .version(2)))
        #expect(second.Version == "2")
        #expect(second.FunctionArn == TestData.arnPrefix + "orders:2")
        let live = try await records.getFunction(FunctionReference(name: "orders", qualifier: .alias("live")))
        #expect(live.Version == "1")
        #expect(live.FunctionArn == TestData.arnPrefix + "orders:live")
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "orders:9")) {
            try await records.getFunction(FunctionReference(name: "orders", qualifier: .version(9)))
        }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.getFunction(FunctionReference(name: "missing"))
        }

        let first = try await records.versionPage(FunctionReference(name: "orders"), marker: nil, maxItems: 2)
        #expect(first.items.map(\.Version) == ["$LATEST", "1"])
        #expect(first.items.allSatisfy { $0.State == nil }, "list items leave the state fields out")
        let rest = try await records.versionPage(
            FunctionReference(name: "orders"), marker: first.nextMarker, maxItems: 2)
        #expect(rest.items.map(\.Version) == ["2", "3"])
        #expect(rest.nextMarker == nil)
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.versionPage(FunctionReference(name: "missing"), marker: nil, maxItems: nil)
        }
        #expect(try await records.functionPage(marker: nil, maxItems: nil).items.map(\.FunctionName) == ["orders"])

        _ = try await records.createAlias(
            function: "orders", name: "beta", functionVersion: "2", additionalVersionWeights: [:], description: "")
        let aliases = try await records.aliasPage(function: "orders", functionVersion: nil, marker: nil, maxItems: nil)
        #expect(aliases.items.map(\.Name) == ["beta", "live"])
        let onOne = try await records.aliasPage(function: "orders", functionVersion: "1", marker: nil, maxItems: nil)
        #expect(onOne.items.map(\.Name) == ["live"])
        let paged = try await records.aliasPage(function: "orders", functionVersion: nil, marker: nil, maxItems: 1)
        #expect(paged.items.map(\.Name) == ["beta"])
        #expect(paged.nextMarker == "beta")
        #expect(try await records.deleteAlias(function: "orders", name: "beta"))
        #expect(try await !records.deleteAlias(function: "orders", name: "beta"), "a missing alias is not an error")
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.deleteAlias(function: "missing", name: "beta")
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func publishChecksTheRevisionIdAndCodeSha256OfLatest(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let orders = FunctionReference(name: "orders")
        await #expect(throws: RelctlError.revisionMismatch) {
            try await records.publishVersion(
                orders, description: nil, expectedCodeSha256: nil, expectedRevisionId: "stale", settle: nil)
        }
        let error = await #expect(throws: RelctlError.self) {
            try await records.publishVersion(
                orders, description: nil, expectedCodeSha256: "AAAA", expectedRevisionId: nil, settle: nil)
        }
        #expect(error?.code == .invalidParameterValue)
        let latest = try await records.getFunction(orders)
        let again = try await records.publishVersion(
            orders, description: nil, expectedCodeSha256: latest.CodeSha256, expectedRevisionId: latest.RevisionId,
            settle: nil)
        #expect(again.Version == "3", "nothing changed since version 3")
        #expect(again.FunctionArn == TestData.arnPrefix + "orders:3")
    }

    /// The same registry on both engines gives the same configurations (times and RevisionIds aside).
    @Test func bothEnginesGiveTheSameConfigurations() async throws {
        let (sqlite, postgres) = (try await EngineFixture.make(.sqlite), try await EngineFixture.make(.postgres))
        func comparable(_ configuration: FunctionConfiguration) -> FunctionConfiguration {
            var configuration = configuration
            (configuration.LastModified, configuration.RevisionId) = ("", "")
            return configuration
        }
        for qualifier in [nil, Qualifier.latest, .version(1), .version(3), .alias("live")] {
            let reference = FunctionReference(name: "orders", qualifier: qualifier)
            #expect(
                comparable(try await sqlite.records.getFunction(reference))
                    == comparable(try await postgres.records.getFunction(reference)))
        }
        let lists = (
            try await sqlite.records.versionPage(FunctionReference(name: "orders"), marker: nil, maxItems: nil),
            try await postgres.records.versionPage(FunctionReference(name: "orders"), marker: nil, maxItems: nil)
        )
        #expect(lists.0.items.map(comparable) == lists.1.items.map(comparable))
    }

    /// Creators on two servers racing the quota: writers hold the store's one write lock, so each
    /// checks the usage its predecessors committed; exactly as many fit as the limit allows.
    @Test func concurrentCreatorsOnTwoServersNeverCrossTheQuota() async throws {
        let fixture = try await EngineFixture.make(.postgres)
        let other = try await fixture.openAnother()
        defer { other.close() }
        let cluster = try PostgresCluster.shared()
        let database = try #require(fixture.postgres).location.database
        let zip = try fixture.sandbox.code("quota").bytes
        let usage = Int64(try cluster.psql("SELECT sum(code_size) FROM versions", database: database)) ?? 0
        let limit = usage + 3 * Int64(zip.count) + Int64(zip.count) / 2
        _ = try cluster.psql("INSERT INTO settings (key, value) VALUES ('quota-limit', '\(limit)')", database: database)
        let outcomes = try await withThrowingTaskGroup(of: [Bool].self) { group in
            for (index, records) in [fixture.records, other.records].enumerated() {
                group.addTask {
                    var created: [Bool] = []
                    for round in 0..<4 {
                        do {
                            try await records.createFunction(
                                name: "q\(index)-\(round)", settings: TestData.settings, zip: zip)
                            created.append(true)
                        } catch let error as RelctlError where error == .codeStorageExceeded {
                            created.append(false)
                        }
                    }
                    return created
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(outcomes.filter { $0 }.count == 3)
        let after = Int64(try cluster.psql("SELECT sum(code_size) FROM versions", database: database)) ?? 0
        #expect(after <= limit)
    }

    /// On PostgreSQL the package goes to the code store, checked, before the row that names it commits.
    @Test func postgresRecordsWriteTheCodeObjectBeforeTheRow() async throws {
        let fixture = try await EngineFixture.make(.postgres)
        let blobs = fixture.sandbox.registry.blobs
        let records = PostgresRecords(store: try #require(fixture.postgres), code: blobs)
        let package = try fixture.sandbox.code("stored")
        #expect(try await blobs.size(of: package.sha256Hex) == nil)
        try await records.createFunction(name: "stored", settings: TestData.settings, zip: package.bytes)
        #expect(try await blobs.size(of: package.sha256Hex) == Int64(package.bytes.count))
        let configuration = try await records.getFunction(FunctionReference(name: "stored"))
        #expect(configuration.CodeSha256 == package.codeSha256)
        await #expect(throws: RelctlError.self, "a package that is not a zip stores nothing") {
            try await records.createFunction(name: "broken", settings: TestData.settings, zip: Data("not a zip".utf8))
        }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "broken")) {
            try await records.getFunction(FunctionReference(name: "broken"))
        }
    }
}
