import Foundation
import RelctlCore
import RelctlMigrations
import RelctlPackages
import RelctlRollout
import RelctlStore
import Testing

@Suite("Registry: functions, versions, aliases, layers, quota, integrity")
struct RegistryTests {
    let sandbox: Sandbox
    var registry: Registry { sandbox.registry }
    init() throws { sandbox = try Sandbox() }

    func ref(_ name: String, _ qualifier: Qualifier? = nil) -> FunctionReference {
        FunctionReference(name: name, qualifier: qualifier)
    }

    // MARK: - Create / get

    @Test func createFunctionReturnsLatestConfiguration() throws {
        let code = try sandbox.code("one")
        let created = try registry.createFunction(
            name: "orders",
            settings: FunctionSettings(
                runtime: "provided.al2023", handler: "bootstrap", role: TestData.role,
                description: "orders service", memorySize: 256, timeout: 30, environment: ["STAGE": "prod"]),
            code: code)
        #expect(created.FunctionName == "orders")
        #expect(created.FunctionArn == TestData.arnPrefix + "orders")
        #expect(created.Version == "$LATEST")
        #expect(created.CodeSha256 == code.codeSha256)
        #expect(created.CodeSize == code.size)
        #expect(created.MemorySize == 256)
        #expect(created.Timeout == 30)
        #expect(created.Description == "orders service")
        #expect(created.Environment == EnvironmentResponse(Variables: ["STAGE": "prod"]))
        #expect(created.Layers == nil)
        #expect(created.State == "Active")
        #expect(created.Architectures == ["x86_64"])
        #expect(LambdaTimestamp.date(from: created.LastModified) != nil)
        #expect(try registry.getFunction(ref("orders")) == created)
        try sandbox.expectConsistent()
    }

