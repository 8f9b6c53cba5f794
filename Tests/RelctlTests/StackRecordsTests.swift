import Foundation
import RelctlCore
import RelctlMigrate
import RelctlPackages
import RelctlPostgres
import RelctlRollout
import RelctlSAM
import RelctlStacks
import RelctlStorage
import RelctlStore
import Testing

/// What the server's S3 and CloudFormation subsets keep (`S3ObjectStore`, `StackStore`) and the stack
/// engine over them, with the same answers on SQLite and PostgreSQL (where artifacts' bytes go to the
/// code store, content-addressed).
@Suite struct StackRecordsTests {
    /// The fixture's stores as the server hands them out: SQLite's registry, or PostgreSQL's rows with
    /// the data directory's blob store for bytes.
    struct Stores {
        var objects: any S3ObjectStore
        var stacks: any StackStore
        var applier: StackApplier
    }

    static func stores(_ fixture: EngineFixture) throws -> Stores {
        let registry = fixture.sandbox.registry
        let policies = registry.dataDirectory.appendingPathComponent("policies", isDirectory: true)
        guard let postgres = fixture.postgres else {
            return Stores(
                objects: registry, stacks: registry,
                applier: StackApplier(
                    records: registry, stacks: registry, rollout: registry, arn: registry.arn,
                    policiesFolder: policies))
        }
        let records = PostgresRecords(store: postgres, code: registry.blobs)
        return Stores(
            objects: records, stacks: postgres,
            applier: StackApplier(
                records: records, stacks: postgres, rollout: postgres, arn: postgres.arn, policiesFolder: policies))
    }

    @Test(arguments: StoreEngine.allCases)
    func bucketsAndObjectsAnswerAlikeOnBothEngines(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let objects = try Self.stores(fixture).objects
        func put(_ key: String, _ text: String, in bucket: String = "artifacts") async throws -> S3Object? {
            try await objects.putS3Object(
                bucket: bucket, key: key, data: Data(text.utf8), etag: "etag-\(text)", contentType: "text/plain",
                metadata: ["origin": text])
        }
        #expect(try await put("a", "one") == nil, "no bucket yet")
        #expect(try await objects.createS3Bucket("artifacts"))
        #expect(try await !objects.createS3Bucket("artifacts"), "a second CreateBucket finds it")
        #expect(try await objects.createS3Bucket("zz-empty"))
        #expect(try await objects.s3Buckets().map(\.name) == ["artifacts", "zz-empty"])
        #expect(try await objects.s3BucketExists("artifacts"))
        #expect(try await !objects.s3BucketExists("missing"))

        for (key, text) in [("dir/b", "two"), ("dir/a", "one"), ("Dir/c", "three"), ("dir_x", "four")] {
            _ = try #require(try await put(key, text))
        }
        let stored = try #require(try await objects.s3Object(bucket: "artifacts", key: "dir/a"))
        #expect(stored.sha256 == CodeHash.hex(of: Data("one".utf8)))
        #expect(stored.size == 3)
        #expect(stored.etag == "etag-one")
        #expect(stored.contentType == "text/plain")
        #expect(stored.metadata == ["origin": "one"])
        #expect(try await objects.s3ObjectData(stored) == Data("one".utf8))
        if let postgres = fixture.postgres {
            // Its bytes are a code object there: gc keeps them while a row names them.
            #expect(try await postgres.referencedCodeObjects()[stored.sha256] == 3)
        }
        #expect(try await objects.s3Object(bucket: "artifacts", key: "dir/z") == nil)

        // Byte order (uppercase first), a prefix whose `_` is not a wildcard, start-after and a limit.
        func keys(_ prefix: String, after: String? = nil, limit: Int = 1000) async throws -> [String] {
            try await objects.s3Objects(bucket: "artifacts", prefix: prefix, startAfter: after, limit: limit).map(\.key)
        }
        #expect(try await keys("") == ["Dir/c", "dir/a", "dir/b", "dir_x"])
        #expect(try await keys("dir/") == ["dir/a", "dir/b"])
        #expect(try await keys("dir_") == ["dir_x"])
        #expect(try await keys("", after: "dir/a", limit: 1) == ["dir/b"])

        let replaced = try #require(try await put("dir/a", "uno"))
        #expect(try await objects.s3ObjectData(replaced) == Data("uno".utf8))
        #expect(try await keys("dir/") == ["dir/a", "dir/b"], "a put replaces the key")

        #expect(try await objects.deleteS3Bucket("artifacts") == false, "not empty")
        for key in ["dir/a", "dir/b", "Dir/c", "dir_x", "never-there"] {
            try await objects.deleteS3Object(bucket: "artifacts", key: key)
        }
        #expect(try await keys("").isEmpty)
        #expect(try await objects.deleteS3Bucket("artifacts") == true)
        #expect(try await objects.deleteS3Bucket("artifacts") == nil)
    }

