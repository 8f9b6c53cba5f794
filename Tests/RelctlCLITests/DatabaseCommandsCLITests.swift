import Foundation
import RelctlProcess
import Testing

/// Issue 10 §3 ("every command honours them"): `function create|update-code|list --all-versions`, `cleanup`,
/// `gc` and `fsck` on `--database postgres://…` answer as they do on SQLite for the same registry.
@Suite("relctl --database postgres://: code, cleanup, gc, fsck", .serialized)
struct DatabaseCommandsCLITests {
    /// The same command on a data directory's SQLite registry and on a PostgreSQL database.
    struct Pair {
        let sqlite: CLI
        let postgres: CLI
        let database: String
        var environment: [String: String] = [:]

        init() throws {
            sqlite = try CLI()
            postgres = try CLI()
            database = try PostgresCluster.databaseURL()
        }

        func run(_ arguments: String...) throws -> (sqlite: CLI.Result, postgres: CLI.Result) {
            (
                try sqlite.run(arguments, environment: environment),
                try postgres.run(arguments + ["--database", database], environment: environment)
            )
        }

        /// Runs on both with `--output json`; both must succeed. The objects with their clock-made fields removed.
        func json(_ arguments: String...) throws -> (sqlite: NSDictionary, postgres: NSDictionary) {
            let sqliteResult = try sqlite.run(arguments + ["--output", "json"], environment: environment)
            let postgresResult = try postgres.run(
                arguments + ["--output", "json", "--database", database], environment: environment)
            #expect(sqliteResult.status == 0, "SQLite: relctl \(arguments): \(sqliteResult.stderr)")
            #expect(postgresResult.status == 0, "PostgreSQL: relctl \(arguments): \(postgresResult.stderr)")
            return (Self.withoutClock(sqliteResult.json), Self.withoutClock(postgresResult.json))
        }

        static func withoutClock(_ value: Any?) -> NSDictionary {
            NSDictionary(dictionary: strip(value) as? [String: Any] ?? [:])
        }

        private static func strip(_ value: Any?) -> Any? {
            if let object = value as? [String: Any] {
                return object.filter { !["RevisionId", "LastModified", "Created"].contains($0.key) }
                    .mapValues { strip($0) ?? NSNull() }
            }
            if let array = value as? [Any] { return array.map { strip($0) ?? NSNull() } }
            return value
        }

        /// Writes the same function folder on both sides (relctl zips it deterministically: the same hash).
        func source(_ name: String, marker: String) throws {
            _ = try sqlite.source(name, marker: marker)
            _ = try postgres.source(name, marker: marker)
        }

        func folder(_ name: String, of cli: CLI) -> String {
            cli.workDirectory.appendingPathComponent(name).path
        }
    }

