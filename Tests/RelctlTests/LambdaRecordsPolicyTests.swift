import Foundation
import RelctlCore
import RelctlPostgres
import RelctlStorage
import RelctlStore
import Testing

/// Issue 10 §1, §5: AddPermission / GetPolicy / RemovePermission and Put/Get/List/DeleteProvisionedConcurrencyConfig
/// through `RegistryRecords`, with the same answers and AWS errors on SQLite and PostgreSQL.
extension LambdaRecordsTests {
    static let functionArn = TestData.arnPrefix + "orders"

    static func statementIds(_ policy: String) throws -> [String] {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(policy.utf8)) as? [String: Any])
        #expect(document["Version"] as? String == "2012-10-17")
        #expect(document["Id"] as? String == "default")
        return (document["Statement"] as? [[String: Any]] ?? []).compactMap { $0["Sid"] as? String }
    }

    @Test(arguments: StoreEngine.allCases)
    func permissionsAreAddedReadAndRemovedWithRevisionChecks(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let orders = FunctionReference(name: "orders")
        await #expect(throws: ResourcePolicy.resourceDoesNotExist) { try await records.getPolicy(orders) }

        let statement = try await records.addPermission(
            orders,
            PermissionGrant(
                statementId: "s3-invoke", action: "lambda:InvokeFunction", principal: "s3.amazonaws.com",
                sourceArn: "arn:aws:s3:::my-bucket", sourceAccount: "000000000000"),
            expectedRevisionId: nil)
        // AWS's bytes: keys in its order, StringEquals before ArnLike, slashes unescaped.
        #expect(
            statement
                == #"{"Sid":"s3-invoke","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"\#(Self.functionArn)","Condition":{"StringEquals":{"AWS:SourceAccount":"000000000000"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::my-bucket"}}}"#
        )
        let first = try await records.getPolicy(orders)
        #expect(try Self.statementIds(first.policy) == ["s3-invoke"])
        #expect(!first.revisionId.isEmpty)

        // A RevisionId that is not the policy's is refused; the policy's own is taken and replaced.
        await #expect(throws: ResourcePolicy.revisionMismatch("GetPolicy")) {
            try await records.addPermission(
                orders,
                PermissionGrant(statementId: "account", action: "lambda:GetFunction", principal: "123456789012"),
                expectedRevisionId: "stale")
        }
        let account = try await records.addPermission(
            orders,
            PermissionGrant(
                statementId: "account", action: "lambda:GetFunction", principal: "123456789012",
                principalOrgID: "o-a1b2c3d4e5", functionUrlAuthType: "AWS_IAM"),
            expectedRevisionId: first.revisionId)
        #expect(
            account
                == #"{"Sid":"account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"lambda:GetFunction","Resource":"\#(Self.functionArn)","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5","lambda:FunctionUrlAuthType":"AWS_IAM"}}}"#
        )
        let second = try await records.getPolicy(orders)
        #expect(try Self.statementIds(second.policy) == ["s3-invoke", "account"])
        #expect(second.revisionId != first.revisionId)
        #expect(
            second.policy
                == #"{"Version":"2012-10-17","Id":"default","Statement":[\#(statement),\#(account)]}"#)

        await #expect(throws: ResourcePolicy.duplicateStatement("s3-invoke")) {
            try await records.addPermission(
                orders,
                PermissionGrant(
                    statementId: "s3-invoke", action: "lambda:InvokeFunction", principal: "sns.amazonaws.com"),
                expectedRevisionId: nil)
        }
        await #expect(
            throws: RelctlError.validation(
                value: "invoke", field: "action",
                constraint: "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
        ) {
            try await records.addPermission(
                orders, PermissionGrant(statementId: "x", action: "invoke", principal: "*"), expectedRevisionId: nil)
        }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.addPermission(
                FunctionReference(name: "missing"),
                PermissionGrant(statementId: "x", action: "lambda:*", principal: "*"),
                expectedRevisionId: nil)
        }

        await #expect(throws: ResourcePolicy.revisionMismatch("GetPolicy")) {
            try await records.removePermission(orders, statementId: "account", expectedRevisionId: first.revisionId)
        }
        await #expect(throws: RelctlError(.resourceNotFound, "Statement nope is not found in resource policy.")) {
            try await records.removePermission(orders, statementId: "nope", expectedRevisionId: nil)
        }
        try await records.removePermission(orders, statementId: "account", expectedRevisionId: second.revisionId)
        let third = try await records.getPolicy(orders)
        #expect(try Self.statementIds(third.policy) == ["s3-invoke"])
        #expect(third.revisionId != second.revisionId)
        // The policy goes with its last statement.
        try await records.removePermission(orders, statementId: "s3-invoke", expectedRevisionId: nil)
        await #expect(throws: ResourcePolicy.resourceDoesNotExist) { try await records.getPolicy(orders) }
        await #expect(throws: ResourcePolicy.noPolicy) {
            try await records.removePermission(orders, statementId: "s3-invoke", expectedRevisionId: nil)
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func versionsAndAliasesHavePoliciesOfTheirOwnThatGoWithThem(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        func reference(_ qualifier: Qualifier?) -> FunctionReference {
            FunctionReference(name: "orders", qualifier: qualifier)
        }
        func grant(_ id: String) -> PermissionGrant {
            PermissionGrant(statementId: id, action: "lambda:InvokeFunction", principal: "apigateway.amazonaws.com")
        }
        let onAlias = try await records.addPermission(
            reference(.alias("live")), grant("apigw"), expectedRevisionId: nil)
        #expect(onAlias.contains(#""Resource":"\#(Self.functionArn):live""#), "\(onAlias)")
        let onVersion = try await records.addPermission(reference(.version(1)), grant("apigw"), expectedRevisionId: nil)
        #expect(onVersion.contains(#""Resource":"\#(Self.functionArn):1""#), "\(onVersion)")
        _ = try await records.addPermission(reference(.version(3)), grant("apigw"), expectedRevisionId: nil)
        _ = try await records.addPermission(reference(nil), grant("whole"), expectedRevisionId: nil)
        #expect(try Self.statementIds(try await records.getPolicy(reference(.alias("live"))).policy) == ["apigw"])
        #expect(try Self.statementIds(try await records.getPolicy(reference(nil)).policy) == ["whole"])
        await #expect(throws: ResourcePolicy.resourceDoesNotExist) {
            try await records.getPolicy(reference(.version(2)))
        }

        // `$LATEST` has no policy; a version or alias that does not exist is not found.
        await #expect(throws: ResourcePolicy.latestHasNoPolicy) {
            try await records.addPermission(reference(.latest), grant("x"), expectedRevisionId: nil)
        }
        await #expect(throws: ResourcePolicy.resourceDoesNotExist) { try await records.getPolicy(reference(.latest)) }
        await #expect(throws: ResourcePolicy.noPolicy) {
            try await records.removePermission(reference(.latest), statementId: "x", expectedRevisionId: nil)
        }
        await #expect(throws: RelctlError.functionNotFound(Self.functionArn + ":7")) {
            try await records.addPermission(reference(.version(7)), grant("x"), expectedRevisionId: nil)
        }
        await #expect(throws: RelctlError.functionNotFound(Self.functionArn + ":beta")) {
            try await records.getPolicy(reference(.alias("beta")))
        }

        // An alias's policy goes with the alias, a version's with the version.
        #expect(try await records.deleteAlias(function: "orders", name: "live"))
        _ = try await records.createAlias(
            function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: [:], description: "")
        await #expect(throws: ResourcePolicy.resourceDoesNotExist) {
            try await records.getPolicy(reference(.alias("live")))
        }
        #expect(try await records.deleteFunction(reference(.version(3))) == .version(3))
        await #expect(throws: RelctlError.functionNotFound(Self.functionArn + ":3")) {
            try await records.getPolicy(reference(.version(3)))
        }

        // The function's policies (its own, its versions', its aliases') go with the function: a new
        // function of that name, with a version 1 and an alias live again, has none.
        #expect(try await records.deleteFunction(reference(nil)) == .function(versions: 2, aliases: 1))
        try await fixture.createFunction("orders", marker: "again")
        #expect(try await records.publishVersion(name: "orders", description: nil) == 1)
        _ = try await records.createAlias(
            function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: [:], description: "")
        for qualifier in [nil, Qualifier.version(1), .alias("live")] {
            await #expect(throws: ResourcePolicy.resourceDoesNotExist) {
                try await records.getPolicy(reference(qualifier))
            }
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func provisionedConcurrencyIsPutReadListedAndDeleted(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let records = fixture.records
        let now = LambdaTimestamp.string(from: fixture.clock.now())
        let live = try await records.putProvisionedConcurrency("orders", qualifier: .alias("live"), executions: 2)
        #expect(
            live
                == ProvisionedConcurrencyConfig(
                    functionArn: Self.functionArn + ":live", requested: 2, lastModified: now))
        #expect(try await records.provisionedConcurrency("orders", qualifier: .alias("live")) == live)
        _ = try await records.putProvisionedConcurrency("orders", qualifier: .version(3), executions: 1)
        _ = try await records.putProvisionedConcurrency("orders", qualifier: .version(2), executions: 3)
        // Put again replaces the setting.
        #expect(
            try await records.putProvisionedConcurrency("orders", qualifier: .version(2), executions: 4).requested == 4)

        // By qualifier, in pages; the marker is the last qualifier of the page.
        let first = try await records.provisionedConcurrencyPage("orders", marker: nil, maxItems: 2)
        #expect(first.items.map(\.functionArn) == [Self.functionArn + ":2", Self.functionArn + ":3"])
        #expect(first.items.map(\.requested) == [4, 1])
        #expect(first.nextMarker == "3")
        let rest = try await records.provisionedConcurrencyPage("orders", marker: first.nextMarker, maxItems: 2)
        #expect(rest.items == [live])
        #expect(rest.nextMarker == nil)
        #expect(try await records.provisionedConcurrencyPage("orders", marker: nil, maxItems: nil).items.count == 3)
        await #expect(
            throws: RelctlError.validation(
                value: "51", field: "maxItems", constraint: "Member must have value between 1 and 50")
        ) { try await records.provisionedConcurrencyPage("orders", marker: nil, maxItems: 51) }
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "missing")) {
            try await records.provisionedConcurrencyPage("missing", marker: nil, maxItems: nil)
        }

        // Refusals: `$LATEST`, fewer than 1, a version or alias that does not exist, no setting.
        await #expect(
            throws: RelctlError(.invalidParameterValue, ProvisionedConcurrencyConfig.latestCannotBeProvisioned)
        ) { try await records.putProvisionedConcurrency("orders", qualifier: .latest, executions: 1) }
        await #expect(
            throws: RelctlError(.invalidParameterValue, ProvisionedConcurrencyConfig.latestHasNoProvisionedConcurrency)
        ) { try await records.provisionedConcurrency("orders", qualifier: .latest) }
        await #expect(
            throws: RelctlError.validation(
                value: "0", field: "provisionedConcurrentExecutions",
                constraint: "Member must have value greater than or equal to 1")
        ) { try await records.putProvisionedConcurrency("orders", qualifier: .version(1), executions: 0) }
        await #expect(throws: RelctlError.functionNotFound(Self.functionArn + ":9")) {
            try await records.putProvisionedConcurrency("orders", qualifier: .version(9), executions: 1)
        }
        await #expect(throws: ProvisionedConcurrencyConfig.aliasNotFound(Self.functionArn + ":beta")) {
            try await records.provisionedConcurrency("orders", qualifier: .alias("beta"))
        }
        await #expect(throws: ProvisionedConcurrencyConfig.notFound) {
            try await records.provisionedConcurrency("orders", qualifier: .version(1))
        }
        // An alias whose version has a setting of its own cannot have one.
        _ = try await records.createAlias(
            function: "orders", name: "beta", functionVersion: "2", additionalVersionWeights: [:], description: "")
        await #expect(throws: ProvisionedConcurrencyConfig.aliasOfProvisionedVersion) {
            try await records.putProvisionedConcurrency("orders", qualifier: .alias("beta"), executions: 1)
        }

        // The settings together stay within the function's reserved concurrency (2 + 4 + 1 = 7 now).
        _ = try await records.putFunctionConcurrency("orders", reserved: 8)
        await #expect(throws: ProvisionedConcurrencyConfig.aboveReservedConcurrency) {
            try await records.putProvisionedConcurrency("orders", qualifier: .version(3), executions: 3)
        }
        #expect(
            try await records.putProvisionedConcurrency("orders", qualifier: .version(3), executions: 2).requested == 2)

        // Delete (again: nothing to delete is no error); a setting goes with its alias or version.
        try await records.deleteProvisionedConcurrency("orders", qualifier: .version(2))
        try await records.deleteProvisionedConcurrency("orders", qualifier: .version(2))
        await #expect(throws: ProvisionedConcurrencyConfig.notFound) {
            try await records.provisionedConcurrency("orders", qualifier: .version(2))
        }
        #expect(try await records.deleteAlias(function: "orders", name: "live"))
        _ = try await records.createAlias(
            function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: [:], description: "")
        #expect(
            try await records.deleteFunction(FunctionReference(name: "orders", qualifier: .version(3))) == .version(3))
        #expect(try await records.provisionedConcurrencyPage("orders", marker: nil, maxItems: nil).items.isEmpty)
        let actions = try await records.history(function: "orders", alias: nil, limit: 20).map(\.Action)
        #expect(actions.filter { $0 == "PutProvisionedConcurrencyConfig" }.count == 5)
        #expect(
            actions.filter { $0 == "DeleteProvisionedConcurrencyConfig" }.count == 1, "one delete deleted something")
    }
}