    /// Two servers settle the same stack at once (both answer DescribeStacks after its deployments ended, as
    /// a foreground `sam deploy` may beside them): the outcome and its events are recorded once, by one of them.
    @Test func twoServersSettlingAStackAtOnceRecordItsOutcomeOnce() async throws {
        let fixture = try await EngineFixture.make(.postgres)
        let first = try Self.stores(fixture).applier
        let another = try await fixture.openAnother()
        defer { another.close() }
        let other = try #require(another.store as? PostgresStore)
        let second = StackApplier(
            records: another.records, stacks: other, rollout: other, arn: other.arn,
            policiesFolder: first.policiesFolder)
        for round in 0..<6 {
            let deployment = try await fixture.deploy("Canary10Percent5Minutes")
            let name = "web\(round)"
            try await first.stacks.saveStack(
                Stack(
                    name: name, templateHash: "h", parameters: [:], status: "UPDATE_IN_PROGRESS",
                    deployments: [deployment.id], createTime: 1, updateTime: 1),
                resources: [], events: [])
            _ = try await fixture.engine.stop(id: deployment.id)
            let ended = try await fixture.records.deployment(id: deployment.id)
            async let byFirst = first.finish(name, [ended], created: false)
            async let bySecond = second.finish(name, [ended], created: false)
            let recorded = [try await byFirst, try await bySecond]
            #expect(recorded.filter { $0 }.count == 1, "round \(round): \(recorded)")
            let outcomes = try await first.events(name).filter { $0.resourceType == "AWS::CloudFormation::Stack" }
            #expect(outcomes.map(\.status) == ["UPDATE_FAILED"], "round \(round): \(outcomes)")
            #expect(try await other.stack(name)?.status == "UPDATE_FAILED")
            #expect(try await first.events(name).count == 2, "one event for the function, one for the stack")
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func stacksChangeSetsAndEventsAnswerAlikeOnBothEngines(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let stacks = try Self.stores(fixture).stacks
        #expect(try await stacks.stack("web") == nil)
        #expect(try await stacks.highestFunctionVersion("orders") == 3)
        #expect(try await stacks.highestFunctionVersion("missing") == nil)
        #expect(try await stacks.highestLayerVersion("missing") == 0)
        #expect(try await !stacks.deleteCodeDeployConfig("missing"))

        let web = Stack(
            name: "web", templateHash: "h1", parameters: ["Stage": "dev"], status: "UPDATE_IN_PROGRESS",
            deployments: ["d-1"], createTime: 10, updateTime: 10)
        let resources = [
            StackResource(
                logicalId: "Fn", resourceType: "AWS::Serverless::Function", physicalId: "web-fn", state: "{}"),
            StackResource(logicalId: "Alarm", resourceType: "AWS::CloudWatch::Alarm", physicalId: "a", state: "{}"),
        ]
        let created = StackEvent(time: 10, logicalId: "web", resourceType: "AWS::CloudFormation::Stack", status: "X")
        try await stacks.saveStack(web, resources: resources, events: [created])
        try await stacks.saveStack(
            Stack(
                name: "Api", templateHash: "h2", parameters: [:], status: "CREATE_COMPLETE", createTime: 5,
                updateTime: 5),
            resources: [], events: [])
        #expect(try await stacks.stack("web") == web)
        #expect(try await stacks.stacks().map(\.name) == ["Api", "web"])
        #expect(try await stacks.stackResources("web").map(\.logicalId) == ["Alarm", "Fn"])

        #expect(
            try await !stacks.finishStack(
                "web", from: "UPDATE_IN_PROGRESS", deployments: ["d-other"], status: "UPDATE_COMPLETE", reason: nil,
                resourceStates: [:], events: []),
            "another deploy's deployments: not this outcome's to record")
        #expect(
            try await stacks.finishStack(
                "web", from: "UPDATE_IN_PROGRESS", deployments: ["d-1"], status: "UPDATE_COMPLETE", reason: nil,
                resourceStates: ["Fn": #"{"version":2}"#],
                events: [StackEvent(time: 11, logicalId: "Fn", resourceType: "AWS::Serverless::Function", status: "Y")])
        )
        #expect(
            try await !stacks.finishStack(
                "web", from: "UPDATE_IN_PROGRESS", deployments: ["d-1"], status: "UPDATE_FAILED", reason: "late",
                resourceStates: [:], events: [StackEvent(time: 12, logicalId: "web", resourceType: "X", status: "Z")]),
            "recorded once: a second settle finds it finished")
        #expect(try await stacks.stackEvents("web").map(\.status) == ["X", "Y"])
        let finished = try #require(try await stacks.stack("web"))
        #expect(finished.status == "UPDATE_COMPLETE")
        #expect(try await stacks.stackResources("web").first { $0.logicalId == "Fn" }?.state == #"{"version":2}"#)
        let missing = await #expect(throws: RelctlError.self) {
            try await stacks.finishStack(
                "gone", from: "UPDATE_IN_PROGRESS", deployments: [], status: "UPDATE_COMPLETE", reason: nil,
                resourceStates: [:], events: [])
        }
        #expect(missing?.code == .resourceNotFound)
        #expect(missing?.message == "Stack gone does not exist.")

