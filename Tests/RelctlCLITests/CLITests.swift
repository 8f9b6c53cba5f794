import Foundation
import RelctlProcess
import Testing

@Suite("relctl command line")
struct CLITests {
    @Test func walkthroughPublishesVersionsMovesAliasAndRollsBack() throws {
        let cli = try CLI()
        let v1 = try cli.source("v1", marker: "one")
        let created = try cli.json(
            "function", "create", "orders", "--dir", v1, "--runtime", "provided.al2023",
            "--handler", "bootstrap", "--memory", "256", "--timeout", "30", "--env", "STAGE=prod")
        #expect(created["FunctionName"] as? String == "orders")
        #expect(created["FunctionArn"] as? String == "arn:aws:lambda:local:000000000000:function:orders")
        #expect(created["Version"] as? String == "$LATEST")
        #expect(created["MemorySize"] as? Int == 256)
        #expect((created["Environment"] as? [String: Any])?["Variables"] as? [String: String] == ["STAGE": "prod"])
        #expect(created["Layers"] == nil, "AWS omits Layers when there are none")

        let first = try cli.json("publish", "orders", "--description", "v1")
        #expect(first["Version"] as? String == "1")
        #expect(first["FunctionArn"] as? String == "arn:aws:lambda:local:000000000000:function:orders:1")
        try cli.json("function", "update-code", "orders", "--dir", try cli.source("v2", marker: "two"))
        let second = try cli.json("publish", "orders", "--description", "v2")
        #expect(second["Version"] as? String == "2")
        #expect(second["CodeSha256"] as? String != first["CodeSha256"] as? String)

        let alias = try cli.json("alias", "create", "orders", "live", "--version", "1", "--weight", "2=0.1")
        #expect(alias["AliasArn"] as? String == "arn:aws:lambda:local:000000000000:function:orders:live")
        #expect(alias["FunctionVersion"] as? String == "1")
        #expect(
            (alias["RoutingConfig"] as? [String: Any])?["AdditionalVersionWeights"] as? [String: Double] == ["2": 0.1])

        let promoted = try cli.json("alias", "update", "orders", "live", "--version", "2", "--no-routing")
        #expect(promoted["FunctionVersion"] as? String == "2")
        #expect(promoted["RoutingConfig"] == nil)
        #expect(promoted["RevisionId"] as? String != alias["RevisionId"] as? String)

        let rolledBack = try cli.json("rollback", "orders", "live")
        #expect(rolledBack["FunctionVersion"] as? String == "1")
        let viaAlias = try cli.json("function", "get", "orders:live")
        #expect(viaAlias["FunctionArn"] as? String == "arn:aws:lambda:local:000000000000:function:orders:live")
        #expect(viaAlias["Version"] as? String == "1")

        let history = try cli.json("history", "orders", "live")["History"] as? [[String: Any]] ?? []
        #expect(history.map { $0["Action"] as? String } == ["Rollback", "UpdateAlias", "CreateAlias"])
        #expect(history.first?["To"] as? String == "1")

