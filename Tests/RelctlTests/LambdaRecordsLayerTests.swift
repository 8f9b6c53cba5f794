import Foundation
import RelctlCore
import RelctlPackages
import RelctlPostgres
import RelctlStorage
import RelctlStore
import Testing

/// Issue 10 §1, §5: layers through `RegistryRecords` — PublishLayerVersion, GetLayerVersion, ListLayers,
/// ListLayerVersions, DeleteLayerVersion, the layer-version permissions, a function's Layers — with the
/// same answers and AWS errors on SQLite and PostgreSQL.
extension LambdaRecordsTests {
    static let layerArnPrefix = "arn:aws:lambda:local:000000000000:layer:"

    static func publishLayer(
        _ records: any RegistryRecords, _ name: String, _ package: InspectedPackage, description: String = "",
        runtimes: [String] = [], architectures: [String] = [], license: String? = nil
    ) async throws -> LayerVersion {
        try await records.publishLayerVersion(
            name: name, zip: package.bytes, description: description, compatibleRuntimes: runtimes,
            compatibleArchitectures: architectures, licenseInfo: license)
    }

    @Test(arguments: StoreEngine.allCases)
    func layerVersionsArePublishedNumberedListedAndDeletedAlike(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let one = try fixture.sandbox.package(["python/lib.py": Data("one = 1\n".utf8)])
        let first = try await Self.publishLayer(
            records, "shared", one, description: "first", runtimes: ["python3.12", "provided.al2023"],
            architectures: ["x86_64"], license: "MIT")
        #expect(first.Version == 1)
        #expect(first.LayerArn == Self.layerArnPrefix + "shared")
        #expect(first.LayerVersionArn == Self.layerArnPrefix + "shared:1")
        #expect(first.Content == LayerVersionContent(CodeSha256: one.codeSha256, CodeSize: one.size))
        #expect(first.CompatibleRuntimes == ["python3.12", "provided.al2023"])
        #expect(first.CompatibleArchitectures == ["x86_64"])
        #expect(first.Description == "first")
        #expect(first.LicenseInfo == "MIT")
        let second = try await Self.publishLayer(
            records, "shared", try fixture.sandbox.code("two"), runtimes: ["nodejs20.x"], architectures: ["arm64"])
        let third = try await Self.publishLayer(records, "shared", try fixture.sandbox.code("three"))
        #expect(second.Version == 2)
        #expect(third.Version == 3)
        #expect(third.LicenseInfo == nil)
        #expect(third.CompatibleRuntimes.isEmpty)

        #expect(try await records.getLayerVersion(name: "shared", version: 2) == second)
        #expect(try await records.getLayerVersion(name: Self.layerArnPrefix + "shared", version: 1) == first)
        await #expect(throws: RelctlError(.invalidParameterValue, "Layer Version Cannot be less than 1")) {
            try await records.getLayerVersion(name: "shared", version: 0)
        }
        await #expect(throws: LayerRules.notFound) { try await records.getLayerVersion(name: "shared", version: 9) }
        await #expect(throws: RelctlError.self, "a name outside the pattern is a ValidationException") {
            try await records.getLayerVersion(name: "no spaces", version: 1)
        }

        // ListLayerVersions: newest first, in pages, filtered by runtime or architecture.
        func versions(
            runtime: String? = nil, architecture: String? = nil, marker: String? = nil, maxItems: Int? = nil
        ) async throws -> RecordPage<LayerVersion> {
            try await records.layerVersionPage(
                name: "shared", compatibleRuntime: runtime, compatibleArchitecture: architecture, marker: marker,
                maxItems: maxItems)
        }
        let page = try await versions(maxItems: 2)
        #expect(page.items.map(\.Version) == [3, 2])
        #expect(page.nextMarker == "2")
        let rest = try await versions(marker: page.nextMarker, maxItems: 2)
        #expect(rest.items == [first])
        #expect(rest.nextMarker == nil)
        #expect(try await versions(runtime: "python3.12").items.map(\.Version) == [1])
        #expect(try await versions(architecture: "arm64").items.map(\.Version) == [2])
        #expect(try await versions(runtime: "python3.12", architecture: "arm64").items.isEmpty)
        await #expect(
            throws: RelctlError(.invalidParameterValue, "Invalid marker 'x': pass the NextMarker of the previous page.")
        ) { try await versions(marker: "x") }
        await #expect(throws: RelctlError.self, "at most 50 a page") { try await versions(maxItems: 51) }
        let unknown = try await records.layerVersionPage(
            name: "unknown", compatibleRuntime: nil, compatibleArchitecture: nil, marker: nil, maxItems: nil)
        #expect(unknown.items.isEmpty, "an unknown layer has no versions, as on AWS")

        // ListLayers: each layer by name with its newest (matching) version.
        let other = try await Self.publishLayer(
            records, "another", try fixture.sandbox.code("other"), runtimes: ["python3.12"])
        func layers(
            runtime: String? = nil, architecture: String? = nil, marker: String? = nil, maxItems: Int? = nil
        ) async throws -> RecordPage<LayerSummary> {
            try await records.layerPage(
                compatibleRuntime: runtime, compatibleArchitecture: architecture, marker: marker, maxItems: maxItems)
        }
        let all = try await layers()
        #expect(all.items.map(\.LayerName) == ["another", "shared"])
        #expect(all.items.map(\.LatestMatchingVersion) == [other, third])
        #expect(all.items.map(\.LayerArn) == [Self.layerArnPrefix + "another", Self.layerArnPrefix + "shared"])
        let firstLayer = try await layers(maxItems: 1)
        #expect(firstLayer.items.map(\.LayerName) == ["another"])
        #expect(firstLayer.nextMarker == "another")
        #expect(try await layers(marker: firstLayer.nextMarker).items.map(\.LayerName) == ["shared"])
        let python = try await layers(runtime: "python3.12")
        #expect(
            python.items.map { "\($0.LayerName):\($0.LatestMatchingVersion.Version)" } == ["another:1", "shared:1"])
        #expect(try await layers(architecture: "arm64").items.map(\.LatestMatchingVersion) == [second])

        // DeleteLayerVersion: idempotent; the number is never handed out again.
        #expect(try await records.deleteLayerVersion(name: "shared", version: 3))
        #expect(try await records.deleteLayerVersion(name: "shared", version: 3) == false)
        await #expect(throws: LayerRules.notFound) { try await records.getLayerVersion(name: "shared", version: 3) }
        #expect(try await versions().items.map(\.Version) == [2, 1])
        #expect(try await layers().items.map(\.LatestMatchingVersion.Version) == [1, 2])
        let fourth = try await Self.publishLayer(records, "shared", try fixture.sandbox.code("four"))
        #expect(fourth.Version == 4)

        await #expect(
            throws: RelctlError.validation(
                value: "python9", field: "compatibleRuntimes",
                constraint:
                    "Member must satisfy enum value set: [\(FunctionSettings.runtimes.joined(separator: ", "))]")
        ) { try await Self.publishLayer(records, "shared", one, runtimes: ["python9"]) }
        await #expect(throws: RelctlError.self, "a package that is not a zip publishes nothing") {
            try await records.publishLayerVersion(
                name: "shared", zip: Data("not a zip".utf8), description: "", compatibleRuntimes: [],
                compatibleArchitectures: [], licenseInfo: nil)
        }
        #expect(try await versions().items.map(\.Version) == [4, 2, 1])
    }

    @Test(arguments: StoreEngine.allCases)
    func functionLayersAreResolvedCopiedIntoVersionsAndKeptWhileUsed(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let orders = FunctionReference(name: "orders")
        let deps1 = try await Self.publishLayer(records, "deps", try fixture.sandbox.code("deps-1"))
        let deps2 = try await Self.publishLayer(records, "deps", try fixture.sandbox.code("deps-2", noise: 4096))
        let tools = try await Self.publishLayer(records, "tools", try fixture.sandbox.code("tools"))
        func references(_ layers: LayerVersion...) -> [LayerReference] {
            layers.map { LayerReference(Arn: $0.LayerVersionArn, CodeSize: $0.Content.CodeSize) }
        }
        func attach(_ arns: [String], to function: FunctionReference = orders) async throws -> FunctionConfiguration {
            try await records.updateFunctionConfiguration(
                function, ConfigurationUpdate(layers: arns), expectedRevisionId: nil, settle: nil)
        }

        let updated = try await attach([deps1.LayerVersionArn, tools.LayerVersionArn])
        #expect(updated.Layers == references(deps1, tools))
        #expect(try await records.getFunction(orders).Layers == references(deps1, tools))
        let unchanged = try await records.updateFunctionConfiguration(
            orders, ConfigurationUpdate(memorySize: 256), expectedRevisionId: nil, settle: nil)
        #expect(unchanged.Layers == references(deps1, tools), "an update without Layers keeps them")
        let published = try await records.publishVersion(
            orders, description: nil, expectedCodeSha256: nil, expectedRevisionId: nil, settle: nil)
        #expect(published.Version == "4")
        #expect(published.Layers == references(deps1, tools))
        let listed = try await records.versionPage(orders, marker: nil, maxItems: nil).items
        #expect(listed.map(\.Layers) == [references(deps1, tools), nil, nil, nil, references(deps1, tools)])
        let functions = try await records.functionPage(marker: nil, maxItems: nil).items
        #expect(functions.first { $0.FunctionName == "orders" }?.Layers == references(deps1, tools))

        // Lambda's rules, with AWS's messages.
        await #expect(throws: RelctlError(.invalidParameterValue, "Cannot reference more than 5 layers.")) {
            try await attach(Array(repeating: deps1.LayerVersionArn, count: 6))
        }
        await #expect(
            throws: RelctlError(
                .invalidParameterValue,
                "Two different versions of the same layer are not allowed to be referenced in the same function. \(deps1.LayerVersionArn) and \(deps2.LayerVersionArn) are versions of the same layer."
            )
        ) { try await attach([deps1.LayerVersionArn, deps2.LayerVersionArn]) }
        let missing = Self.layerArnPrefix + "deps:7"
        await #expect(throws: LayerRules.missing(missing)) { try await attach([missing]) }
        let elsewhere = "arn:aws:lambda:eu-west-1:000000000000:layer:deps:1"
        let otherRegion = RelctlError(
            .invalidParameterValue,
            "Layers are not in the same region as the function. Layers are expected to be in region local.")
        await #expect(throws: otherRegion) { try await attach([elsewhere]) }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "nobody")) {
            try await attach([deps1.LayerVersionArn], to: FunctionReference(name: "nobody"))
        }
        #expect(
            try await records.getFunction(orders).Layers == references(deps1, tools), "a refused update changes nothing"
        )

        // CreateFunction with Layers.
        var settings = TestData.settings
        settings.layers = [deps2.LayerVersionArn]
        try await records.createFunction(name: "billing", settings: settings, zip: try fixture.sandbox.code("b").bytes)
        #expect(try await records.getFunction(FunctionReference(name: "billing")).Layers == references(deps2))
        settings.layers = [elsewhere]
        await #expect(throws: otherRegion, "checked before whether the function exists, as AWS does") {
            try await records.createFunction(
                name: "billing", settings: settings, zip: try fixture.sandbox.code("b").bytes)
        }
        settings.layers = [missing]
        await #expect(throws: LayerRules.missing(missing)) {
            try await records.createFunction(
                name: "refused", settings: settings, zip: try fixture.sandbox.code("r").bytes)
        }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "refused")) {
            try await records.getFunction(FunctionReference(name: "refused"))
        }

        // A deleted layer version is gone for new users, stays for its users, and goes (with its usage)
        // with the last of them.
        func usage() async throws -> Int64 { try await records.accountSettings().AccountUsage.TotalCodeSize }
        #expect(try await records.deleteLayerVersion(name: "deps", version: 1))
        await #expect(throws: LayerRules.notFound) { try await records.getLayerVersion(name: "deps", version: 1) }
        await #expect(throws: LayerRules.missing(deps1.LayerVersionArn)) {
            try await attach([deps1.LayerVersionArn], to: FunctionReference(name: "billing"))
        }
        let version4 = FunctionReference(name: "orders", qualifier: .version(4))
        #expect(try await records.getFunction(version4).Layers == references(deps1, tools))
        #expect(try await attach([tools.LayerVersionArn]).Layers == references(tools))
        let beforeDelete = try await usage()
        let versionSize = try await records.getFunction(version4).CodeSize
        #expect(try await records.deleteFunction(version4) == .version(4))
        #expect(
            try await usage() == beforeDelete - versionSize - deps1.Content.CodeSize,
            "deps:1 went with its last user")
        #expect(try await records.deleteLayerVersion(name: "deps", version: 1) == false)
        #expect(try await Self.publishLayer(records, "deps", try fixture.sandbox.code("deps-3")).Version == 3)
    }

    /// Lambda's 250 MB: a function's code plus its layers, unzipped.
    @Test(arguments: StoreEngine.allCases)
    func layersCountTowardTheUnzippedSizeLimit(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        // Zeros deflate to almost nothing: a small zip that fills the limit on its own.
        let huge = try fixture.sandbox.package(["blob.bin": Data(count: Int(Limits.codeSizeUnzipped) - 16)])
        let layer = try await Self.publishLayer(records, "huge", huge)
        let tooBig = RelctlError(
            .invalidParameterValue, "Unzipped size must be smaller than \(Limits.codeSizeUnzipped) bytes")
        await #expect(throws: tooBig) {
            try await records.updateFunctionConfiguration(
                FunctionReference(name: "orders"), ConfigurationUpdate(layers: [layer.LayerVersionArn]),
                expectedRevisionId: nil, settle: nil)
        }
        var settings = TestData.settings
        settings.layers = [layer.LayerVersionArn]
        let tiny = try fixture.sandbox.package(["bootstrap": Data("x".utf8)])
        try await records.createFunction(name: "fits", settings: settings, zip: tiny.bytes)
        await #expect(throws: tooBig, "new code is checked against the layers too") {
            try await records.updateFunctionCode(
                name: "fits", zip: try fixture.sandbox.code("bigger than one byte").bytes)
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func layerVersionPermissionsCheckRevisionIdsAlike(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let layer = try await Self.publishLayer(records, "shared", try fixture.sandbox.code("shared"))
        let resource = layer.LayerVersionArn
        let noPolicy = RelctlError(.resourceNotFound, "No policy is associated with the given resource.")
        let stale = RelctlError(
            .preconditionFailed,
            "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"
        )
        func add(
            _ sid: String, _ principal: String, organization: String? = nil, revision: String? = nil, version: Int = 1
        ) async throws -> (statement: String, revisionId: String) {
            try await records.addLayerVersionPermission(
                layer: "shared", version: version, statementId: sid, action: "lambda:GetLayerVersion",
                principal: principal, organizationId: organization, expectedRevisionId: revision)
        }
        await #expect(throws: noPolicy) { try await records.getLayerVersionPolicy(layer: "shared", version: 1) }
        await #expect(throws: LayerRules.notFound) { try await add("everyone", "*", version: 2) }

        // JSON compared as values: Foundation's encoder on Linux does not keep the keys' declaration order.
        func value(_ json: String) throws -> NSDictionary {
            try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary, "\(json)")
        }
        let everyone = try await add("everyone", "*")
        let everyoneStatement =
            #"{"Sid":"everyone","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"\#(resource)"}"#
        #expect(try value(everyone.statement) == value(everyoneStatement))
        await #expect(throws: stale) { try await add("account", "123456789012", revision: "stale") }
        let account = try await add("account", "123456789012", organization: "o-abc123", revision: everyone.revisionId)
        let accountStatement =
            #"{"Sid":"account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"lambda:GetLayerVersion","Resource":"\#(resource)","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}"#
        #expect(try value(account.statement) == value(accountStatement))
        #expect(account.revisionId != everyone.revisionId)
        await #expect(
            throws: RelctlError(
                .resourceConflict,
                "The statement id (account) provided already exists. Please provide a new statement id, or remove the existing statement."
            )
        ) { try await add("account", "*") }

        let policy = try await records.getLayerVersionPolicy(layer: "shared", version: 1)
        #expect(policy.revisionId == account.revisionId)
        #expect(
            try value(policy.policy)
                == value(
                    #"{"Version":"2012-10-17","Id":"default","Statement":[\#(everyoneStatement),\#(accountStatement)]}"#
                ))

        await #expect(throws: stale) {
            try await records.removeLayerVersionPermission(
                layer: "shared", version: 1, statementId: "everyone", expectedRevisionId: everyone.revisionId)
        }
        await #expect(throws: RelctlError(.resourceNotFound, "Statement nope is not found in resource policy.")) {
            try await records.removeLayerVersionPermission(
                layer: "shared", version: 1, statementId: "nope", expectedRevisionId: nil)
        }
        try await records.removeLayerVersionPermission(
            layer: "shared", version: 1, statementId: "everyone", expectedRevisionId: account.revisionId)
        let left = try await records.getLayerVersionPolicy(layer: "shared", version: 1)
        #expect(
            try value(left.policy)
                == value(#"{"Version":"2012-10-17","Id":"default","Statement":[\#(accountStatement)]}"#))
        #expect(left.revisionId != account.revisionId)
        try await records.removeLayerVersionPermission(
            layer: "shared", version: 1, statementId: "account", expectedRevisionId: nil)
        await #expect(throws: noPolicy, "the policy goes with its last statement") {
            try await records.getLayerVersionPolicy(layer: "shared", version: 1)
        }
        await #expect(throws: noPolicy) {
            try await records.removeLayerVersionPermission(
                layer: "shared", version: 1, statementId: "account", expectedRevisionId: nil)
        }

        // A deleted layer version has no policy any more, even while a function still uses it.
        _ = try await add("again", "*")
        _ = try await records.updateFunctionConfiguration(
            FunctionReference(name: "orders"), ConfigurationUpdate(layers: [resource]), expectedRevisionId: nil,
            settle: nil)
        #expect(try await records.deleteLayerVersion(name: "shared", version: 1))
        await #expect(throws: LayerRules.notFound) {
            try await records.getLayerVersionPolicy(layer: "shared", version: 1)
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func layerVersionsCountTowardTheCodeStorageQuota(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let before = try await records.accountSettings().AccountUsage.TotalCodeSize
        let package = try fixture.sandbox.code("quota", noise: 2048)
        let layer = try await Self.publishLayer(records, "counted", package)
        #expect(try await records.accountSettings().AccountUsage.TotalCodeSize == before + package.size)
        let report = try await records.quotaReport(top: 10)
        #expect(
            report.TopConsumers.contains { $0.Name == "counted" && $0.Kind == "Layer" && $0.CodeSize == package.size })

        try await records.setQuota(before + package.size + 100)
        await #expect(throws: RelctlError.codeStorageExceeded) {
            try await Self.publishLayer(records, "counted", try fixture.sandbox.code("quota-2", noise: 2048))
        }
        try await records.setQuota(Limits.defaultTotalCodeSize)
        let next = try await Self.publishLayer(records, "counted", try fixture.sandbox.code("quota-3", noise: 2048))
        #expect(next.Version == layer.Version + 1, "a refused publish takes no number")
    }

    /// Publishers on two connections (two servers' worth) racing on one layer: every version gets its own number.
    @Test(arguments: StoreEngine.allCases)
    func concurrentPublishersNeverShareALayerVersionNumber(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let other = try await fixture.openAnother()
        defer { other.close() }
        let zips = try (0..<16).map { try fixture.sandbox.code("race-\($0)").bytes }
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, zip) in zips.enumerated() {
                let records = index.isMultiple(of: 2) ? fixture.records : other.records
                group.addTask {
                    try await records.publishLayerVersion(
                        name: "race", zip: zip, description: "", compatibleRuntimes: [], compatibleArchitectures: [],
                        licenseInfo: nil
                    ).Version
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(numbers.sorted() == Array(1...16))
        let listed = try await fixture.records.layerVersionPage(
            name: "race", compatibleRuntime: nil, compatibleArchitecture: nil, marker: nil, maxItems: nil)
        #expect(listed.items.map(\.Version) == Array((1...16).reversed()))
    }

    /// On PostgreSQL a layer's code goes to the code store, checked, before the row that names it commits.
    @Test func postgresRecordsWriteTheLayerObjectBeforeTheRow() async throws {
        let fixture = try await EngineFixture.make(.postgres)
        let blobs = fixture.sandbox.registry.blobs
        let records = PostgresRecords(store: try #require(fixture.postgres), code: blobs)
        let package = try fixture.sandbox.code("layer object")
        #expect(try await blobs.size(of: package.sha256Hex) == nil)
        let layer = try await Self.publishLayer(records, "stored", package)
        #expect(try await blobs.size(of: package.sha256Hex) == package.size)
        #expect(try await records.getLayerVersion(name: "stored", version: 1) == layer)
    }
}