    /// `function create` and `update-code` store the code and the rows on the database with SQLite's
    /// answers and errors (one line on stderr); `function list --all-versions` lists the same versions.
    @Test func functionCreateUpdateCodeAndListAllVersionsAnswerAsOnSQLite() throws {
        let pair = try Pair()
        for (name, marker) in [("v1", "one"), ("v2", "two"), ("v3", "three")] {
            try pair.source(name, marker: marker)
        }
        func onBoth(_ arguments: [String], folder: String) throws -> (CLI.Result, CLI.Result) {
            (
                try pair.sqlite.run(arguments + ["--dir", pair.folder(folder, of: pair.sqlite)]),
                try pair.postgres.run(
                    arguments + ["--dir", pair.folder(folder, of: pair.postgres), "--database", pair.database])
            )
        }
        let create = ["function", "create", "orders", "--runtime", "provided.al2023", "--handler", "bootstrap"]
        let (createdSQLite, createdPostgres) = try onBoth(create + ["--publish", "--output", "json"], folder: "v1")
        #expect(createdSQLite.status == 0 && createdPostgres.status == 0, "\(createdPostgres.stderr)")
        #expect(Pair.withoutClock(createdPostgres.json) == Pair.withoutClock(createdSQLite.json))
        #expect(createdPostgres.object["Version"] as? String == "1", "\(createdPostgres.stdout)")

        let (againSQLite, againPostgres) = try onBoth(create, folder: "v1")
        #expect(againSQLite.status == 1 && againPostgres.status == 1)
        #expect(againPostgres.stderr == againSQLite.stderr, "\(againPostgres.stderr)")
        #expect(againPostgres.stderr.contains("ResourceConflictException"), "\(againPostgres.stderr)")
        #expect(againPostgres.stderr.split(separator: "\n").count == 1, "\(againPostgres.stderr)")
        let (badSQLite, badPostgres) = try onBoth(
            ["function", "create", "no/slash", "--runtime", "provided.al2023", "--handler", "bootstrap"], folder: "v1")
        #expect(badSQLite.status != 0 && badPostgres.status == badSQLite.status)
        #expect(badPostgres.stderr == badSQLite.stderr, "\(badPostgres.stderr)")
        #expect(badPostgres.stderr.split(separator: "\n").count == 1, "\(badPostgres.stderr)")

        let update = ["function", "update-code", "orders"]
        let (updatedSQLite, updatedPostgres) = try onBoth(update + ["--publish", "--output", "json"], folder: "v2")
        #expect(updatedSQLite.status == 0 && updatedPostgres.status == 0, "\(updatedPostgres.stderr)")
        #expect(Pair.withoutClock(updatedPostgres.json) == Pair.withoutClock(updatedSQLite.json))
        #expect(updatedPostgres.object["Version"] as? String == "2", "\(updatedPostgres.stdout)")
        let (staleSQLite, stalePostgres) = try onBoth(update + ["--expect-revision", "stale"], folder: "v3")
        #expect(staleSQLite.status == 1 && stalePostgres.status == 1)
        #expect(stalePostgres.stderr == staleSQLite.stderr, "\(stalePostgres.stderr)")
        #expect(stalePostgres.stderr.contains("PreconditionFailedException"), "\(stalePostgres.stderr)")
        let (missingSQLite, missingPostgres) = try onBoth(["function", "update-code", "nope"], folder: "v3")
        #expect(missingSQLite.status == 1 && missingPostgres.status == 1)
        #expect(missingPostgres.stderr == missingSQLite.stderr, "\(missingPostgres.stderr)")
        #expect(missingPostgres.stderr.split(separator: "\n").count == 1, "\(missingPostgres.stderr)")

        let listed = try pair.json("function", "list", "--all-versions")
        #expect(listed.postgres == listed.sqlite, "\(listed.postgres)")
        let versions = (listed.postgres["Functions"] as? [[String: Any]])?.map { $0["Version"] as? String }
        #expect(versions == ["$LATEST", "1", "2"], "\(listed.postgres)")

        // The code went to this data directory's blobs (no --code-store): fsck finds every object a row names.
        let hash = try #require(
            Data(base64Encoded: updatedPostgres.object["CodeSha256"] as? String ?? "")?.map {
                String(format: "%02x", $0)
            }.joined())
        let blob = pair.postgres.dataDirectory.appendingPathComponent("blobs/sha256/\(hash.prefix(2))/\(hash)")
        #expect(FileManager.default.fileExists(atPath: blob.path))
        let fsck = try pair.postgres.run("fsck", "--database", pair.database)
        #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
        #expect(fsck.stdout.contains("fsck: the rows of PostgreSQL "), "\(fsck.stdout)")
        #expect(fsck.stdout.contains("ok: 3 version(s), 2 blob(s) consistent"), "\(fsck.stdout)")
    }

    /// `cleanup` plans with the same planner over the database's rows: the same plan as on SQLite, the
    /// same versions deleted (an alias's version and the newest --keep stay), `--dry-run` deletes nothing.
    @Test func cleanupPlansAndDeletesTheSameVersionsAsOnSQLite() throws {
        let pair = try Pair()
        for (index, marker) in ["one", "two", "three", "four"].enumerated() {
            try pair.source("v\(index + 1)", marker: marker)
        }
        func onBoth(_ arguments: [String], folder: String) throws {
            let sqlite = try pair.sqlite.run(arguments + ["--dir", pair.folder(folder, of: pair.sqlite)])
            let postgres = try pair.postgres.run(
                arguments + ["--dir", pair.folder(folder, of: pair.postgres), "--database", pair.database])
            #expect(sqlite.status == 0 && postgres.status == 0, "\(sqlite.stderr)\(postgres.stderr)")
        }
        try onBoth(
            ["function", "create", "orders", "--runtime", "provided.al2023", "--handler", "bootstrap", "--publish"],
            folder: "v1")
        for folder in ["v2", "v3", "v4"] {
            try onBoth(["function", "update-code", "orders", "--publish"], folder: folder)
        }
        _ = try pair.json("alias", "create", "orders", "live", "--version", "2")

        let planned = try pair.json("cleanup", "--keep", "1", "--dry-run")
        #expect(planned.postgres == planned.sqlite, "\(planned.postgres)")
        let deletions = (planned.postgres["Deletions"] as? [[String: Any]])?.map { $0["Version"] as? Int }
        #expect(deletions == [1, 3], "\(planned.postgres)")
        let text = try pair.run("cleanup", "--keep", "1", "--dry-run")
        #expect(text.postgres.status == 0, "\(text.postgres.stderr)")
        #expect(text.postgres.stdout.split(separator: "\n").last == text.sqlite.stdout.split(separator: "\n").last)
        let untouched = try pair.json("function", "list", "--all-versions")
        #expect((untouched.postgres["Functions"] as? [Any])?.count == 5, "\(untouched.postgres)")

        let applied = try pair.run("cleanup", "--keep", "1")
        #expect(applied.postgres.status == 0, "\(applied.postgres.stderr)")
        let freed = applied.postgres.stdout.split(separator: "\n").last
        #expect(freed == applied.sqlite.stdout.split(separator: "\n").last, "\(applied.postgres.stdout)")
        #expect(freed?.hasPrefix("Freed ") == true, "\(applied.postgres.stdout)")
        let listed = try pair.json("function", "list", "--all-versions")
        #expect(listed.postgres == listed.sqlite, "\(listed.postgres)")
        let versions = (listed.postgres["Functions"] as? [[String: Any]])?.map { $0["Version"] as? String }
        #expect(versions == ["$LATEST", "2", "4"], "\(listed.postgres)")
        let again = try pair.run("cleanup", "--keep", "1")
        #expect(again.postgres.stdout.hasPrefix("Nothing to delete."), "\(again.postgres.stdout)")

        let negative = try pair.run("cleanup", "--keep=-1")
        #expect(negative.postgres.status != 0 && negative.postgres.status == negative.sqlite.status)
        #expect(negative.postgres.stderr == negative.sqlite.stderr, "\(negative.postgres.stderr)")
    }

    /// `gc` and `fsck` on the database with a bucket (a real moto_server): gc deletes only objects no row
    /// names and older than --temporary-age; fsck finds a replaced object and says so in one error line.
    @Test func gcAndFsckCheckTheDatabaseRowsAgainstTheBucket() throws {
        let cli = try CLI()
        let database = try PostgresCluster.databaseURL()
        let moto = try MotoS3(cli: cli)
        defer { withExtendedLifetime(moto) {} }  // the bucket lives until the test ends
        let store = moto.relctlEnvironment.merging(["RELCTL_CODE_STORE": "s3://relctl-code/team"]) { $1 }
        func relctl(_ arguments: String...) throws -> CLI.Result {
            try cli.run(arguments + ["--database", database], environment: store)
        }
        let created = try relctl(
            "function", "create", "orders", "--dir", try cli.source("v1", marker: "one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap", "--publish", "--output", "json")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(try relctl("layer", "publish", "tools", "--dir", try cli.source("tools", marker: "t")).status == 0)
        #expect(try relctl("layer", "delete", "tools", "1").status == 0)

        let fsck = try relctl("fsck")
        #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
        #expect(
            fsck.stdout.contains("and the code objects in s3://relctl-code/team")
                && fsck.stdout.contains("ok: 2 version(s), 1 blob(s) consistent"), "\(fsck.stdout)")
        // The deleted layer's object is unreferenced but young: kept under the default age guard.
        let young = try relctl("gc", "--output", "json")
        #expect(young.status == 0 && young.object["RemovedObjects"] as? Int == 0, "\(young.stdout)\(young.stderr)")
        let collected = try relctl("gc", "--temporary-age", "0")
        #expect(
            collected.status == 0 && collected.stdout.contains("Removed 1 unreferenced object(s)")
                && collected.stdout.contains("from s3://relctl-code/team"), "\(collected.stdout)\(collected.stderr)")
        #expect(try relctl("fsck").status == 0)

        // Someone replaces the function's object in the bucket: fsck says so, exit 1, one error line.
        let hash = try #require(
            Data(base64Encoded: created.object["CodeSha256"] as? String ?? "")?.map { String(format: "%02x", $0) }
                .joined())
        let fake = cli.workDirectory.appendingPathComponent("fake.zip")
        try Data("not the package".utf8).write(to: fake)
        let (put, output) = try runTool(
            [
                "aws", "s3api", "put-object", "--bucket", "relctl-code", "--key",
                "team/sha256/\(hash.prefix(2))/\(hash)",
                "--body", fake.path, "--endpoint-url", moto.endpoint,
            ], environment: moto.aws, cwd: cli.workDirectory)
        #expect(put == 0, "\(output)")
        let broken = try relctl("fsck", "--skip-hashes")
        #expect(broken.status == 1, "\(broken.stdout)\(broken.stderr)")
        #expect(
            broken.stdout.contains("Code object \(hash) is 15 bytes in s3://relctl-code/team"), "\(broken.stdout)")
        #expect(broken.stderr.split(separator: "\n").count == 1, "\(broken.stderr)")
    }

    /// Without --code-store the database's code shares this data directory's blobs with its own SQLite
    /// registry: gc on the database keeps what either names.
    @Test func gcOnTheDatabaseKeepsTheDataDirectoryRegistrysBlobs() throws {
        let cli = try CLI()
        let database = try PostgresCluster.databaseURL()
        #expect(
            try cli.run(
                "function", "create", "local", "--dir", try cli.source("local", marker: "here"), "--runtime",
                "provided.al2023", "--handler", "bootstrap"
            ).status == 0)
        #expect(
            try cli.run(
                "layer", "publish", "tools", "--dir", try cli.source("tools", marker: "t"), "--database", database
            )
            .status == 0)
        #expect(try cli.run("layer", "delete", "tools", "1", "--database", database).status == 0)
        // An interrupted write's leftover in the blob folder: kept while it may be in progress, then removed.
        let folder = cli.dataDirectory.appendingPathComponent("blobs/sha256/ab", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let leftover = folder.appendingPathComponent(".tmp-abcdef0123456789-interrupted")
        try Data("partial".utf8).write(to: leftover)
        let young = try cli.run("gc", "--database", database)
        #expect(young.stdout.contains("removed 0 stale temporary file(s)"), "\(young.stdout)\(young.stderr)")
        #expect(FileManager.default.fileExists(atPath: leftover.path))
        let collected = try cli.run("gc", "--temporary-age", "0", "--database", database)
        #expect(
            collected.status == 0 && collected.stdout.contains("Removed 1 unreferenced object(s)"),
            "\(collected.stdout)\(collected.stderr)")
        #expect(collected.stdout.contains("removed 1 stale temporary file(s)"), "\(collected.stdout)")
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        let local = try cli.run("fsck")
        #expect(local.status == 0, "\(local.stdout)\(local.stderr)")
    }
}
