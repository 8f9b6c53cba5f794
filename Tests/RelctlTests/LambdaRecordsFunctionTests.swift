import Foundation
import RelctlCore
import RelctlPackages
import RelctlPostgres
import RelctlRollout
import RelctlStorage
import RelctlStore
import Testing

/// Issue 10 §1, §3: DeleteFunction, GetAccountSettings and the quota, UpdateFunctionConfiguration,
/// tags, history and the deployment list through `RegistryRecords`, with the same answers and AWS
/// errors on SQLite and PostgreSQL.
extension LambdaRecordsTests {
    @Test(arguments: StoreEngine.allCases)
    func deleteFunctionRefusesReferencedVersionsAndUsageFollowsTheRows(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        func usage() async throws -> Int64 { try await records.accountSettings().AccountUsage.TotalCodeSize }
        func codeSizes() async throws -> Int64 {
            try await records.versionPage(FunctionReference(name: "orders"), marker: nil, maxItems: nil).items
                .reduce(0) { $0 + $1.CodeSize }
        }
        #expect(try await usage() == (try await codeSizes()), "usage is the code sizes of $LATEST and every version")

        await #expect(
            throws: RelctlError(
                .resourceConflict, "Unable to delete version because the following aliases reference it: [live]")
        ) { try await records.deleteFunction(FunctionReference(name: "orders", qualifier: .version(1))) }
        await #expect(
            throws: RelctlError(
                .invalidParameterValue, "$LATEST version cannot be deleted without deleting the function.")
        ) { try await records.deleteFunction(FunctionReference(name: "orders", qualifier: .latest)) }
        await #expect(throws: RelctlError(.invalidParameterValue, "Deletion of aliases is not currently supported.")) {
            try await records.deleteFunction(FunctionReference(name: "orders", qualifier: .alias("live")))
        }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.deleteFunction(FunctionReference(name: "missing", qualifier: .version(1)))
        }
        #expect(try await records.deleteFunction(FunctionReference(name: "orders", qualifier: .version(9))) == .nothing)

        // A version an active deployment will shift to cannot go, nor can its function (its pre-traffic
        // hook holds the alias where it is, so only the deployment references version 3).
        let deployment = try await fixture.deploy("Canary10Percent5Minutes", to: "3", pre: "exec:true")
        await #expect(
            throws: RelctlError(
                .resourceConflict,
                "Unable to delete version because an active deployment references it: deployment \(deployment.id); stop it or let it finish first."
            )
        ) { try await records.deleteFunction(FunctionReference(name: "orders", qualifier: .version(3))) }
        await #expect(
            throws: RelctlError(
                .resourceConflict,
                "Function orders has an active deployment (\(deployment.id)); stop it or let it finish before deleting the function."
            )
        ) { try await records.deleteFunction(FunctionReference(name: "orders")) }
        _ = try await fixture.engine.stop(id: deployment.id, rollback: true)

        let second = try await records.getFunction(FunctionReference(name: "orders", qualifier: .version(2)))
        let before = try await usage()
        #expect(
            try await records.deleteFunction(FunctionReference(name: "orders", qualifier: .version(2))) == .version(2))
        #expect(try await usage() == before - second.CodeSize)
        #expect(try await usage() == (try await codeSizes()))
        let left = try await records.versionPage(FunctionReference(name: "orders"), marker: nil, maxItems: nil)
        #expect(left.items.map(\.Version) == ["$LATEST", "1", "3"])
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "orders:2")) {
            try await records.getFunction(FunctionReference(name: "orders", qualifier: .version(2)))
        }
        try await records.updateFunctionCode(name: "orders", zip: try fixture.sandbox.code("v4").bytes)
        #expect(try await records.publishVersion(name: "orders", description: nil) == 4, "numbers are never reused")

        try await records.tagFunction("orders", ["team": "payments"])
        #expect(
            try await records.deleteFunction(FunctionReference(name: "orders")) == .function(versions: 3, aliases: 1))
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "orders")) {
            try await records.getFunction(FunctionReference(name: "orders"))
        }
        let settings = try await records.accountSettings()
        #expect(settings.AccountUsage == AccountSettings.Usage(TotalCodeSize: 0, FunctionCount: 0))
        // The name is free again, with nothing of the old function (tags, versions) left behind.
        try await fixture.createFunction("orders", marker: "again")
        #expect(try await records.tags(of: "orders") == [:])
        let fresh = try await records.versionPage(FunctionReference(name: "orders"), marker: nil, maxItems: nil)
        #expect(fresh.items.map(\.Version) == ["$LATEST"])
    }

    @Test(arguments: StoreEngine.allCases)
    func theQuotaLimitIsSetAndEnforcedThroughTheRecords(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let report = try await records.quotaReport(top: 10)
        #expect(report.AccountLimit.TotalCodeSize == Limits.defaultTotalCodeSize)
        #expect(report.AccountUsage.FunctionCount == 1)
        #expect(report.TopConsumers.map(\.Name) == ["orders"])
        #expect(report.TopConsumers.first?.Versions == 3)
        #expect(report.TopConsumers.first?.CodeSize == report.AccountUsage.TotalCodeSize)
        #expect(report.StoredBytes <= report.AccountUsage.TotalCodeSize, "one copy per content hash")
        await #expect(throws: RelctlError(.invalidParameterValue, "The code storage limit must be more than 0 bytes."))
        {
            try await records.setQuota(0)
        }
        try await records.setQuota(report.AccountUsage.TotalCodeSize + 1)
        #expect(try await records.accountSettings().AccountLimit.TotalCodeSize == report.AccountUsage.TotalCodeSize + 1)
        await #expect(throws: RelctlError.codeStorageExceeded) { try await fixture.createFunction("more", marker: "x") }
        #expect(try await records.accountSettings().AccountUsage.FunctionCount == 1, "a refused create writes nothing")
    }

    @Test(arguments: StoreEngine.allCases)
    func updateFunctionConfigurationChangesOnlyTheFieldsSetAndChecksTheRevisionId(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let orders = FunctionReference(name: "orders")
        let before = try await records.getFunction(orders)
        await #expect(throws: RelctlError.revisionMismatch) {
            try await records.updateFunctionConfiguration(
                orders, ConfigurationUpdate(memorySize: 256), expectedRevisionId: "stale", settle: nil)
        }
        let qualified = await #expect(throws: RelctlError.self) {
            try await records.updateFunctionConfiguration(
                FunctionReference(name: "orders", qualifier: .version(1)), ConfigurationUpdate(memorySize: 256),
                expectedRevisionId: nil, settle: nil)
        }
        #expect(qualified?.code == .invalidParameterValue)
        let invalid = await #expect(throws: RelctlError.self) {
            try await records.updateFunctionConfiguration(
                orders, ConfigurationUpdate(timeout: 901), expectedRevisionId: nil, settle: nil)
        }
        #expect(invalid?.code == .validation)
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.updateFunctionConfiguration(
                FunctionReference(name: "missing"), ConfigurationUpdate(timeout: 5), expectedRevisionId: nil,
                settle: nil)
        }

        var update = ConfigurationUpdate(
            handler: "main.handler", description: "orders API", memorySize: 512, timeout: 30,
            environment: ["STAGE": "prod", "LOG": "debug"])
        update.tracingMode = "Active"
        update.ephemeralStorageSize = 1024
        let after = try await records.updateFunctionConfiguration(
            orders, update, expectedRevisionId: before.RevisionId, settle: nil)
        #expect(after.Handler == "main.handler")
        #expect(after.Description == "orders API")
        #expect(after.MemorySize == 512)
        #expect(after.Timeout == 30)
        #expect(after.Environment == EnvironmentResponse(Variables: ["STAGE": "prod", "LOG": "debug"]))
        #expect(after.TracingConfig == TracingConfig(Mode: "Active"))
        #expect(after.EphemeralStorage == EphemeralStorage(Size: 1024))
        #expect(after.Runtime == before.Runtime, "a field not set stays as it was")
        #expect(after.CodeSha256 == before.CodeSha256)
        #expect(after.RevisionId != before.RevisionId)
        #expect(try await records.getFunction(orders) == after)

        // The change is published: the new version carries it, the earlier ones keep theirs.
        #expect(try await records.publishVersion(name: "orders", description: nil) == 4)
        let fourth = try await records.getFunction(FunctionReference(name: "orders", qualifier: .version(4)))
        #expect(fourth.Environment == after.Environment)
        #expect(fourth.MemorySize == 512)
        let first = try await records.getFunction(FunctionReference(name: "orders", qualifier: .version(1)))
        #expect(first.Environment == nil)
        #expect(first.MemorySize == before.MemorySize)

        let cleared = try await records.updateFunctionConfiguration(
            orders, ConfigurationUpdate(environment: [:]), expectedRevisionId: nil, settle: nil)
        #expect(cleared.Environment == nil)
        #expect(cleared.MemorySize == 512)
        let history = try await records.history(function: "orders", alias: nil, limit: 2)
        #expect(history.map(\.Action) == ["UpdateFunctionConfiguration", "PublishVersion"])
    }

    @Test(arguments: StoreEngine.allCases)
    func tagsAreAddedReplacedAndRemovedWithAWSLimits(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        #expect(try await records.tags(of: "orders") == [:])
        try await records.tagFunction("orders", ["team": "payments", "tier": "1"])
        try await records.tagFunction("orders", ["tier": "2", "owner": "ana"])
        #expect(try await records.tags(of: "orders") == ["team": "payments", "tier": "2", "owner": "ana"])
        try await records.untagFunction("orders", keys: ["tier", "absent"])
        #expect(try await records.tags(of: "orders") == ["team": "payments", "owner": "ana"])

        let many = Dictionary(uniqueKeysWithValues: (0..<49).map { ("k\($0)", "v") })
        await #expect(throws: FunctionTags.tooMany, "49 new keys beside the 2 there make 51") {
            try await records.tagFunction("orders", many)
        }
        let long = await #expect(throws: RelctlError.self) {
            try await records.tagFunction("orders", [String(repeating: "k", count: 129): "v"])
        }
        #expect(long?.code == .validation)
        #expect(try await records.tags(of: "orders") == ["team": "payments", "owner": "ana"], "refusals write nothing")
        let missing = RelctlError.functionNotFound(TestData.arnPrefix + "missing")
        await #expect(throws: missing) { try await records.tags(of: "missing") }
        await #expect(throws: missing) { try await records.tagFunction("missing", ["a": "b"]) }
        await #expect(throws: missing) { try await records.untagFunction("missing", keys: ["a"]) }
        let audit = try await records.history(function: "orders", alias: nil, limit: 3).map(\.Action)
        #expect(audit == ["UntagResource", "TagResource", "TagResource"])
    }

    @Test(arguments: StoreEngine.allCases)
    func historyAndDeploymentListsAnswerAlikeOnBothEngines(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        _ = try await records.updateAlias(
            function: "orders", name: "live", functionVersion: "2", additionalVersionWeights: ["3": 0.1],
            description: nil, expectedRevisionId: nil, cause: "UpdateAlias")
        let moves = try await records.history(function: "orders", alias: "live", limit: 10)
        #expect(moves.map(\.Action) == ["UpdateAlias", "CreateAlias"])
        #expect(moves.map(\.From) == ["1", nil])
        #expect(moves.map(\.To) == ["2 + 3@10%", "1"])
        #expect(moves.allSatisfy { $0.Resource == TestData.arnPrefix + "orders:live" })
        #expect(try await records.history(function: "orders", alias: "live", limit: 1).count == 1)
        await #expect(
            throws: RelctlError(.resourceNotFound, "Cannot find alias arn: \(TestData.arnPrefix)orders:nope")
        ) { try await records.history(function: "orders", alias: "nope", limit: 10) }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.history(function: "missing", alias: nil, limit: 10)
        }
        let changes = try await records.history(function: "orders", alias: nil, limit: 100)
        #expect(changes.first?.Action == "UpdateAlias")
        #expect(changes.last?.Action == "CreateFunction")
        #expect(changes.map(\.Id) == changes.map(\.Id).sorted(by: >), "newest first")

        _ = try await records.updateAlias(
            function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: [:],
            description: nil, expectedRevisionId: nil, cause: "UpdateAlias")
        let first = try await fixture.deploy("Canary10Percent5Minutes", to: "2")
        _ = try await fixture.engine.stop(id: first.id, rollback: true)
        fixture.clock.advance(1)
        let second = try await fixture.deploy("Canary10Percent5Minutes", to: "3")
        let all = try await records.listDeployments(function: nil, status: nil, limit: 100)
        #expect(all.map(\.id) == [second.id, first.id], "newest first")
        #expect(
            try await records.listDeployments(function: "orders", status: .stopped, limit: 100).map(\.id) == [first.id])
        #expect(try await records.listDeployments(function: "orders", status: nil, limit: 1).map(\.id) == [second.id])
        #expect(try await records.listDeployments(function: "other", status: nil, limit: 100).isEmpty)
    }

    /// The quota report and the account settings are the same numbers on both engines for the same registry.
    @Test func bothEnginesReportTheSameQuota() async throws {
        let (sqlite, postgres) = (try await EngineFixture.make(.sqlite), try await EngineFixture.make(.postgres))
        #expect(try await sqlite.records.quotaReport(top: 10) == (try await postgres.records.quotaReport(top: 10)))
        #expect(try await sqlite.records.accountSettings() == (try await postgres.records.accountSettings()))
    }
}

