import Foundation
import RelctlProcess
import Testing

/// Issue 10 §5: the release API on `relctl serve --database postgres://`.
@Suite("releases on serve --database postgres://", .serialized)
struct SharedDatabaseReleaseTests {
    /// A release created through one server is advanced by the leader and read as Succeeded through the other.
    @Test func aReleaseCreatedThroughOneServerFinishesUnderTheLeader() throws {
        let database = try PostgresCluster.databaseURL()
        let cli = try SharedDatabaseWebhookTests.registryWithThreeVersions(on: database)
        let servers = [
            try ServerProcess(try CLI(), extra: ["--database", database]),
            try ServerProcess(try CLI(), extra: ["--database", database]),
        ]
        let created = try Self.call(
            servers[0], "CreateRelease", #"{"name": "train", "members": ["orders:live=2"], "policy": "AllAtOnce"}"#)
        let id = try #require((created["release"] as? [String: Any])?["releaseId"] as? String, "\(created)")
        var status: String?
        for _ in 0..<600 where status != "Succeeded" {
            let got = try Self.call(servers[1], "GetRelease", #"{"release": "train"}"#)
            status = (got["release"] as? [String: Any])?["status"] as? String
            if status != "Succeeded" { usleep(100_000) }
        }
        #expect(status == "Succeeded")
        let listed = try Self.call(servers[1], "ListReleases", "{}")
        #expect((listed["releases"] as? [[String: Any]])?.map { $0["releaseId"] as? String } == [id], "\(listed)")
        let missing = try Self.call(servers[0], "GetRelease", #"{"release": "nope"}"#)
        #expect("\(missing)".contains("Release nope does not exist"), "\(missing)")
        let alias = try cli.json("alias", "get", "orders", "live", "--database", database)
        #expect(alias["FunctionVersion"] as? String == "2")
        for server in servers { #expect(server.stop() == 0) }
    }

    /// One release action (`X-Amz-Target: Relctl.ACTION`, unsigned: the servers run without auth on loopback).
    static func call(_ server: ServerProcess, _ action: String, _ body: String) throws -> [String: Any] {
        let result = try ChildProcess.run(
            arguments: [
                "/usr/bin/curl", "-s", "-m", "60", "-X", "POST", "-H", "X-Amz-Target: Relctl.\(action)", "-H",
                "Content-Type: application/x-amz-json-1.1", "--data", body, "\(server.endpoint)/",
            ], environment: ProcessInfo.processInfo.environment, timeout: 90)
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [
            "raw": result.stdout
        ]
    }
}
