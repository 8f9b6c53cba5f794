import Foundation
import RelctlCore
import RelctlProcess
import Testing

/// `relctl migrate-store --from-database URL --to-data-dir DIR`: a PostgreSQL registry copied down into a new
/// data directory (a backup, or moving down to one machine), on a real PostgreSQL and the real binary.
@Suite("CLI: migrate-store down", .serialized)
struct MigrateStoreDownCLITests {
    /// A new empty database on the test cluster: its URL and its name.
    static func database() throws -> (url: String, name: String) {
        let location = try PostgresCluster.database()
        let cluster = try PostgresCluster.shared()
        return (
            "postgres://\(PostgresCluster.user)@localhost/\(location.database)?host=\(cluster.socketDirectory)&port=\(cluster.port)",
            location.database
        )
    }

    /// A data directory with one published function, copied up into a new database.
    static func oneFunctionMigratedUp() throws -> (cli: CLI, database: String) {
        let (database, _) = try Self.database()
        let cli = try CLI()
        try cli.json(
            "function", "create", "orders", "--dir", try cli.source("o1", marker: "one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap", "--publish")
        let up = try cli.run("migrate-store", "--to-database", database)
        #expect(up.status == 0, "\(up.stderr)")
        return (cli, database)
    }

    /// SQLite → `migrate-store --to-database` → PostgreSQL → `migrate-store --from-database` → a new SQLite data
    /// directory: every listing answers byte for byte as the original's (ids, RevisionIds, times and moves
    /// kept) and `fsck` finds the copy consistent, every package re-hashed. The source database is made
    /// read-only first, so a single write by the copy would fail it.
    @Test func aRoundTripThroughPostgreSQLAnswersAsTheOriginalDataDirectory() throws {
        let (database, name) = try Self.database()
        let cli = try CLI()
        try cli.json(
            "function", "create", "orders", "--dir", try cli.source("o1", marker: "orders-one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap", "--publish")
        try cli.json(
            "function", "update-code", "orders", "--dir", try cli.source("o2", marker: "orders-two"), "--publish")
        try cli.json("function", "update-code", "orders", "--dir", try cli.source("o3", marker: "orders-three"))
        try cli.json(
            "function", "create", "billing", "--dir", try cli.source("b1", marker: "billing-one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap", "--memory", "512", "--env", "STAGE=prod", "--publish")
        try cli.json("alias", "create", "orders", "live", "--version", "1")
        try cli.json("alias", "create", "orders", "beta", "--version", "1", "--weight", "2=0.25")
        let deployed = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Canary10Percent5Minutes", "--no-wait")
        try cli.json("deployments", "stop", try #require(deployed["deploymentId"] as? String, "\(deployed)"))
        try cli.json("alias", "update", "orders", "live", "--version", "2")
        try cli.json("rollback", "orders", "live")

        let up = try cli.run("migrate-store", "--to-database", database)
        #expect(up.status == 0, "\(up.stderr)")
        _ = try PostgresCluster.shared().psql(
            "ALTER DATABASE \(name) SET default_transaction_read_only = on", database: "postgres")

        let copy = cli.workDirectory.appendingPathComponent("copy/data", isDirectory: true)
        let down = try cli.run("migrate-store", "--from-database", database, "--to-data-dir", copy.path)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(down.stdout.contains("every table's count matches the source"), "\(down.stdout)")

        let listings: [[String]] = [
            ["function", "list"], ["function", "list", "--all-versions"], ["versions", "orders"],
            ["versions", "billing"], ["alias", "list", "orders"], ["history", "orders", "live"], ["history", "orders"],
            ["deployments", "list"], ["quota", "show"],
        ]
        for listing in listings {
            let original = try cli.run(listing + ["--output", "json"])
            let copied = try cli.run(listing + ["--output", "json", "--data-dir", copy.path])
            #expect(original.status == 0 && copied.status == 0, "\(listing): \(original.stderr) \(copied.stderr)")
            #expect(!original.stdout.isEmpty)
            #expect(copied.stdout == original.stdout, "relctl \(listing.joined(separator: " ")) differs")
        }
        // Four packages (orders 1, 2 and $LATEST's third, billing 1), each file re-hashed; usage and the blob
        // rows, which the copy derives, add up.
        let checked = try cli.json("fsck", "--data-dir", copy.path)
        #expect(checked["Problems"] as? [String] == [], "\(checked)")
        #expect(checked["Notices"] as? [String] == [], "\(checked)")
        #expect(checked["CheckedBlobs"] as? Int == 4, "\(checked)")
    }

    /// A target folder with anything in it is refused in one line, before anything is written; so are
    /// flags of the other direction and a missing --to-data-dir.
    @Test func aNonEmptyTargetIsRefusedInOneLine() throws {
        let (cli, database) = try Self.oneFunctionMigratedUp()

        let target = cli.workDirectory.appendingPathComponent("occupied", isDirectory: true)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let note = target.appendingPathComponent("notes.txt")
        try Data("keep me\n".utf8).write(to: note)
        let refused = try cli.run("migrate-store", "--from-database", database, "--to-data-dir", target.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(
            refused.stderr.hasPrefix("error: ResourceConflictException: The target \(target.path) is not empty"),
            "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path) == ["notes.txt"])
        #expect(try Data(contentsOf: note) == Data("keep me\n".utf8))

        for arguments in [
            ["migrate-store", "--from-database", database],
            ["migrate-store", "--from-database", database, "--to-data-dir", target.path, "--to-database", database],
            ["migrate-store", "--to-database", database, "--to-data-dir", target.path],
        ] {
            let wrong = try cli.run(arguments)
            #expect(wrong.status == 1, "\(arguments)")
            #expect(wrong.stderr.split(separator: "\n").count == 1, "\(arguments): \(wrong.stderr)")
            #expect(wrong.stderr.hasPrefix("error: InvalidParameterValueException: "), "\(wrong.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path) == ["notes.txt"])
    }

    /// A code object the rows name but the source's code store lacks fails the copy in one error line, and the
    /// folder the run created is gone again: nothing half-copied is left to be mistaken for a backup.
    @Test func aMissingCodeObjectFailsAndLeavesNoFolder() throws {
        let (cli, database) = try Self.oneFunctionMigratedUp()

        let target = cli.workDirectory.appendingPathComponent("backup/data", isDirectory: true)
        let elsewhere = cli.workDirectory.appendingPathComponent("empty-home", isDirectory: true)
        let failed = try cli.run(
            ["migrate-store", "--from-database", database, "--to-data-dir", target.path],
            environment: ["RELCTL_HOME": elsewhere.path])
        #expect(failed.status == 1)
        let errors = failed.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errors.count == 1, "\(failed.stderr)")
        #expect(
            errors.first?.hasPrefix("error: ResourceNotFoundException: The code object ") == true, "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target.path))
    }
}
