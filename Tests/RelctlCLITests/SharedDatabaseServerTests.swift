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

    /// Issue 10 §5: every server campaigns, exactly one leads (`/healthz`, `/metrics`), and when the
    /// leader is killed with SIGKILL the other takes over with a later epoch.
    @Test func exactlyOneServerLeadsAndAnotherTakesOverWhenItDies() throws {
        let database = try PostgresCluster.databaseURL()
        let servers = [
            try ServerProcess(try CLI(), extra: ["--database", database]),
            try ServerProcess(try CLI(), extra: ["--database", database]),
        ]
        func leaders() -> [(index: Int, epoch: Int)] {
            servers.indices.compactMap { index in
                guard !servers[index].process.hasExited,
                    let (status, body) = try? ServerProcess.get("\(servers[index].endpoint)/healthz"), status == 200,
                    let line = body.split(separator: "\n").first(where: { $0.hasPrefix("leader: yes (epoch ") })
                else { return nil }
                return (index, Int(line.dropFirst("leader: yes (epoch ".count).dropLast()) ?? -1)
            }
        }
        func waitForOneLeader(excluding excluded: Int?) -> (index: Int, epoch: Int)? {
            for _ in 0..<300 {
                let found = leaders().filter { $0.index != excluded }
                if found.count == 1 { return found[0] }
                usleep(100_000)
            }
            return nil
        }
        let first = try #require(waitForOneLeader(excluding: nil), "no server said it leads")
        #expect(leaders().count == 1, "two servers lead at once")
        let follower = 1 - first.index
        let (_, followerHealth) = try ServerProcess.get("\(servers[follower].endpoint)/healthz")
        #expect(followerHealth.contains("leader: no"), "\(followerHealth)")
        let (_, metrics) = try ServerProcess.get("\(servers[first.index].endpoint)/metrics")
        #expect(metrics.contains("relctl_controller_leader 1"), "\(metrics.prefix(2000))")

        kill(servers[first.index].process.pid, SIGKILL)
        _ = servers[first.index].process.wait(timeout: 30)
        let second = try #require(waitForOneLeader(excluding: first.index), "the other server never took over")
        #expect(second.index == follower)
        #expect(second.epoch > first.epoch, "epoch \(second.epoch) after \(first.epoch)")
        #expect(servers[follower].stop() == 0)
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
