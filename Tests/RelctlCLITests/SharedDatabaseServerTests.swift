import Foundation
import RelctlCore
import RelctlPostgres
import RelctlProcess
import Testing

extension PostgresCluster {
    /// A new empty database on the test cluster as `--database` takes it (through the cluster's socket).
    static func databaseURL() throws -> String {
        let location = try database()
        let cluster = try shared()
        return "postgres://\(user)@localhost/\(location.database)?host=\(cluster.socketDirectory)&port=\(cluster.port)"
    }
}

/// Issue 10 §5: several `relctl serve` on one PostgreSQL database answer the same registry.
@Suite("relctl serve --database postgres://", .serialized)
struct SharedDatabaseServerTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Support/two_servers.py")

    /// Two servers (two data directories, one database), driven by boto3: a function created and
    /// published on one, aliases created and moved on the other, a RevisionId race between them.
    @Test func twoServersOnOneDatabaseAnswerTheSameFunctionsVersionsAndAliases() throws {
        let database = try PostgresCluster.databaseURL()
        let (first, second) = (try CLI(), try CLI())
        let one = try ServerProcess(first, extra: ["--database", database])
        let two = try ServerProcess(second, extra: ["--database", database])
        let (status, output) = try runTool(
            ["python3", Self.script.path, one.endpoint, two.endpoint], environment: [:], cwd: first.workDirectory,
            timeout: 240)
        #expect(status == 0, "\(output.suffix(4000))")
        #expect(output.contains("two servers: ok"), "\(output.suffix(4000))")
        #expect(one.stop() == 0)
        #expect(two.stop() == 0)
    }

    /// A wrong or unreachable database is one clear error line at start, not a server answering from SQLite.
    @Test func serveOnAnUnreachableDatabaseIsOneErrorLine() throws {
        let cli = try CLI()
        let result = try cli.run(
            "serve", "--port", String(ServerProcess.freePort()), "--database",
            "postgres://relctl@127.0.0.1:\(ServerProcess.freePort())/none")
        #expect(result.status != 0)
        #expect(result.stderr.contains("PostgreSQL"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
