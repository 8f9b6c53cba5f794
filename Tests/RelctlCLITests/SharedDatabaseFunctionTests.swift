import Foundation
import RelctlCore
import RelctlProcess
import Testing

/// Issue 10 §1, §3: the function operations and commands moved onto the store protocols answer from
/// `--database postgres://…` — through two servers on one database, and on the command line.
@Suite("relctl --database postgres://: functions, tags, quota, history", .serialized)
struct SharedDatabaseFunctionTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Support/shared_functions.py")

    /// boto3 against two servers on one database: UpdateFunctionConfiguration, tags, GetAccountSettings
    /// and DeleteFunction on one server are seen on the other, with SQLite's errors.
    @Test func twoServersShareConfigurationTagsQuotaAndDeletes() throws {
        let (status, output) = try ServerProcess.runOnTwoServersSharingADatabase(Self.script)
        #expect(status == 0, "\(output.suffix(4000))")
        #expect(output.contains("shared functions: ok"), "\(output.suffix(4000))")
    }

    /// `function get|list|update-config|delete`, `quota`, `rollback`, `history` and `deployments list`
    /// on `--database`, after a `migrate-store` of a registry made on SQLite; the data directory stays as it was.
    @Test func functionQuotaRollbackHistoryAndDeploymentCommandsRunOnTheDatabase() throws {
        let database = try PostgresCluster.databaseURL()
        let cli = try CLI()
        try cli.json(
            "function", "create", "orders", "--dir", try cli.source("v1", marker: "one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap", "--publish")
        try cli.json("function", "update-code", "orders", "--dir", try cli.source("v2", marker: "two"), "--publish")
        let migrated = try cli.run("migrate-store", "--to-database", database)
        #expect(migrated.status == 0, "\(migrated.stderr)")

        let shown = try cli.json("function", "get", "orders:2", "--database", database)
        #expect(shown["Version"] as? String == "2")
        let listed = try cli.json("function", "list", "--database", database)["Functions"] as? [[String: Any]]
        #expect(listed?.map { $0["FunctionName"] as? String } == ["orders"])
        let latest = try cli.json("function", "get", "orders", "--database", database)
        let stale = try cli.run(
            "function", "update-config", "orders", "--memory", "512", "--expect-revision", "stale", "--database",
            database)
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("PreconditionFailedException"), "\(stale.stderr)")
        let updated = try cli.json(
            "function", "update-config", "orders", "--memory", "512", "--env", "STAGE=prod", "--expect-revision",
            try #require(latest["RevisionId"] as? String), "--database", database)
        #expect(updated["MemorySize"] as? Int == 512)
        #expect((updated["Environment"] as? [String: Any])?["Variables"] as? [String: String] == ["STAGE": "prod"])

        // Quota: the usage is the code sizes of $LATEST and both versions; a limit set there applies there.
        let sizes = try (1...2).map { version in
            try cli.json("function", "get", "orders:\(version)", "--database", database)["CodeSize"] as? Int ?? -1
        }
        let quota = try cli.json("quota", "show", "--database", database)
        let usage = (quota["AccountUsage"] as? [String: Any])?["TotalCodeSize"] as? Int
        #expect(usage == sizes[0] + 2 * sizes[1], "\(quota)")
        let limited = try cli.json("quota", "set", "1MB", "--database", database)
        #expect((limited["AccountLimit"] as? [String: Any])?["TotalCodeSize"] as? Int == 1_048_576)

        // A deployment created there is listed there; rollback and history read the database's moves.
        try cli.json("alias", "create", "orders", "live", "--version", "1", "--database", database)
        let deployed = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Canary10Percent5Minutes", "--no-wait",
            "--database", database)
        let id = try #require(deployed["deploymentId"] as? String, "\(deployed)")
        let deployments = try cli.json("deployments", "list", "--function", "orders", "--database", database)
        #expect((deployments["deployments"] as? [[String: Any]])?.map { $0["deploymentId"] as? String } == [id])
        try cli.json("deployments", "stop", id, "--database", database)
        try cli.json("alias", "update", "orders", "live", "--version", "2", "--database", database)
        let rolledBack = try cli.json("rollback", "orders", "live", "--database", database)
        #expect(rolledBack["FunctionVersion"] as? String == "1")
        let moves = try cli.json("history", "orders", "live", "--database", database)["History"] as? [[String: Any]]
        #expect(moves?.first?["To"] as? String == "1", "\(moves ?? [])")
        #expect(moves?.last?["Action"] as? String == "CreateAlias", "\(moves ?? [])")
        let changes = try cli.json("history", "orders", "--database", database)["History"] as? [[String: Any]]
        #expect(changes?.contains { $0["Action"] as? String == "UpdateFunctionConfiguration" } == true)

        // Deletes: a version an alias points at is refused in one line; the rest goes.
        let refused = try cli.run("function", "delete", "orders:1", "--database", database)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("ResourceConflictException"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(try cli.run("function", "delete", "orders:2", "--database", database).status == 0)
        let deleted = try cli.run("function", "delete", "orders", "--database", database)
        #expect(deleted.stdout.contains("Deleted function orders with 1 version(s) and 1 alias(es)."), "\(deleted)")
        let gone = try cli.run("function", "get", "orders", "--database", database)
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("ResourceNotFoundException"), "\(gone.stderr)")

        // The data directory's own registry saw none of it.
        let local = try cli.json("function", "get", "orders")
        #expect(local["MemorySize"] as? Int == Limits.defaultMemorySize)
        #expect(try cli.run("alias", "get", "orders", "live").status == 1)
    }

    /// Layers on the shared engine (boto3; two servers, one database, one bucket): published, listed and numbered
    /// across servers, attached to a function that runs on the other server with the layer's files under /opt,
    /// kept by a published version after DeleteLayerVersion, and their permissions with RevisionId checks.
    @Test func twoServersSharePublishedLayersAndRunFunctionsWithThem() throws {
        let script = Self.script.deletingLastPathComponent().appendingPathComponent("shared_layers.py")
        let (status, output) = try ServerProcess.runOnTwoServersSharingADatabase(script, sharingABucket: true)
        #expect(status == 0, "\(output.suffix(4000))")
        #expect(output.contains("shared layers: ok"), "\(output.suffix(4000))")
    }

    /// `relctl layer publish|list|versions|get|delete` on `--database` (the code in this data directory's blobs,
    /// as no `--code-store` is set); the data directory's own registry sees none of it.
    @Test func layerCommandsRunOnTheDatabase() throws {
        let database = try PostgresCluster.databaseURL()
        let cli = try CLI()
        let first = try cli.json(
            "layer", "publish", "tools", "--dir", try cli.source("one", marker: "one"), "--compatible-runtime",
            "provided.al2023", "--database", database)
        #expect(first["Version"] as? Int == 1, "\(first)")
        let second = try cli.json(
            "layer", "publish", "tools", "--dir", try cli.source("two", marker: "two"), "--database", database)
        #expect(second["Version"] as? Int == 2, "\(second)")
        let layers = try cli.json("layer", "list", "--database", database)["Layers"] as? [[String: Any]]
        #expect(layers?.map { $0["LayerName"] as? String } == ["tools"], "\(layers ?? [])")
        let filtered = try cli.json(
            "layer", "versions", "tools", "--compatible-runtime", "provided.al2023", "--database", database)
        let matching = filtered["LayerVersions"] as? [[String: Any]]
        #expect(matching?.map { $0["Version"] as? Int } == [1], "\(matching ?? [])")
        let shown = try cli.json("layer", "get", "tools", "2", "--database", database)
        #expect(shown["LayerVersionArn"] as? String == second["LayerVersionArn"] as? String, "\(shown)")
        #expect(try cli.run("layer", "delete", "tools", "2", "--database", database).status == 0)
        let gone = try cli.run("layer", "get", "tools", "2", "--database", database)
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("ResourceNotFoundException"), "\(gone.stderr)")
        #expect(gone.stderr.split(separator: "\n").count == 1, "\(gone.stderr)")
        let local = try cli.json("layer", "list")["Layers"] as? [[String: Any]]
        #expect(local?.isEmpty == true, "\(local ?? [])")
    }
}