    @Test func createDuplicateFunctionIsAResourceConflict() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        let usage = try sandbox.usage()
        expectRelctlError(.resourceConflict, message: "Function already exist: orders") {
            try sandbox.create("orders", try sandbox.code("two"))
        }
        #expect(try sandbox.usage() == usage)
        #expect(try registry.getFunction(ref("orders")).CodeSha256 == (try sandbox.code("one")).codeSha256)
        try sandbox.expectConsistent()
    }

    /// lambda-api.md §3.8 [LS], issue 11 §1: the layers' region is checked before the name conflict.
    @Test func createWithLayersOfAnotherRegionIsRefusedBeforeTheFunctionExistsConflict() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        var settings = TestData.settings
        settings.layers = ["arn:aws:lambda:eu-central-1:000000000000:layer:shared:1"]
        expectRelctlError(
            .invalidParameterValue,
            message: "Layers are not in the same region as the function. Layers are expected to be in region local."
        ) {
            try sandbox.create("orders", try sandbox.code("two"), settings: settings)
        }
    }

    @Test func createFunctionValidatesNameAndSettings() throws {
        let code = try sandbox.code("x")
        expectRelctlError(.invalidParameterValue, messagePrefix: "Value '") {
            try sandbox.create(String(repeating: "n", count: 65), code)
        }
        expectRelctlError(.validation) { try sandbox.create("bad.name", code) }
        var settings = TestData.settings
        settings.memorySize = 127
        expectRelctlError(.validation) { try sandbox.create("fn", code, settings: settings) }
        #expect(try registry.accountSettings().AccountUsage == .init(TotalCodeSize: 0, FunctionCount: 0))
        #expect(sandbox.blobFiles() == [])
        try sandbox.expectConsistent()
    }

    @Test func createWithPublishReturnsVersion1UnderTheUnqualifiedArn() throws {
        let code = try sandbox.code("one")
        let created = try sandbox.create("orders", code, publish: true)
        #expect(created.Version == "1")
        #expect(created.FunctionArn == TestData.arnPrefix + "orders")
        #expect(try sandbox.versions("orders") == ["$LATEST", "1"])
        #expect(try sandbox.usage() == 2 * code.size)
        // Nothing changed since: a publish returns that version.
        #expect(try registry.publishVersion(ref("orders")).Version == "1")
        try sandbox.expectConsistent()
    }

    @Test func getFunctionResolvesEveryQualifierForm() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        let v1 = try registry.publishVersion(ref("orders"))
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        try sandbox.publishNewCode("orders", "two")

        #expect(try registry.getFunction(ref("orders")).FunctionArn == TestData.arnPrefix + "orders")
        let latest = try registry.getFunction(FunctionReference(parsing: "orders:$LATEST"))
        #expect(latest.FunctionArn == TestData.arnPrefix + "orders:$LATEST")
        #expect(latest.Version == "$LATEST")
        let one = try registry.getFunction(FunctionReference(parsing: "orders:1"))
        #expect(one.FunctionArn == TestData.arnPrefix + "orders:1")
        #expect(one.CodeSha256 == v1.CodeSha256)
        let viaAlias = try registry.getFunction(FunctionReference(parsing: "orders:live"))
        #expect(viaAlias.FunctionArn == TestData.arnPrefix + "orders:live")
        #expect(viaAlias.Version == "1")
        #expect(viaAlias.CodeSha256 == v1.CodeSha256)
        let byArn = try registry.getFunction(
            FunctionReference(parsing: "arn:aws:lambda:local:000000000000:function:orders:2"))
        #expect(byArn.Version == "2")
        #expect(
            try registry.getFunction(FunctionReference(parsing: "000000000000:function:orders")).Version == "$LATEST")
    }

    @Test func getFunctionOfUnknownFunctionVersionOrAliasIsNotFound() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)nope") {
            try registry.getFunction(ref("nope"))
        }
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)orders:9") {
            try registry.getFunction(ref("orders", .version(9)))
        }
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)orders:live") {
            try registry.getFunction(ref("orders", .alias("live")))
        }
        // Another account's ARN names another function.
        expectRelctlError(.resourceNotFound) {
            try registry.getFunction(FunctionReference(parsing: "arn:aws:lambda:local:999999999999:function:orders"))
        }
    }

    /// lambda-api.md §3.1: `$latest` (wrong case) → 404 "Function not found: …:my-function:$latest".
    @Test func lowercaseLatestQualifierIsFunctionNotFoundAsOnAws() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)orders:$latest") {
            try registry.getFunction(FunctionReference(parsing: "orders:$latest"))
        }
    }

    @Test func listFunctionsShowsLatestOrEveryVersionWithPages() throws {
        for name in ["c", "a", "b"] { try sandbox.create(name, try sandbox.code(name)) }
        _ = try registry.publishVersion(ref("a"))
        let plain = try registry.listFunctions()
        #expect(plain.items.map(\.FunctionName) == ["a", "b", "c"])
        #expect(plain.items.allSatisfy { $0.Version == "$LATEST" && !$0.FunctionArn.hasSuffix("$LATEST") })
        let all = try registry.listFunctions(allVersions: true)
        #expect(all.items.map { "\($0.FunctionName):\($0.Version)" } == ["a:$LATEST", "a:1", "b:$LATEST", "c:$LATEST"])
        #expect(all.items[0].FunctionArn == TestData.arnPrefix + "a:$LATEST")
        let first = try registry.listFunctions(maxItems: 2)
        #expect(first.items.map(\.FunctionName) == ["a", "b"])
        #expect(first.nextMarker != nil)
        let second = try registry.listFunctions(marker: first.nextMarker, maxItems: 2)
        #expect(second.items.map(\.FunctionName) == ["c"])
        #expect(second.nextMarker == nil)
    }

    // MARK: - Update code / configuration, RevisionId

    @Test func updateCodeChangesLatestAndItsRevisionId() throws {
        let created = try sandbox.create("orders", try sandbox.code("one"))
        let two = try sandbox.code("two")
        let updated = try registry.updateFunctionCode(ref("orders"), code: two)
        #expect(updated.CodeSha256 == two.codeSha256)
        #expect(updated.CodeSize == two.size)
        #expect(updated.RevisionId != created.RevisionId)
        #expect(updated.Version == "$LATEST")
        #expect(try sandbox.usage() == two.size)
        // The first blob has no user left, so its file is gone.
        #expect(sandbox.blobFiles() == [two.sha256Hex])
        try sandbox.expectConsistent()
    }

    @Test func updateCodeWithPublishReturnsTheNewVersion() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        let published = try registry.updateFunctionCode(ref("orders"), code: try sandbox.code("two"), publish: true)
        #expect(published.Version == "1")
        #expect(published.FunctionArn == TestData.arnPrefix + "orders:1")
        #expect(try sandbox.versions("orders") == ["$LATEST", "1"])
        try sandbox.expectConsistent()
    }

    @Test func updateConfigurationChangesOnlyGivenFieldsAndTheRevisionId() throws {
        let created = try sandbox.create("orders", try sandbox.code("one"))
        let updated = try registry.updateFunctionConfiguration(
            ref("orders"), ConfigurationUpdate(memorySize: 512, environment: ["STAGE": "prod"]))
        #expect(updated.MemorySize == 512)
        #expect(updated.Environment?.Variables == ["STAGE": "prod"])
        #expect(updated.Timeout == created.Timeout)
        #expect(updated.Handler == created.Handler)
        #expect(updated.CodeSha256 == created.CodeSha256)
        #expect(updated.RevisionId != created.RevisionId)
        #expect(try sandbox.usage() == created.CodeSize, "a configuration change adds no code")
        let cleared = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(environment: [:]))
        #expect(cleared.Environment == nil)
        expectRelctlError(.validation) {
            try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(timeout: 901))
        }
        #expect(try registry.getFunction(ref("orders")) == cleared)
    }

    @Test func staleRevisionIdIsAPreconditionFailureForEveryLatestWrite() throws {
        let created = try sandbox.create("orders", try sandbox.code("one"))
        let current = try registry.updateFunctionConfiguration(
            ref("orders"), ConfigurationUpdate(memorySize: 256),
            expectedRevisionId: created.RevisionId)
        let stale = created.RevisionId
        expectRelctlError(.preconditionFailed, message: TestData.revisionMismatchMessage) {
            try registry.updateFunctionCode(ref("orders"), code: try sandbox.code("two"), expectedRevisionId: stale)
        }
        expectRelctlError(.preconditionFailed, message: TestData.revisionMismatchMessage) {
            try registry.updateFunctionConfiguration(
                ref("orders"), ConfigurationUpdate(memorySize: 1024), expectedRevisionId: stale)
        }
        expectRelctlError(.preconditionFailed, message: TestData.revisionMismatchMessage) {
            try registry.publishVersion(ref("orders"), expectedRevisionId: stale)
        }
        #expect(try registry.getFunction(ref("orders")) == current)
        #expect(try sandbox.versions("orders") == ["$LATEST"])
        #expect(try registry.publishVersion(ref("orders"), expectedRevisionId: current.RevisionId).Version == "1")
        try sandbox.expectConsistent()
    }

    @Test func publishedVersionsCannotBeUpdated() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        expectRelctlError(.invalidParameterValue) {
            try registry.updateFunctionCode(ref("orders", .version(1)), code: try sandbox.code("two"))
        }
        expectRelctlError(.invalidParameterValue) {
            try registry.updateFunctionConfiguration(
                ref("orders", .alias("live")), ConfigurationUpdate(memorySize: 256))
        }
        // `:$LATEST` is the same as unqualified.
        #expect(
            try registry.updateFunctionConfiguration(ref("orders", .latest), ConfigurationUpdate(memorySize: 256))
                .MemorySize == 256)
    }

    @Test func updatesOfAMissingFunctionAreNotFound() throws {
        let message = "Function not found: \(TestData.arnPrefix)nope"
        expectRelctlError(.resourceNotFound, message: message) {
            try registry.updateFunctionCode(ref("nope"), code: try sandbox.code("x"))
        }
        expectRelctlError(.resourceNotFound, message: message) {
            try registry.updateFunctionConfiguration(ref("nope"), ConfigurationUpdate())
        }
        expectRelctlError(.resourceNotFound, message: message) { try registry.publishVersion(ref("nope")) }
        #expect(sandbox.blobFiles() == [])
        try sandbox.expectConsistent()
    }

    // MARK: - Publish semantics (lambda-api.md §3.4)

    @Test func publishWithoutChangesReturnsLastVersion() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        let first = try registry.publishVersion(ref("orders"), description: "first")
        #expect(first.Version == "1")
        #expect(first.Description == "first")
        let again = try registry.publishVersion(ref("orders"), description: "second")
        #expect(again == first, "same version, same description, same RevisionId")
        #expect(try sandbox.versions("orders") == ["$LATEST", "1"])
        #expect(
            try registry.getFunction(ref("orders")).Description == "",
            "the version's description does not touch $LATEST")
    }

    @Test func updateWithIdenticalBytesThenPublishCreatesANewVersion() throws {
        let code = try sandbox.code("same")
        try sandbox.create("orders", code)
        #expect(try registry.publishVersion(ref("orders")).Version == "1")
        _ = try registry.updateFunctionCode(ref("orders"), code: code)
        #expect(try registry.publishVersion(ref("orders")).Version == "2")
        #expect(try registry.publishVersion(ref("orders")).Version == "2")
        #expect(try registry.updateFunctionCode(ref("orders"), code: code, publish: true).Version == "3")
        #expect(try registry.publishVersion(ref("orders")).Version == "3")
        // A configuration update that sets the same values counts as a change too.
        _ = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(memorySize: 128))
        #expect(try registry.publishVersion(ref("orders")).Version == "4")
        // Each version counts its code again; the disk holds it once.
        #expect(try sandbox.usage() == 5 * code.size)
        #expect(try registry.quotaReport().StoredBytes == code.size)
        #expect(sandbox.blobFiles() == [code.sha256Hex])
        try sandbox.expectConsistent()
    }

    @Test func publishChangesLatestRevisionIdAndGivesTheVersionItsOwn() throws {
        let created = try sandbox.create("orders", try sandbox.code("one"))
        let version = try registry.publishVersion(ref("orders"))
        let latest = try registry.getFunction(ref("orders"))
        #expect(latest.RevisionId != created.RevisionId)
        #expect(version.RevisionId != latest.RevisionId)
        #expect(version.RevisionId != created.RevisionId)
        // Later updates of $LATEST never change the version's RevisionId.
        _ = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(memorySize: 256))
        #expect(try registry.getFunction(ref("orders", .version(1))).RevisionId == version.RevisionId)
        // CreateAlias changes neither.
        let beforeAlias = try registry.getFunction(ref("orders"))
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        #expect(try registry.getFunction(ref("orders")).RevisionId == beforeAlias.RevisionId)
        #expect(try registry.getFunction(ref("orders", .version(1))).RevisionId == version.RevisionId)
    }

    @Test func publishDescriptionIsLimitedTo256Characters() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        expectRelctlError(.validation, messagePrefix: "1 validation error detected: Value '") {
            try registry.publishVersion(ref("orders"), description: String(repeating: "d", count: 257))
        }
        #expect(try sandbox.versions("orders") == ["$LATEST"])
        #expect(
            try registry.publishVersion(ref("orders"), description: String(repeating: "d", count: 256)).Version == "1")
    }

    @Test func publishWithWrongCodeSha256IsInvalidParameterWithTheAwsMessage() throws {
        let code = try sandbox.code("one")
        try sandbox.create("orders", code)
        let wrong = CodeHash.base64(fromHex: CodeHash.hex(of: Data("other".utf8)))
        expectRelctlError(
            .invalidParameterValue,
            message:
                "CodeSHA256 (\(wrong)) is different from current CodeSHA256 in $LATEST (\(code.codeSha256)). Please try again with the CodeSHA256 in $LATEST."
        ) {
            try registry.publishVersion(ref("orders"), expectedCodeSha256: wrong)
        }
        #expect(try sandbox.versions("orders") == ["$LATEST"])
        #expect(try registry.publishVersion(ref("orders"), expectedCodeSha256: code.codeSha256).Version == "1")
    }

    @Test func versionNumbersAreNeverReusedAfterDelete() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        #expect(try sandbox.versions("orders") == ["$LATEST", "1", "2"])
        #expect(try registry.deleteFunction(ref("orders", .version(2))) == .version(2))
        #expect(try sandbox.versions("orders") == ["$LATEST", "1"])
        #expect(try sandbox.publishNewCode("orders", "three").Version == "3")
        #expect(try registry.deleteFunction(ref("orders", .version(1))) == .version(1))
        #expect(try sandbox.versions("orders") == ["$LATEST", "3"])
        try sandbox.expectConsistent()
    }

    @Test func publishAfterTheLastVersionWasDeletedPublishesANewNumber() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try registry.deleteFunction(ref("orders", .version(1)))
        let republished = try registry.publishVersion(ref("orders"))
        #expect(republished.Version == "2")
        #expect(try sandbox.versions("orders") == ["$LATEST", "2"])
    }

    @Test func publishedVersionsAreImmutableWhileLatestChanges() throws {
        try sandbox.create(
            "orders", try sandbox.code("one"),
            settings: FunctionSettings(
                runtime: "provided.al2023", handler: "bootstrap", role: TestData.role, environment: ["VER": "1"]))
        let v1 = try registry.publishVersion(ref("orders"), description: "v1")
        _ = try registry.updateFunctionCode(ref("orders"), code: try sandbox.code("two"))
        _ = try registry.updateFunctionConfiguration(
            ref("orders"),
            ConfigurationUpdate(
                runtime: "python3.12", handler: "main.handler", description: "changed", memorySize: 2048, timeout: 60,
                environment: ["VER": "2"]))
        let v2 = try registry.publishVersion(ref("orders"))
        _ = try registry.updateFunctionCode(ref("orders"), code: try sandbox.code("three"))
        #expect(try registry.getFunction(ref("orders", .version(1))) == v1)
        #expect(try registry.getFunction(ref("orders", .version(2))) == v2)
        #expect(v1.Environment?.Variables == ["VER": "1"])
        #expect(v2.Environment?.Variables == ["VER": "2"])
        #expect(v2.Description == "changed")
        let listed = try registry.listVersions(ref("orders")).items
        #expect(listed.map(\.Version) == ["$LATEST", "1", "2"])
        #expect(
            listed[1] == v1.listItem, "list items leave out the state fields and RuntimeVersionConfig, as AWS lists do")
        for (item, qualifier) in zip(listed, [Qualifier.latest, .version(1), .version(2)]) {
            #expect(item == (try registry.getFunction(ref("orders", qualifier))).listItem, "\(item.Version)")
        }
        #expect(listed[0].CodeSha256 != listed[1].CodeSha256)
        #expect(listed[0].FunctionArn == TestData.arnPrefix + "orders:$LATEST")
        try sandbox.expectConsistent()
    }

    @Test func listVersionsPagesInAscendingOrder() throws {
        try sandbox.create("orders", try sandbox.code("v0"), publish: true)
        for index in 2...4 { try sandbox.publishNewCode("orders", "v\(index)") }
        let first = try registry.listVersions(ref("orders"), maxItems: 2)
        #expect(first.items.map(\.Version) == ["$LATEST", "1"])
        #expect(first.nextMarker != nil)
        let second = try registry.listVersions(ref("orders"), marker: first.nextMarker, maxItems: 2)
        #expect(second.items.map(\.Version) == ["2", "3"])
        let third = try registry.listVersions(ref("orders"), marker: second.nextMarker, maxItems: 2)
        #expect(third.items.map(\.Version) == ["4"])
        #expect(third.nextMarker == nil)
        expectRelctlError(.resourceNotFound) { try registry.listVersions(ref("nope")) }
    }

    // MARK: - Delete

    @Test func deletingLatestIsRefused() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        expectRelctlError(
            .invalidParameterValue, message: "$LATEST version cannot be deleted without deleting the function."
        ) {
            try registry.deleteFunction(ref("orders", .latest))
        }
        expectRelctlError(.invalidParameterValue, message: "Deletion of aliases is not currently supported.") {
            try registry.deleteFunction(ref("orders", .alias("live")))
        }
        #expect(try sandbox.versions("orders") == ["$LATEST"])
    }

    @Test func deletingANonexistentVersionDoesNothing() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        #expect(try registry.deleteFunction(ref("orders", .version(7))) == .nothing)
        #expect(try sandbox.versions("orders") == ["$LATEST", "1"])
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)nope") {
            try registry.deleteFunction(ref("nope", .version(1)))
        }
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)nope") {
            try registry.deleteFunction(ref("nope"))
        }
    }

    @Test(arguments: ["primary", "routing"])
    func deletingAVersionAnAliasReferencesIsAConflict(_ how: String) throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        if how == "primary" {
            _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        } else {
            _ = try registry.createAlias(
                function: "orders", name: "live", functionVersion: "2", additionalVersionWeights: ["1": 0.1])
        }
        expectRelctlError(
            .resourceConflict, message: "Unable to delete version because the following aliases reference it: [live]"
        ) {
            try registry.deleteFunction(ref("orders", .version(1)))
        }
        #expect(try sandbox.versions("orders") == ["$LATEST", "1", "2"])
        try registry.deleteAlias(function: "orders", name: "live")
        #expect(try registry.deleteFunction(ref("orders", .version(1))) == .version(1))
        try sandbox.expectConsistent()
    }

    @Test func deleteFunctionRemovesAliasesVersionsAndFreesUsage() throws {
        let keep = try sandbox.code("other")
        try sandbox.create("other", keep)
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        _ = try registry.createAlias(
            function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: ["2": 0.5])
        _ = try registry.createAlias(function: "orders", name: "beta", functionVersion: "2")
        #expect(try registry.deleteFunction(ref("orders")) == .function(versions: 2, aliases: 2))
        #expect(try registry.accountSettings().AccountUsage == .init(TotalCodeSize: keep.size, FunctionCount: 1))
        #expect(try registry.quotaReport().StoredBytes == keep.size)
        #expect(sandbox.blobFiles() == [keep.sha256Hex])
        expectRelctlError(.resourceNotFound) { try registry.getFunction(ref("orders")) }
        expectRelctlError(.resourceNotFound) { try registry.getAlias(function: "orders", name: "live") }
        try sandbox.expectConsistent()
        // The name is free again, and numbering starts over for the new function.
        try sandbox.create("orders", try sandbox.code("fresh"))
        #expect(try registry.publishVersion(ref("orders")).Version == "1")
        #expect(try registry.listAliases(function: "orders").items == [])
    }

    // MARK: - Aliases

    @Test func aliasLifecycleCreateGetUpdateListDelete() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        let created = try registry.createAlias(
            function: "orders", name: "live", functionVersion: "1", description: "prod")
        #expect(created.AliasArn == TestData.arnPrefix + "orders:live")
        #expect(created.Name == "live")
        #expect(created.FunctionVersion == "1")
        #expect(created.Description == "prod")
        #expect(created.RoutingConfig == nil)
        #expect(try registry.getAlias(function: "orders", name: "live") == created)

        let canary = try registry.updateAlias(function: "orders", name: "live", additionalVersionWeights: ["2": 0.1])
        #expect(canary.FunctionVersion == "1")
        #expect(canary.RoutingConfig == AliasRoutingConfiguration(AdditionalVersionWeights: ["2": 0.1]))
        #expect(canary.Description == "prod", "unset fields stay")
        #expect(canary.RevisionId != created.RevisionId)

        let promoted = try registry.updateAlias(
            function: "orders", name: "live", functionVersion: "2", additionalVersionWeights: [:])
        #expect(promoted.FunctionVersion == "2")
        #expect(promoted.RoutingConfig == nil, "an empty map removes the routing")

        let nothingNew = try registry.updateAlias(function: "orders", name: "live")
        #expect(nothingNew.FunctionVersion == "2")
        #expect(nothingNew.RevisionId != promoted.RevisionId, "every UpdateAlias changes the RevisionId")

        _ = try registry.createAlias(function: "orders", name: "beta", functionVersion: "$LATEST")
        _ = try registry.createAlias(function: "orders", name: "archive", functionVersion: "1")
        #expect(try registry.listAliases(function: "orders").items.map(\.Name) == ["archive", "beta", "live"])
        #expect(try registry.listAliases(function: "orders", functionVersion: "2").items.map(\.Name) == ["live"])
        #expect(try registry.listAliases(function: "orders", functionVersion: "$LATEST").items.map(\.Name) == ["beta"])
        let page = try registry.listAliases(function: "orders", maxItems: 2)
        #expect(page.items.map(\.Name) == ["archive", "beta"])
        #expect(
            try registry.listAliases(function: "orders", marker: page.nextMarker, maxItems: 2).items.map(\.Name) == [
                "live"
            ])

        #expect(try registry.deleteAlias(function: "orders", name: "live"))
        #expect(
            try registry.deleteAlias(function: "orders", name: "live") == false,
            "deleting a missing alias is not an error")
        expectRelctlError(.resourceNotFound, message: "Cannot find alias arn: \(TestData.arnPrefix)orders:live") {
            try registry.getAlias(function: "orders", name: "live")
        }
        try sandbox.expectConsistent()
    }

    @Test func aliasCreationErrorsMatchAws() throws {
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)nope:1") {
            try registry.createAlias(function: "nope", name: "live", functionVersion: "1")
        }
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)orders:5") {
            try registry.createAlias(function: "orders", name: "live", functionVersion: "5")
        }
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)orders:10") {
            try registry.createAlias(
                function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: ["10": 0.5])
        }
        expectRelctlError(.validation) {
            try registry.createAlias(function: "orders", name: "2024", functionVersion: "1")
        }
        expectRelctlError(
            .invalidParameterValue, message: "Number of items in AdditionalVersionWeights cannot be greater than 1"
        ) {
            try registry.createAlias(
                function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: ["2": 0.1, "3": 0.1])
        }
        expectRelctlError(
            .invalidParameterValue, message: "$LATEST is not supported for an alias pointing to more than 1 version"
        ) {
            try registry.createAlias(
                function: "orders", name: "live", functionVersion: "$LATEST", additionalVersionWeights: ["1": 0.1])
        }
        expectRelctlError(
            .invalidParameterValue,
            message: "Invalid function version 1. Function version 1 is already included in routing configuration."
        ) {
            try registry.createAlias(
                function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: ["1": 0.1])
        }
        #expect(try registry.listAliases(function: "orders").items == [])
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        expectRelctlError(.resourceConflict, message: "Alias already exists: \(TestData.arnPrefix)orders:live") {
            try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        }
    }

    @Test func aliasUpdateErrorsLeaveTheAliasUnchanged() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        let alias = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        expectRelctlError(.resourceNotFound, message: "Alias not found: \(TestData.arnPrefix)orders:nope") {
            try registry.updateAlias(function: "orders", name: "nope", functionVersion: "1")
        }
        expectRelctlError(.resourceNotFound, message: "Function not found: \(TestData.arnPrefix)orders:10") {
            try registry.updateAlias(function: "orders", name: "live", additionalVersionWeights: ["10": 0.5])
        }
        expectRelctlError(.validation) {
            try registry.updateAlias(function: "orders", name: "live", additionalVersionWeights: ["2": 1.5])
        }
        expectRelctlError(.preconditionFailed, message: TestData.revisionMismatchMessage) {
            try registry.updateAlias(
                function: "orders", name: "live", functionVersion: "2", expectedRevisionId: "stale")
        }
        #expect(try registry.getAlias(function: "orders", name: "live") == alias)
        #expect(try registry.history(function: "orders", alias: "live").count == 1)
        let moved = try registry.updateAlias(
            function: "orders", name: "live", functionVersion: "2", expectedRevisionId: alias.RevisionId)
        #expect(moved.FunctionVersion == "2")
    }

    @Test func aliasKeepsItsRoutingWhenOnlyThePrimaryChanges() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        try sandbox.publishNewCode("orders", "three")
        _ = try registry.createAlias(
            function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: ["2": 0.2])
        let moved = try registry.updateAlias(function: "orders", name: "live", functionVersion: "3")
        #expect(moved.RoutingConfig == AliasRoutingConfiguration(AdditionalVersionWeights: ["2": 0.2]))
        // Making the additional version the primary while it is still routed to is refused as on AWS.
        expectRelctlError(
            .invalidParameterValue,
            message: "Invalid function version 2. Function version 2 is already included in routing configuration."
        ) {
            try registry.updateAlias(function: "orders", name: "live", functionVersion: "2")
        }
    }

    // MARK: - Rollback and history

    @Test func rollbackRestoresThePreviousPrimaryAndClearsRouting() async throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        try sandbox.publishNewCode("orders", "three")
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        _ = try registry.updateAlias(function: "orders", name: "live", functionVersion: "2")
        let before = try registry.updateAlias(
            function: "orders", name: "live", functionVersion: "3", additionalVersionWeights: [:])
        let rolledBack = try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live")
        #expect(rolledBack.FunctionVersion == "2")
        #expect(rolledBack.RoutingConfig == nil)
        #expect(rolledBack.RevisionId != before.RevisionId)
        #expect(try registry.getAlias(function: "orders", name: "live") == rolledBack)
        #expect(try registry.getFunction(ref("orders", .alias("live"))).Version == "2")
    }

    @Test func rollbackOfACanarySplitReturnsToThePrimary() async throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        _ = try registry.updateAlias(function: "orders", name: "live", additionalVersionWeights: ["2": 0.1])
        let rolledBack = try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live")
        #expect(rolledBack.FunctionVersion == "1")
        #expect(rolledBack.RoutingConfig == nil)
    }

    @Test func rollbackToANamedVersion() async throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        try sandbox.publishNewCode("orders", "three")
        _ = try registry.createAlias(
            function: "orders", name: "live", functionVersion: "3", additionalVersionWeights: ["2": 0.5])
        let rolledBack = try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live", to: "1")
        #expect(rolledBack.FunctionVersion == "1")
        #expect(rolledBack.RoutingConfig == nil)
        await expectRelctlErrorAsync(
            .resourceNotFound, messagePrefix: "Function not found: \(TestData.arnPrefix)orders:9"
        ) {
            try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live", to: "9")
        }
        await expectRelctlErrorAsync(.validation) {
            try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live", to: "latest")
        }
    }

    @Test func rollbackWithoutAPreviousVersionIsAConflict() async throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        await expectRelctlErrorAsync(
            .resourceConflict, messagePrefix: "Alias live has no previous version to roll back to"
        ) {
            try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live")
        }
        await expectRelctlErrorAsync(.resourceNotFound, message: "Alias not found: \(TestData.arnPrefix)orders:nope") {
            try await RolloutEngine(store: registry).rollback(function: "orders", alias: "nope")
        }
    }

    @Test func rollbackToAVersionThatWasDeletedIsNotFound() async throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        _ = try registry.updateAlias(function: "orders", name: "live", functionVersion: "2")
        try registry.deleteFunction(ref("orders", .version(1)))
        await expectRelctlErrorAsync(
            .resourceNotFound, messagePrefix: "Function not found: \(TestData.arnPrefix)orders:1"
        ) {
            try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live")
        }
        #expect(try registry.getAlias(function: "orders", name: "live").FunctionVersion == "2")
    }

    /// A function deleted and created again starts over (its versions restart at 1): the old
    /// incarnation's alias moves must not steer a rollback of the new alias to unrelated code.
    @Test func rollbackIgnoresAliasMovesOfADeletedFunctionWithTheSameName() async throws {
        try sandbox.create("orders", try sandbox.code("old-1"), publish: true)
        try sandbox.publishNewCode("orders", "old-2")
        try sandbox.publishNewCode("orders", "old-3")
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "2")
        _ = try registry.updateAlias(function: "orders", name: "live", functionVersion: "3")
        try registry.deleteFunction(ref("orders"))

        try sandbox.create("orders", try sandbox.code("new-1"), publish: true)
        try sandbox.publishNewCode("orders", "new-2")
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        // The new `live` has only ever pointed at 1.
        await expectRelctlErrorAsync(
            .resourceConflict, messagePrefix: "Alias live has no previous version to roll back to"
        ) {
            try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live")
        }
        #expect(try registry.getAlias(function: "orders", name: "live").FunctionVersion == "1")
    }

    @Test func aliasHistoryIsNewestFirst() async throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        _ = try registry.updateAlias(function: "orders", name: "live", additionalVersionWeights: ["2": 0.1])
        _ = try registry.updateAlias(
            function: "orders", name: "live", functionVersion: "2", additionalVersionWeights: [:])
        _ = try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live")
        let history = try registry.history(function: "orders", alias: "live")
        #expect(history.map(\.Action) == ["Rollback", "UpdateAlias", "UpdateAlias", "CreateAlias"])
        #expect(history.map(\.From) == ["2", "1 + 2@10%", "1", nil])
        #expect(history.map(\.To) == ["1", "2", "1 + 2@10%", "1"])
        #expect(history.allSatisfy { $0.Actor == "test" && $0.Resource == TestData.arnPrefix + "orders:live" })
        #expect(history.map(\.Id) == history.map(\.Id).sorted(by: >))
        #expect(try registry.history(function: "orders", alias: "live", limit: 1).map(\.Action) == ["Rollback"])
        expectRelctlError(.resourceNotFound) { try registry.history(function: "orders", alias: "nope") }
    }

    @Test func functionHistoryListsAuditedChangesNewestFirst() throws {
        try sandbox.create("orders", try sandbox.code("one"))
        _ = try registry.updateFunctionCode(ref("orders"), code: try sandbox.code("two"))
        _ = try registry.publishVersion(ref("orders"))
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        let history = try registry.history(function: "orders")
        #expect(history.map(\.Action) == ["CreateAlias", "PublishVersion", "UpdateFunctionCode", "CreateFunction"])
        #expect(history[2].Before != nil && history[2].After != nil)
        expectRelctlError(.resourceNotFound) { try registry.history(function: "nope") }
    }

    // MARK: - Layers

    func layerArn(_ name: String, _ version: Int) -> String {
        ArnContext().layerVersionArn(name, version: version)
    }

    @Test func layerVersionNumbersAreNeverReused() throws {
        let code = try sandbox.code("layer")
        let one = try registry.publishLayerVersion(
            name: "deps", code: code, description: "first", compatibleRuntimes: ["python3.12"])
        #expect(one.Version == 1)
        #expect(one.LayerVersionArn == "arn:aws:lambda:local:000000000000:layer:deps:1")
        #expect(one.LayerArn == "arn:aws:lambda:local:000000000000:layer:deps")
        #expect(one.Content == LayerVersionContent(CodeSha256: code.codeSha256, CodeSize: code.size))
        #expect(one.CompatibleRuntimes == ["python3.12"])
        #expect(one.LicenseInfo == nil)
        #expect(
            try registry.publishLayerVersion(name: "deps", code: code).Version == 2,
            "identical content is a new version")
        #expect(try registry.deleteLayerVersion(name: "deps", version: 1))
        #expect(try registry.deleteLayerVersion(name: "deps", version: 2))
        #expect(try registry.deleteLayerVersion(name: "deps", version: 2) == false, "idempotent")
        #expect(try registry.deleteLayerVersion(name: "nope", version: 1) == false)
        #expect(try registry.listLayers().items == [])
        #expect(try registry.publishLayerVersion(name: "deps", code: code).Version == 3)
        #expect(try registry.listLayerVersions(name: "deps").items.map(\.Version) == [3])
        expectRelctlError(.resourceNotFound, message: "The resource you requested does not exist.") {
            try registry.getLayerVersion(name: "deps", version: 1)
        }
        expectRelctlError(.invalidParameterValue, message: "Layer Version Cannot be less than 1") {
            try registry.getLayerVersion(name: "deps", version: 0)
        }
        try sandbox.expectConsistent()
    }

    @Test func layerListsAreNewestFirstAndFilterByRuntime() throws {
        _ = try registry.publishLayerVersion(
            name: "deps", code: try sandbox.code("a"), compatibleRuntimes: ["python3.12"])
        _ = try registry.publishLayerVersion(
            name: "deps", code: try sandbox.code("b"), compatibleRuntimes: ["nodejs22.x"])
        _ = try registry.publishLayerVersion(name: "tools", code: try sandbox.code("c"))
        #expect(try registry.listLayerVersions(name: "deps").items.map(\.Version) == [2, 1])
        #expect(
            try registry.listLayerVersions(name: "deps", compatibleRuntime: "python3.12").items.map(\.Version) == [1])
        #expect(try registry.listLayerVersions(name: "unknown").items == [])
        let layers = try registry.listLayers().items
        #expect(layers.map(\.LayerName) == ["deps", "tools"])
        #expect(layers.first?.LatestMatchingVersion.Version == 2)
        #expect(
            try registry.listLayers(compatibleRuntime: "python3.12").items.map {
                "\($0.LayerName):\($0.LatestMatchingVersion.Version)"
            } == ["deps:1"])
    }

    @Test func functionLayersAreResolvedWithAwsRules() throws {
        for index in 1...6 {
            _ = try registry.publishLayerVersion(name: "l\(index)", code: try sandbox.code("layer-\(index)"))
        }
        _ = try registry.publishLayerVersion(name: "l1", code: try sandbox.code("layer-1b"))
        var settings = TestData.settings
        settings.layers = (1...5).map { layerArn("l\($0)", 1) }
        let created = try sandbox.create("orders", try sandbox.code("one"), settings: settings)
        #expect(created.Layers?.map(\.Arn) == settings.layers)

        expectRelctlError(.invalidParameterValue, message: "Cannot reference more than 5 layers.") {
            try registry.updateFunctionConfiguration(
                ref("orders"), ConfigurationUpdate(layers: (1...6).map { layerArn("l\($0)", 1) }))
        }
        expectRelctlError(
            .invalidParameterValue,
            message:
                "Two different versions of the same layer are not allowed to be referenced in the same function. \(layerArn("l1", 1)) and \(layerArn("l1", 2)) are versions of the same layer."
        ) {
            try registry.updateFunctionConfiguration(
                ref("orders"), ConfigurationUpdate(layers: [layerArn("l1", 1), layerArn("l1", 2)]))
        }
        expectRelctlError(.invalidParameterValue, message: "Layer version \(layerArn("l1", 9)) does not exist.") {
            try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(layers: [layerArn("l1", 9)]))
        }
        expectRelctlError(.invalidParameterValue, message: "Layer version \(layerArn("ghost", 1)) does not exist.") {
            try sandbox.create(
                "other", try sandbox.code("other"),
                settings: {
                    var s = TestData.settings
                    s.layers = [layerArn("ghost", 1)]
                    return s
                }())
        }
        expectRelctlError(.invalidParameterValue, messagePrefix: "Layers are not in the same region as the function.") {
            try registry.updateFunctionConfiguration(
                ref("orders"), ConfigurationUpdate(layers: ["arn:aws:lambda:us-east-1:000000000000:layer:l1:1"]))
        }
        #expect(try registry.getFunction(ref("orders")) == created)
        let swapped = try registry.updateFunctionConfiguration(
            ref("orders"), ConfigurationUpdate(layers: [layerArn("l1", 2)]))
        #expect(swapped.Layers == [LayerReference(Arn: layerArn("l1", 2), CodeSize: try sandbox.code("layer-1b").size)])
        let published = try registry.publishVersion(ref("orders"))
        #expect(published.Layers == swapped.Layers)
        try sandbox.expectConsistent()
    }

    @Test func deletedButUsedLayerVersionKeepsCountingUntilTheLastUserGoes() throws {
        let layerCode = try sandbox.code("layer", noise: 300)
        let functionCode = try sandbox.code("fn")
        _ = try registry.publishLayerVersion(name: "deps", code: layerCode)
        var settings = TestData.settings
        settings.layers = [layerArn("deps", 1)]
        try sandbox.create("orders", functionCode, settings: settings)
        _ = try registry.publishVersion(ref("orders"))  // version 1 uses deps:1 too
        let full = 2 * functionCode.size + layerCode.size
        #expect(try sandbox.usage() == full)

        #expect(try registry.deleteLayerVersion(name: "deps", version: 1))
        #expect(try sandbox.usage() == full, "still used, so still stored and counted")
        #expect(sandbox.blobFiles().contains(layerCode.sha256Hex))
        expectRelctlError(.resourceNotFound) { try registry.getLayerVersion(name: "deps", version: 1) }
        #expect(try registry.listLayerVersions(name: "deps").items == [])
        #expect(try registry.getFunction(ref("orders", .version(1))).Layers?.map(\.Arn) == [layerArn("deps", 1)])
        // A hidden version cannot be attached anew.
        expectRelctlError(.invalidParameterValue, message: "Layer version \(layerArn("deps", 1)) does not exist.") {
            try sandbox.create("other", try sandbox.code("other"), settings: settings)
        }
        try sandbox.expectConsistent()

        // $LATEST lets go; version 1 still holds it.
        _ = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(layers: []))
        #expect(try sandbox.usage() == full)
        try sandbox.expectConsistent()

        // The last user goes: the layer version and its blob go with it.
        try registry.deleteFunction(ref("orders", .version(1)))
        #expect(try sandbox.usage() == functionCode.size)
        #expect(!sandbox.blobFiles().contains(layerCode.sha256Hex))
        #expect(try registry.publishLayerVersion(name: "deps", code: layerCode).Version == 2)
        try sandbox.expectConsistent()
    }

    @Test func deletingAFunctionReleasesTheDeletedLayerVersionsOnlyItUsed() throws {
        let layerCode = try sandbox.code("layer", noise: 100)
        _ = try registry.publishLayerVersion(name: "deps", code: layerCode)
        var settings = TestData.settings
        settings.layers = [layerArn("deps", 1)]
        try sandbox.create("orders", try sandbox.code("fn"), settings: settings, publish: true)
        try registry.deleteLayerVersion(name: "deps", version: 1)
        try registry.deleteFunction(ref("orders"))
        #expect(try sandbox.usage() == 0)
        #expect(sandbox.blobFiles() == [])
        try sandbox.expectConsistent()
    }

    // MARK: - Quota

    @Test func usageCountsLatestEveryVersionAndLayerVersions() throws {
        let a = try sandbox.code("a", noise: 100)
        let b = try sandbox.code("b", noise: 200)
        let layer = try sandbox.code("layer", noise: 300)
        try sandbox.create("fa", a, publish: true)  // $LATEST + 1
        _ = try registry.updateFunctionCode(ref("fa"), code: a)
        _ = try registry.publishVersion(ref("fa"))  // 2, identical code counted again
        try sandbox.create("fb", b)  // $LATEST only
        _ = try registry.publishLayerVersion(name: "deps", code: layer)
        _ = try registry.publishLayerVersion(name: "deps", code: layer)
        let expected = 3 * a.size + b.size + 2 * layer.size
        let settings = try registry.accountSettings()
        #expect(settings.AccountUsage == .init(TotalCodeSize: expected, FunctionCount: 2))
        #expect(settings.AccountLimit.TotalCodeSize == 80_530_636_800)
        #expect(settings.AccountLimit.CodeSizeZipped == 52_428_800)
        #expect(settings.AccountLimit.CodeSizeUnzipped == 262_144_000)
        let report = try registry.quotaReport()
        #expect(report.StoredBytes == a.size + b.size + layer.size, "identical blobs are stored once")
        let consumers = report.TopConsumers.map { "\($0.Kind) \($0.Name) \($0.CodeSize) \($0.Versions)" }
        #expect(
            Set(consumers) == [
                "Function fa \(3 * a.size) 2", "Function fb \(b.size) 0", "Layer deps \(2 * layer.size) 2",
            ])
        #expect(Set(sandbox.blobFiles()) == Set([a.sha256Hex, b.sha256Hex, layer.sha256Hex]))
        try sandbox.expectConsistent()
    }

    @Test func writesThatWouldCrossTheLimitThrowCodeStorageExceededAndChangeNothing() throws {
        let small = try sandbox.code("small")
        let big = try sandbox.code("big", noise: 2_000)
        try sandbox.create("orders", small)
        // Room for exactly one more copy of `small`.
        try registry.setQuota(2 * small.size)
        let latestBefore = try registry.getFunction(ref("orders"))

        func expectUnchanged(sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(
                try registry.accountSettings().AccountUsage == .init(TotalCodeSize: small.size, FunctionCount: 1),
                sourceLocation: sourceLocation)
            #expect(try sandbox.versions("orders") == ["$LATEST"], sourceLocation: sourceLocation)
            #expect(try registry.getFunction(ref("orders")) == latestBefore, sourceLocation: sourceLocation)
            #expect(try registry.listLayerVersions(name: "deps").items == [], sourceLocation: sourceLocation)
            #expect(sandbox.blobFiles() == [small.sha256Hex], sourceLocation: sourceLocation)
            #expect(try registry.quotaReport().StoredBytes == small.size, sourceLocation: sourceLocation)
            try sandbox.expectConsistent(sourceLocation: sourceLocation)
        }

        let exceeded = "Code storage limit exceeded."
        expectRelctlError(.codeStorageExceeded, message: exceeded) { try sandbox.create("other", big) }
        try expectUnchanged()
        expectRelctlError(.codeStorageExceeded, message: exceeded) { try sandbox.create("other", small, publish: true) }
        expectRelctlError(.resourceNotFound) { try registry.getFunction(ref("other")) }
        try expectUnchanged()
        expectRelctlError(.codeStorageExceeded, message: exceeded) {
            try registry.updateFunctionCode(ref("orders"), code: big)
        }
        try expectUnchanged()
        expectRelctlError(.codeStorageExceeded, message: exceeded) {
            try registry.publishLayerVersion(name: "deps", code: big)
        }
        try expectUnchanged()
        #expect(RelctlError.Code.codeStorageExceeded.httpStatus == 400)

        // Exactly at the limit is allowed; one byte more is not.
        #expect(try registry.publishVersion(ref("orders")).Version == "1")
        #expect(try sandbox.usage() == 2 * small.size)
        let atLimit = try registry.getFunction(ref("orders"))
        // Same code again, published: one more copy does not fit, and $LATEST keeps its revision.
        expectRelctlError(.codeStorageExceeded, message: exceeded) {
            try registry.updateFunctionCode(ref("orders"), code: small, publish: true)
        }
        #expect(try registry.getFunction(ref("orders")) == atLimit)
        _ = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(memorySize: 256))
        expectRelctlError(.codeStorageExceeded, message: exceeded) { try registry.publishVersion(ref("orders")) }
        #expect(try sandbox.versions("orders") == ["$LATEST", "1"])
        #expect(try sandbox.usage() == 2 * small.size)
        try sandbox.expectConsistent()
    }

    @Test func lowerLimitThanUsageStillAllowsChangesThatShrinkUsage() throws {
        let big = try sandbox.code("big", noise: 2_000)
        let small = try sandbox.code("small")
        try sandbox.create("orders", big, publish: true)
        try registry.setQuota(big.size)
        #expect(try registry.quotaReport().UsedPercent == 200)
        let updated = try registry.updateFunctionCode(ref("orders"), code: small)
        #expect(updated.CodeSha256 == small.codeSha256)
        #expect(try sandbox.usage() == big.size + small.size)
        try registry.deleteFunction(ref("orders", .version(1)))
        #expect(try sandbox.usage() == small.size)
        expectRelctlError(.invalidParameterValue) { try registry.setQuota(0) }
        try sandbox.expectConsistent()
    }

    @Test func storedBytesDedupeIdenticalBlobsAcrossFunctionsAndLayers() throws {
        let code = try sandbox.code("shared")
        try sandbox.create("a", code, publish: true)
        try sandbox.create("b", code)
        _ = try registry.publishLayerVersion(name: "deps", code: code)
        #expect(try sandbox.usage() == 4 * code.size)
        #expect(try registry.quotaReport().StoredBytes == code.size)
        #expect(sandbox.blobFiles() == [code.sha256Hex])
        try registry.deleteFunction(ref("a"))
        try registry.deleteLayerVersion(name: "deps", version: 1)
        #expect(sandbox.blobFiles() == [code.sha256Hex], "b still uses it")
        try registry.deleteFunction(ref("b"))
        #expect(sandbox.blobFiles() == [])
        #expect(try registry.quotaReport().StoredBytes == 0)
        try sandbox.expectConsistent()
    }

    // MARK: - Several registries, concurrency

    @Test func twoRegistriesOnTheSameDirectorySeeEachOthersWrites() throws {
        let other = try sandbox.openAnotherRegistry()
        try sandbox.create("orders", try sandbox.code("one"))
        #expect(try other.getFunction(ref("orders")).FunctionName == "orders")
        let published = try other.publishVersion(ref("orders"))
        #expect(try registry.getFunction(ref("orders", .version(1))) == published)
        _ = try other.createAlias(function: "orders", name: "live", functionVersion: "1")
        #expect(try registry.getAlias(function: "orders", name: "live").FunctionVersion == "1")
        expectRelctlError(.resourceConflict) {
            try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        }
        #expect(try other.accountSettings() == registry.accountSettings())
        #expect(try other.checkIntegrity().Problems == [])
    }

    @Test func concurrentAliasUpdatesWithTheSameRevisionIdHaveExactlyOneWinner() throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        let other = try sandbox.openAnotherRegistry()
        let registries = [registry, other]
        var revision = try registry.createAlias(function: "orders", name: "live", functionVersion: "1").RevisionId
        let contenders = 8
        for round in 0..<4 {
            let outcomes = Outcomes<AliasConfiguration>()
            let expected = revision
            DispatchQueue.concurrentPerform(iterations: contenders) { index in
                do {
                    let alias = try registries[index % 2].updateAlias(
                        function: "orders", name: "live", functionVersion: index % 2 == 0 ? "1" : "2",
                        description: "round \(round) writer \(index)", expectedRevisionId: expected)
                    outcomes.add(.success(alias))
                } catch {
                    outcomes.add(.failure(error))
                }
            }
            let results = outcomes.all
            let winners = results.compactMap { try? $0.get() }
            let losers = results.compactMap { result -> RelctlError? in
                if case .failure(let error) = result { return error as? RelctlError }
                return nil
            }
            #expect(winners.count == 1, "round \(round)")
            #expect(losers.count == contenders - 1, "round \(round)")
            #expect(losers.allSatisfy { $0 == .revisionMismatch }, "round \(round): \(losers)")
            let current = try registry.getAlias(function: "orders", name: "live")
            #expect(current == winners.first)
            revision = current.RevisionId
        }
        #expect(try registry.history(function: "orders", alias: "live").count == 5)
        try sandbox.expectConsistent()
    }

    @Test func concurrentPublishesFromTwoRegistriesNeverShareAVersionNumber() throws {
        try sandbox.create("orders", try sandbox.code("zero"))
        let other = try sandbox.openAnotherRegistry()
        let registries = [registry, other]
        let packages = try (0..<8).map { try sandbox.code("code-\($0)") }
        let outcomes = Outcomes<FunctionConfiguration>()
        DispatchQueue.concurrentPerform(iterations: packages.count) { index in
            do {
                outcomes.add(
                    .success(
                        try registries[index % 2].updateFunctionCode(
                            ref("orders"), code: packages[index], publish: true)))
            } catch {
                outcomes.add(.failure(error))
            }
        }
        let versions = outcomes.all.compactMap { try? $0.get().Version }
        #expect(versions.count == packages.count)
        #expect(Set(versions) == Set((1...packages.count).map(String.init)))
        try sandbox.expectConsistent()
    }

    @Test func concurrentCreatesAndDeletesOfIdenticalCodeNeverLoseTheSharedBlob() throws {
        let code = try sandbox.code("shared")
        let other = try sandbox.openAnotherRegistry()
        let registries = [registry, other]
        let failures = Outcomes<Bool>()
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let name = index == 0 ? "a" : "b"
            for _ in 0..<10 {
                do {
                    _ = try registries[index].createFunction(
                        name: name, settings: TestData.settings, code: code, publish: true)
                    try registries[index].deleteFunction(FunctionReference(name: name))
                } catch {
                    failures.add(.failure(error))
                }
            }
        }
        #expect(failures.all.isEmpty)
        try sandbox.expectConsistent()
        #expect(sandbox.blobFiles() == [])
        try sandbox.create("a", code)
        #expect(sandbox.blobFiles() == [code.sha256Hex])
        try sandbox.expectConsistent()
    }

    // MARK: - Integrity and gc

    @Test func integrityCheckIsConsistentAfterEveryKindOfOperation() async throws {
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        _ = try registry.publishLayerVersion(name: "deps", code: try sandbox.code("layer"))
        _ = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(layers: [layerArn("deps", 1)]))
        _ = try registry.publishVersion(ref("orders"))
        _ = try registry.createAlias(
            function: "orders", name: "live", functionVersion: "2", additionalVersionWeights: ["3": 0.2])
        _ = try await RolloutEngine(store: registry).rollback(function: "orders", alias: "live")
        try registry.deleteLayerVersion(name: "deps", version: 1)
        try registry.deleteFunction(ref("orders", .version(1)))
        _ = try registry.cleanup(CleanupRequest(keep: 0), dryRun: false)
        let report = try registry.checkIntegrity()
        #expect(report.isConsistent, "\(report.Problems)")
        #expect(report.Notices == [])
        #expect(report.CheckedVersions == 2, "$LATEST and version 2 (alias live)")
        #expect(report.CheckedBlobs == 2, "code two (shared by $LATEST and 2) and the deleted-but-used layer")
    }

    @Test func collectGarbageRemovesOrphanBlobFilesOnly() throws {
        let code = try sandbox.code("one")
        try sandbox.create("orders", code)
        // What a kill -9 between a blob's rename and its row's commit leaves: a real blob, named by its hash.
        let orphanName = CodeHash.hex(of: Data("orphan bytes".utf8))
        let orphanFolder = registry.blobs.root.appendingPathComponent(String(orphanName.prefix(2)), isDirectory: true)
        try FileManager.default.createDirectory(at: orphanFolder, withIntermediateDirectories: true)
        try Data("orphan bytes".utf8).write(to: orphanFolder.appendingPathComponent(orphanName))
        let before = try registry.checkIntegrity()
        #expect(before.Problems == [])
        #expect(before.Notices.count == 1)

        let report = try registry.collectGarbage()
        #expect(report.RemovedFiles == 1)
        #expect(report.RemovedBytes == 12)
        #expect(report.RemovedTemporaryFiles == 0)
        #expect(sandbox.blobFiles() == [code.sha256Hex])
        #expect(try registry.getFunction(ref("orders")).CodeSha256 == code.codeSha256)
        try sandbox.expectConsistent()
        #expect(try registry.collectGarbage().RemovedFiles == 0)
    }

    @Test func collectGarbageRemovesOnlyTemporaryFilesOlderThanAnHour() throws {
        let folder = registry.blobs.root.appendingPathComponent("cd", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: folder.appendingPathComponent(".tmp-cdcdcdcdcdcdcdcd-\(UUID().uuidString)"))
        #expect(try registry.collectGarbage().RemovedTemporaryFiles == 0, "it may belong to a write in progress")
        #expect(try registry.checkIntegrity().Notices.count == 1)
        let later = try sandbox.openAnotherRegistry(clock: { Date().addingTimeInterval(2 * 3600) })
        #expect(try later.collectGarbage().RemovedTemporaryFiles == 1)
        try sandbox.expectConsistent()
    }

    @Test(arguments: [
        ("sha256/ab/not-a-hash", "sha256/ab/not-a-hash"),
        ("sha256/stray.txt", "sha256/stray.txt"),
        ("stray.txt", "stray.txt"),
        ("sha256/cd/ab" + String(repeating: "0", count: 62), "sha256/cd/ab" + String(repeating: "0", count: 62)),
        ("sha256/ab/AB" + String(repeating: "0", count: 62), "sha256/ab/AB" + String(repeating: "0", count: 62)),
        ("sha256/AB/AB" + String(repeating: "0", count: 62), "sha256/AB"),
        ("md5/ab/0123", "md5"),
    ])
    func integrityCheckReportsAFileThatIsNotABlobAsAProblemAndGcLeavesIt(_ path: String, _ reported: String) throws {
        let code = try sandbox.code("one")
        try sandbox.create("orders", code)
        let file = registry.blobs.root.deletingLastPathComponent().appendingPathComponent(path)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("someone's file".utf8).write(to: file)

        let report = try registry.checkIntegrity()
        #expect(report.Problems.count == 1, "\(report.Problems)")
        #expect(
            report.Problems.first?.hasPrefix("blobs/\(reported) is not a content blob") == true, "\(report.Problems)")
        #expect(report.Notices == [], "a stray is not an orphan blob")
        #expect(
            try registry.checkIntegrity(verifyHashes: false).Problems == report.Problems,
            "found by its name, without hashing")
        #expect(try registry.collectGarbage().RemovedFiles == 0, "gc removes blobs, not someone's file")
        #expect(FileManager.default.fileExists(atPath: file.path))
        #expect(try registry.getFunction(ref("orders")).CodeSha256 == code.codeSha256)
    }

    @Test func integrityCheckReportsAnUnreferencedFileWhoseContentIsNotItsName() throws {
        let name = "ab" + String(repeating: "0", count: 62)
        let folder = registry.blobs.root.appendingPathComponent("ab", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("not the content of that hash".utf8).write(to: folder.appendingPathComponent(name))

        let report = try registry.checkIntegrity()
        #expect(
            report.Problems == [
                "blobs/sha256/ab/\(name) belongs to no row and its content does not match its name, so it is not a content blob; `relctl gc` removes it"
            ])
        #expect(report.Notices == [])
        let unverified = try registry.checkIntegrity(verifyHashes: false)
        #expect(unverified.Problems == [], "without hashing it looks like any orphan blob")
        #expect(unverified.Notices.count == 1)
        #expect(try registry.collectGarbage().RemovedFiles == 1)
        try sandbox.expectConsistent()
    }

    @Test func integrityCheckReportsADeletedBlobFile() throws {
        let code = try sandbox.code("one")
        try sandbox.create("orders", code)
        try FileManager.default.removeItem(at: registry.blobs.url(for: code.sha256Hex))
        let report = try registry.checkIntegrity()
        #expect(!report.isConsistent)
        #expect(report.Problems.contains("Blob \(code.sha256Hex) has a row but no file"))
    }

    @Test func integrityCheckReportsACorruptedBlobFile() throws {
        let code = try sandbox.code("one")
        try sandbox.create("orders", code)
        let file = registry.blobs.url(for: code.sha256Hex)
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: file)
        let report = try registry.checkIntegrity()
        #expect(report.Problems == ["Blob \(code.sha256Hex)'s content does not match its hash"])
        #expect(
            try registry.checkIntegrity(verifyHashes: false).isConsistent,
            "without hashing, a same-size change goes unseen")

        bytes.append(contentsOf: [1, 2, 3])
        try bytes.write(to: file)
        #expect(
            try registry.checkIntegrity(verifyHashes: false).Problems
                == ["Blob \(code.sha256Hex) is \(code.size + 3) bytes on disk, \(code.size) in its row"])
    }

    // MARK: - Migrations

    @Test func everyMigrationFileIsEmbeddedInOrder() throws {
        let folder = TestData.repositoryRoot.appendingPathComponent("migrations", isDirectory: true)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(!files.isEmpty)
        #expect(Migrations.all.map(\.identifier) == files.map { String($0.dropLast(4)) })
        #expect(Migrations.all.map(\.identifier) == Migrations.all.map(\.identifier).sorted())
        for migration in Migrations.all {
            let text = try String(
                contentsOf: folder.appendingPathComponent(migration.identifier + ".sql"), encoding: .utf8)
            #expect(migration.sql == text, "\(migration.identifier) embeds the file as it is")
        }
    }

    @Test func registryListsAppliedMigrationsAndKeepsDataWhenReopened() throws {
        #expect(try registry.appliedMigrations() == Migrations.all.map(\.identifier))
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        let reopened = try sandbox.openAnotherRegistry()
        #expect(try reopened.appliedMigrations() == Migrations.all.map(\.identifier))
        #expect(try reopened.listVersions(ref("orders")).items == registry.listVersions(ref("orders")).items)
        #expect(
            try reopened.getAlias(function: "orders", name: "live")
                == registry.getAlias(function: "orders", name: "live"))
        #expect(try reopened.accountSettings() == registry.accountSettings())
        #expect(try reopened.checkIntegrity().isConsistent)
    }
}

/// Results gathered from several threads.
final class Outcomes<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Value, any Error>] = []

    func add(_ result: Result<Value, any Error>) {
        lock.withLock { results.append(result) }
    }

    var all: [Result<Value, any Error>] { lock.withLock { results } }
}