/// Put/Get/DeleteFunctionConcurrency through `RegistryRecords`: AWS's limits and errors on both engines.
extension LambdaRecordsTests {
    @Test(arguments: StoreEngine.allCases)
    func reservedConcurrencyIsSetReadAndRemovedWithAWSLimits(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        #expect(try await records.reservedConcurrency("orders") == nil)
        #expect(try await records.putFunctionConcurrency("orders", reserved: 5) == 5)
        #expect(try await records.reservedConcurrency("orders") == 5)
        await #expect(
            throws: RelctlError.validation(
                value: "1001", field: "reservedConcurrentExecutions",
                constraint: "Member must have value between 0 and \(Limits.concurrentExecutions)")
        ) { try await records.putFunctionConcurrency("orders", reserved: 1001) }
        // At least 100 of the account's 1,000 stay unreserved.
        await #expect(
            throws: RelctlError(
                .invalidParameterValue,
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
            )
        ) { try await records.putFunctionConcurrency("orders", reserved: 901) }
        #expect(try await records.putFunctionConcurrency("orders", reserved: 900) == 900)
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.putFunctionConcurrency("missing", reserved: 1)
        }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.reservedConcurrency("missing")
        }
        #expect(try await records.putFunctionConcurrency("orders", reserved: nil) == nil)
        #expect(try await records.reservedConcurrency("orders") == nil)
    }
}