extension ServerProcess {
    /// Starts two servers (two data directories) on one new database, runs the boto3 `script` with both
    /// endpoints (killed past its deadline), stops both servers (each must exit cleanly); the script's
    /// exit status and output. With `sharingABucket`, one bucket (a real moto_server) is both servers' code
    /// store, so that code published through one server runs on the other.
    static func runOnTwoServersSharingADatabase(
        _ script: URL, sharingABucket: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (status: Int32, output: String) {
        let database = try PostgresCluster.databaseURL()
        let first = try CLI()
        let moto = sharingABucket ? try MotoS3(cli: first) : nil
        defer { withExtendedLifetime(moto) {} }  // the bucket lives until the servers stop
        let bucket = moto.map {
            $0.relctlEnvironment.merging(["RELCTL_CODE_STORE": "s3://relctl-code/shared"]) { $1 }
        }
        let one = try ServerProcess(first, extra: ["--database", database], environment: bucket ?? [:])
        let two = try ServerProcess(try CLI(), extra: ["--database", database], environment: bucket ?? [:])
        let result = try runTool(
            ["python3", script.path, one.endpoint, two.endpoint], environment: [:], cwd: first.workDirectory,
            timeout: sharingABucket ? 300 : 240, sourceLocation: sourceLocation)
        #expect(one.stop() == 0, sourceLocation: sourceLocation)
        #expect(two.stop() == 0, sourceLocation: sourceLocation)
        return result
    }
}