        let versions = try cli.json("versions", "orders")["Versions"] as? [[String: Any]] ?? []
        #expect(versions.map { $0["Version"] as? String } == ["$LATEST", "1", "2"])
        #expect(try cli.run("fsck").status == 0)
    }

    @Test func errorsAreOneLineWithTheAwsTypeAndExitOne() throws {
        let cli = try CLI()
        let missing = try cli.run("function", "get", "nope")
        #expect(missing.status == 1)
        #expect(
            missing.stderr
                == "error: ResourceNotFoundException: Function not found: arn:aws:lambda:local:000000000000:function:nope\n"
        )
        #expect(missing.stdout.isEmpty)

        let source = try cli.source("src", marker: "x")
        try cli.json("function", "create", "orders", "--dir", source)
        try cli.json("publish", "orders")
        try cli.json("alias", "create", "orders", "live", "--version", "1")
        let conflict = try cli.run("function", "delete", "orders:1")
        #expect(conflict.status == 1)
        #expect(
            conflict.stderr
                == "error: ResourceConflictException: Unable to delete version because the following aliases reference it: [live]\n"
        )

        let memory = try cli.run("function", "update-config", "orders", "--memory", "64")
        #expect(memory.status == 1)
        #expect(
            memory.stderr.hasPrefix(
                "error: ValidationException: 1 validation error detected: Value '64' at 'memorySize'"))

        let revision = try cli.run("publish", "orders", "--expect-revision", "stale")
        #expect(revision.status == 1)
        #expect(
            revision.stderr.hasPrefix("error: PreconditionFailedException: The Revision Id provided does not match"))

        let weight = try cli.run("alias", "update", "orders", "live", "--weight", "1=0.5")
        #expect(
            weight.stderr
                == "error: InvalidParameterValueException: Invalid function version 1. Function version 1 is already included in routing configuration.\n"
        )

        let badZip = cli.workDirectory.appendingPathComponent("bad.zip")
        try Data("not a zip".utf8).write(to: badZip)
        let unzip = try cli.run("function", "update-code", "orders", "--zip-file", badZip.path)
        #expect(unzip.status == 1)
        #expect(unzip.stderr.hasPrefix("error: InvalidParameterValueException: Could not unzip uploaded file."))
        #expect(unzip.stderr.split(separator: "\n").count == 1)
    }

    @Test func usageErrorsExitWithArgumentParsersStatus() throws {
        let cli = try CLI()
        #expect(try cli.run("alias", "create", "orders").status == 64)
        #expect(try cli.run("function", "create", "orders").status == 64, "code is required")
        #expect(try cli.run("cleanup").status == 64, "cleanup needs --keep or --target-usage")
        #expect(try cli.run("alias", "update", "f", "a", "--weight", "2", "--no-routing").status == 64)
    }

    @Test func quotaJsonHasGetAccountSettingsShapeAndCreateBeyondLimitWritesNothing() throws {
        let cli = try CLI()
        let quota = try cli.json("quota")
        #expect((quota["AccountLimit"] as? [String: Any])?["TotalCodeSize"] as? Int64 == 80_530_636_800)
        #expect((quota["AccountUsage"] as? [String: Any])?["FunctionCount"] as? Int == 0)

        let source = try cli.source("big", marker: "x", padding: 4000)
        try cli.json("quota", "set", "100")
        let refused = try cli.run("function", "create", "big", "--dir", source)
        #expect(refused.stderr == "error: CodeStorageExceededException: Code storage limit exceeded.\n")
        let after = try cli.json("quota")
        #expect((after["AccountUsage"] as? [String: Any])?["TotalCodeSize"] as? Int == 0)
        #expect((after["AccountUsage"] as? [String: Any])?["FunctionCount"] as? Int == 0)
        #expect(after["StoredBytes"] as? Int == 0)
        #expect(try cli.run("fsck").status == 0)
    }

    @Test func cleanupDryRunPrintsThePlanTheRealRunExecutes() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("v0", marker: "0"))
        for index in 1...5 {
            try cli.json(
                "function", "update-code", "orders", "--dir", try cli.source("v\(index)", marker: "\(index)"),
                "--publish")
        }
        try cli.json("alias", "create", "orders", "live", "--version", "2")
        let plan = try cli.json("cleanup", "--keep", "2", "--dry-run")
        let planned = (plan["Deletions"] as? [[String: Any]] ?? []).map { $0["Version"] as? Int }
        #expect(planned == [1, 3], "2 is aliased, 4 and 5 are the newest two")
        #expect((try cli.json("versions", "orders")["Versions"] as? [Any])?.count == 6, "dry run deleted nothing")
        let applied = try cli.json("cleanup", "--keep", "2")
        #expect((applied["Deletions"] as? [[String: Any]] ?? []).map { $0["Version"] as? Int } == planned)
        #expect(applied["BytesFreed"] as? Int == plan["BytesFreed"] as? Int)
        let versions = (try cli.json("versions", "orders")["Versions"] as? [[String: Any]] ?? []).map {
            $0["Version"] as? String
        }
        #expect(versions == ["$LATEST", "2", "4", "5"])
        #expect(try cli.run("fsck").status == 0)
    }

    @Test func fsckFailsWithExitOneWhenABlobGoesMissing() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("src", marker: "x"))
        #expect(try cli.run("fsck").status == 0)
        let blobs = cli.dataDirectory.appendingPathComponent("blobs/sha256")
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: blobs.path).first)
        let file = try #require(
            try FileManager.default.contentsOfDirectory(atPath: blobs.appendingPathComponent(folder).path).first)
        try FileManager.default.removeItem(at: blobs.appendingPathComponent(folder).appendingPathComponent(file))
        let broken = try cli.run("fsck")
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("has a row but no file"))
        #expect(broken.stderr.hasPrefix("error: IntegrityCheckFailed:"))
    }

    @Test func fsckFailsWithExitOneForAStrayFileInTheBlobStore() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("src", marker: "x"))
        let stray = cli.dataDirectory.appendingPathComponent("blobs/sha256/ab/not-a-hash")
        try FileManager.default.createDirectory(
            at: stray.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("stray".utf8).write(to: stray)
        let broken = try cli.run("fsck")
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("blobs/sha256/ab/not-a-hash is not a content blob"), "\(broken.stdout)")
        #expect(try cli.run("gc").status == 0)
        #expect(FileManager.default.fileExists(atPath: stray.path), "gc removes orphan blobs, not someone's file")
    }

    @Test func concurrentProcessesNeverLoseAPublish() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("base", marker: "0"))
        let sources = try (0..<4).map { try cli.source("p\($0)", marker: "p\($0)") }
        // Four processes at once, each updating code and publishing in one command, several times.
        let rounds = 5
        var processes: [ChildProcess] = []
        defer { processes.forEach { $0.killGroupAndWait() } }
        for _ in 0..<rounds {
            for source in sources {
                processes.append(
                    try cli.start([
                        "function", "update-code", "orders", "--dir", source, "--publish", "--output", "json",
                    ]))
            }
        }
        for process in processes { #expect(process.wait(timeout: childDeadline)) }
        #expect(processes.allSatisfy { $0.succeeded })
        let versions = (try cli.json("versions", "orders")["Versions"] as? [[String: Any]] ?? []).compactMap {
            $0["Version"] as? String
        }
        #expect(
            versions == ["$LATEST"] + (1...(rounds * sources.count)).map(String.init),
            "every update-code --publish made its own version")
        #expect(try cli.run("fsck").status == 0)
    }
}

