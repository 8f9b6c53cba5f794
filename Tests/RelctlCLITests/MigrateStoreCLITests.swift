import Foundation
import RelctlProcess
import Testing

/// `relctl migrate-store`'s command line: wrong targets are one error line and change nothing.
/// (The copy itself is tested against a real PostgreSQL in RelctlTests' StoreMigrationTests.)
@Suite("CLI: migrate-store")
struct MigrateStoreCLITests {
    @Test func aWrongTargetURLIsOneErrorLine() throws {
        let cli = try CLI()
        let result = try cli.run("migrate-store", "--to-database", "mysql://root@db/relctl")
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(
            result.stderr.hasPrefix(
                "error: InvalidParameterValueException: --to-database 'mysql://root@db/relctl' is not a database URL"),
            "\(result.stderr)")
    }

    @Test func anUnreachableTargetIsOneErrorLineAndTheSourceIsUntouched() throws {
        let cli = try CLI()
        let zip = try cli.source("hello", marker: "one")
        #expect(try cli.run("function", "create", "hello", "--dir", zip, "--publish").status == 0)
        let registry = cli.dataDirectory.appendingPathComponent("registry.sqlite")
        let before = try Data(contentsOf: registry)
        let result = try cli.run("migrate-store", "--to-database", "postgres://relctl:secret@127.0.0.1:1/relctl")
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("postgres://relctl@127.0.0.1:1/relctl"), "\(result.stderr)")
        #expect(!result.stderr.contains("secret"))
        #expect(try Data(contentsOf: registry) == before)
    }

    @Test func aSourceDatabaseFlagIsRefused() throws {
        let cli = try CLI()
        let result = try cli.run(
            "migrate-store", "--database", "postgres://relctl@127.0.0.1:1/a", "--to-database",
            "postgres://relctl@127.0.0.1:1/b")
        #expect(result.status == 1)
        #expect(result.stderr.contains("reads the data directory's SQLite registry"), "\(result.stderr)")
    }
}