        func changeSet(_ name: String, id: String, at time: Double, execution: String = "AVAILABLE") -> ChangeSetRecord
        {
            ChangeSetRecord(
                id: id, name: name, stackName: "web", stackId: "arn:stack/web/1", changeSetType: "UPDATE",
                template: "T", parameters: "{}", description: nil, capabilities: "[]", status: "CREATE_COMPLETE",
                statusReason: nil, executionStatus: execution, changes: "[]", createTime: time)
        }
        try await stacks.saveChangeSet(changeSet("one", id: "arn:cs/one/1", at: 20))
        try await stacks.saveChangeSet(changeSet("one", id: "arn:cs/one/2", at: 21))
        #expect(try await stacks.changeSet("arn:cs/one/1", stack: nil) == nil, "an unexecuted change set is replaced")
        try await stacks.saveChangeSet(changeSet("two", id: "arn:cs/two/1", at: 22))
        #expect(try await stacks.changeSets(stack: "web").map(\.id) == ["arn:cs/two/1", "arn:cs/one/2"])
        #expect(try await stacks.changeSets(stack: "arn:stack/web/1").count == 2, "by the stack's id too")
        #expect(try await stacks.changeSet("one", stack: "arn:stack/web/1")?.id == "arn:cs/one/2")
        #expect(try await stacks.changeSet("one", stack: nil) == nil)
        try await stacks.updateChangeSetExecution("arn:cs/one/2", executionStatus: "EXECUTE_COMPLETE")
        let conflict = await #expect(throws: RelctlError.self) {
            try await stacks.saveChangeSet(changeSet("one", id: "arn:cs/one/3", at: 23))
        }
        #expect(conflict?.code == .resourceConflict)
        #expect(try await stacks.deleteChangeSet("arn:cs/two/1"))
        #expect(try await !stacks.deleteChangeSet("arn:cs/two/1"))

        let record = CloudFormationStackRecord(
            stackName: "web", stackId: "arn:stack/web/1", template: "T1", changeSetId: "arn:cs/one/2", description: nil)
        try await stacks.saveCloudFormationStack(record)
        var updated = record
        updated.template = "T2"
        try await stacks.saveCloudFormationStack(updated)
        #expect(try await stacks.cloudFormationStack("web") == updated)
        #expect(try await stacks.cloudFormationStack("arn:stack/web/1") == updated)

        try await stacks.appendStackEvent("web", StackEvent(time: 12, logicalId: "web", resourceType: "T", status: "Z"))
        try await stacks.deleteStackRecord(
            "web", events: [StackEvent(time: 13, logicalId: "web", resourceType: "T", status: "DELETE_COMPLETE")])
        try await stacks.deleteChangeSets(stack: "web")
        #expect(try await stacks.stack("web") == nil)
        #expect(try await stacks.cloudFormationStack("web") == nil, "gone with its stack")
        #expect(try await stacks.changeSets(stack: "web").isEmpty)
        #expect(
            try await stacks.stackEvents("web").map(\.status) == ["X", "Y", "Z", "DELETE_COMPLETE"],
            "a deleted stack's events stay, oldest first")
    }

    /// The stack engine over the protocols: a template whose code is in the S3 subset creates a layer, a
    /// function published to an alias and an alarm; deleting the stack removes what it created.
    @Test(arguments: StoreEngine.allCases)
    func stackEngineDeploysAndDeletesOnBothEngines(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let stores = try Self.stores(fixture)
        let (objects, applier) = (stores.objects, stores.applier)
        #expect(try await objects.createS3Bucket("artifacts"))
        for (key, package) in [
            ("fn.zip", try fixture.sandbox.code("web")), ("layer.zip", try fixture.sandbox.code("lib")),
        ] {
            _ = try await objects.putS3Object(
                bucket: "artifacts", key: key, data: package.bytes, etag: "e", contentType: nil, metadata: [:])
        }
        let template = """
            AWSTemplateFormatVersion: '2010-09-09'
            Transform: AWS::Serverless-2016-10-31
            Resources:
              Lib:
                Type: AWS::Serverless::LayerVersion
                Properties:
                  LayerName: web-lib
                  ContentUri: s3://artifacts/layer.zip
                  RetentionPolicy: Delete
              Web:
                Type: AWS::Serverless::Function
                Properties:
                  FunctionName: web-fn
                  Runtime: provided.al2023
                  Handler: bootstrap
                  CodeUri: s3://artifacts/fn.zip
                  Layers: [!Ref Lib]
                  AutoPublishAlias: live
              WebErrors:
                Type: AWS::CloudWatch::Alarm
                Properties:
                  AlarmName: web-errors
                  MetricName: Errors
                  Namespace: AWS/Lambda
                  Statistic: Sum
                  Period: 60
                  EvaluationPeriods: 1
                  Threshold: 1
                  ComparisonOperator: GreaterThanOrEqualToThreshold
                  Dimensions:
                    - Name: FunctionName
                      Value: web-fn
            """
        // What the server's CloudFormation API does with a CodeUri `sam deploy` uploaded.
        let fromArtifacts: StackApplier.CodeLoader = { uri, _ in
            let key = String(uri.dropFirst("s3://artifacts/".count))
            let object = try #require(try await objects.s3Object(bucket: "artifacts", key: key))
            return try PackageInspector.inspect(try await objects.s3ObjectData(object))
        }
        let prepared = try await applier.prepare(
            template: template, source: "template.yaml", stackName: "web", overrides: [:], loadCode: fromArtifacts)
        #expect(prepared.previous == nil)
        #expect(try await applier.execute(prepared).isEmpty, "a first deploy starts no deployment")
        let stack = try await applier.stack("web")
        #expect(stack.status == "CREATE_COMPLETE")
        #expect(try await applier.resources("web").map(\.physicalId).sorted() == ["web-errors", "web-fn", "web-lib"])
        let records = applier.records
        #expect(try await records.getAlias(function: "web-fn", name: "live").FunctionVersion == "1")
        let live = try await records.getFunction(FunctionReference(name: "web-fn", qualifier: .alias("live")))
        #expect(live.Layers?.map(\.Arn) == ["\(applier.arn.layerArn("web-lib")):1"])
        #expect(try await records.getLayerVersion(name: "web-lib", version: 1).Version == 1)

        let again = try await applier.prepare(
            template: template, source: "template.yaml", stackName: "web", overrides: [:], loadCode: fromArtifacts)
        #expect(!again.plan.hasChanges, "the same template again changes nothing")

        let deleted = try await applier.delete("web")
        #expect(deleted.count == 3)
        await #expect(throws: RelctlError.functionNotFound(TestData.arnPrefix + "web-fn")) {
            try await records.getFunction(FunctionReference(name: "web-fn"))
        }
        #expect(try await stores.stacks.stack("web") == nil)
        #expect(try await applier.events("web").last?.status == "DELETE_COMPLETE")
    }

    /// `relctl migrate-store`: the S3 subset's objects, whose bytes SQLite keeps apart from code, arrive as
    /// code objects in the target's code store, so `serve --database` reads them.
    @Test func migrateStoreCarriesArtifactsIntoTheCodeStore() async throws {
        let sandbox = try Sandbox()
        let source = sandbox.registry
        #expect(try source.createS3Bucket("artifacts"))
        let bytes = try sandbox.code("artifact").bytes
        _ = try source.putS3Object(
            bucket: "artifacts", key: "app/fn.zip", data: bytes, etag: "e", contentType: "application/zip",
            metadata: ["k": "v"])
        let target = try await PostgresStore.open(try PostgresCluster.database(), actor: "test")
        defer { target.close() }
        let code = BlobStore(root: sandbox.root.appendingPathComponent("bucket", isDirectory: true))
        let report = try await StoreMigration(dataDirectory: sandbox.dataDirectory, target: target, codeStore: code)
            .run()
        #expect(report.uploaded == 1, "the artifact's bytes (no function names them)")
        let objects = PostgresRecords(store: target, code: code)
        let object = try #require(try await objects.s3Object(bucket: "artifacts", key: "app/fn.zip"))
        #expect(object.metadata == ["k": "v"])
        #expect(try await objects.s3ObjectData(object) == bytes)
    }
}