@Suite("Settings of the data directory")
struct SettingsTests {
    @Test func accountIdSettingAndEnvironmentShapeEveryArn() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("src", marker: "x"))
        #expect(try cli.run("config", "set", "account-id", "123456789012").status == 0)
        #expect(try cli.run("config", "get", "account-id").stdout == "123456789012\n")
        #expect(
            try cli.json("function", "get", "orders")["FunctionArn"] as? String
                == "arn:aws:lambda:local:123456789012:function:orders")
        let refused = try cli.run("config", "set", "account-id", "12345")
        #expect(refused.status == 1 && refused.stderr.contains("account-id is 12 digits"))
        let text = try cli.run(
            ["function", "get", "orders", "--output", "json"], environment: ["RELCTL_ACCOUNT_ID": "999999999999"]
        ).stdout
        #expect(
            text.contains("arn:aws:lambda:local:999999999999:function:orders"),
            "RELCTL_ACCOUNT_ID overrides the setting")
    }

    @Test func credentialsCanBeDeleted() throws {
        let cli = try CLI()
        let key = try cli.json("credentials", "create", "--name", "ci")
        #expect(try cli.run("credentials", "create", "--name", "ci").status == 1, "names are unique")
        #expect(try cli.run("credentials", "delete", key["AccessKeyId"] as? String ?? "").stdout.contains("Deleted"))
        #expect((try cli.json("credentials", "list")["Credentials"] as? [Any])?.isEmpty == true)
    }
}
