import Foundation
import RelctlProcess
import Testing

/// Issue 10 §1/§5: webhooks on `relctl serve --database postgres://`: two servers, one database, and
/// the leader alone delivers, so a subscriber gets each event once.
@Suite("webhooks on serve --database postgres://", .serialized)
struct SharedDatabaseWebhookTests {
    /// A webhook added with `notify add --database` receives every event of a deployment the leader runs,
    /// once each and in order; killed between deliveries, the leader's successor delivers the next
    /// deployment's events from the cursor, repeating none. `GET /events` on either server streams the same log.
    @Test func eachDeploymentEventReachesTheWebhookOnceAndTheNextLeaderDeliversTheRest() throws {
        let database = try PostgresCluster.databaseURL()
        let cli = try Self.registryWithThreeVersions(on: database)
        let receiver = try WebhookReceiver(cli, name: "shared", secret: "k")
        defer { receiver.process.killGroupAndWait() }
        let servers = [
            try ServerProcess(try CLI(), extra: ["--database", database]),
            try ServerProcess(try CLI(), extra: ["--database", database]),
        ]
        let added = try cli.json(
            "notify", "add", "audit", "--url", receiver.url, "--secret", "k", "--database", database)
        let start = try #require(added["DeliveredSeq"] as? Int, "\(added)")

        let first = try Self.deploy(cli, version: 2, database: database)
        var expected = try Self.eventSeqs(cli, after: start, database: database)
        #expect(expected.count >= 4, "a deployment's events: \(expected)")
        #expect(receiver.wait(timeout: 120) { $0.count >= expected.count }, "received \(receiver.seqs) of \(expected)")
        #expect(receiver.seqs == expected)
        #expect(Self.deploymentIds(receiver).contains(first))
        #expect(receiver.records.allSatisfy { $0["valid"] as? Bool == true })

        // Both servers stream the same log.
        for server in servers {
            #expect(try Self.streamedSeqs(server, after: start, count: expected.count) == expected)
        }

        // The leader dies with nothing in flight; the other server takes over and delivers the next deployment.
        let leader = try #require(Self.leaderIndex(servers), "no server leads")
        kill(servers[leader].process.pid, SIGKILL)
        #expect(servers[leader].process.wait(timeout: 30))
        let second = try Self.deploy(cli, version: 3, database: database)
        expected = try Self.eventSeqs(cli, after: start, database: database)
        #expect(receiver.wait(timeout: 180) { $0.count >= expected.count }, "received \(receiver.seqs) of \(expected)")
        #expect(receiver.seqs == expected, "each event once, in order")
        #expect(Self.deploymentIds(receiver).contains(second))
        #expect(Self.leaderIndex(servers) == 1 - leader)

        let listed = try cli.run("notify", "list", "--output", "json", "--database", database)
        let hooks = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(hooks.first?["DeliveredSeq"] as? Int == expected.last, "\(listed.stdout)")
        #expect(servers[1 - leader].stop() == 0)
    }

    /// `notify add|list|test|delete` and `events` on `--database`, with SQLite's answers and errors.
    @Test func notifyAndEventsCommandsRunOnTheDatabase() throws {
        let database = try PostgresCluster.databaseURL()
        let cli = try Self.registryWithThreeVersions(on: database)
        let receiver = try WebhookReceiver(cli, name: "test", secret: "k")
        defer { receiver.process.killGroupAndWait() }
        try cli.json("notify", "add", "ok", "--url", receiver.url, "--secret", "k", "--database", database)
        let duplicate = try cli.run("notify", "add", "ok", "--url", receiver.url, "--database", database)
        #expect(duplicate.status == 1 && duplicate.stderr.contains("Webhook ok already exists"), "\(duplicate.stderr)")
        let bad = try cli.run("notify", "add", "broken", "--url", "ftp://example.com/x", "--database", database)
        #expect(bad.status != 0 && bad.stderr.contains("use an absolute http:// or https:// URL"), "\(bad.stderr)")
        let sent = try cli.run("notify", "test", "ok", "--database", database)
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(receiver.records.count == 1 && receiver.records.first?["valid"] as? Bool == true)

        // The copied registry's log is there, filtered as on SQLite.
        let published = try cli.run("events", "--type", "VersionPublished", "--database", database)
        #expect(published.status == 0, "\(published.stderr)")
        let versions = published.stdout.split(separator: "\n").compactMap {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["details"]
                as? [String: String]
        }
        #expect(versions.map { $0["version"] } == ["1", "2", "3"], "\(published.stdout)")
        let table = try cli.run("notify", "list", "--database", database)
        #expect(table.status == 0 && table.stdout.contains("ok"), "\(table.stdout)\(table.stderr)")

        #expect(try cli.run("notify", "delete", "ok", "--database", database).status == 0)
        let missing = try cli.run("notify", "delete", "ok", "--database", database)
        #expect(missing.status == 1 && missing.stderr.contains("ResourceNotFoundException"), "\(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        // The data directory's own registry has no webhooks.
        let local = try cli.run("notify", "list", "--output", "json").stdout
        #expect((try? JSONSerialization.jsonObject(with: Data(local.utf8)) as? [Any])?.isEmpty == true, "\(local)")
    }

    // MARK: - Helpers

    /// `orders` with versions 1–3 made on SQLite and copied to `database`, `live` at version 1 there, and a
    /// quick policy (`Quick`: 50% then 100%) in the CLI's data directory.
    static func registryWithThreeVersions(on database: String) throws -> CLI {
        let cli = try CLI()
        try cli.json(
            "function", "create", "orders", "--dir", try cli.source("v1", marker: "one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap", "--publish")
        for (index, marker) in [(2, "two"), (3, "three")] {
            try cli.json(
                "function", "update-code", "orders", "--dir", try cli.source("v\(index)", marker: marker), "--publish")
        }
        let migrated = try cli.run("migrate-store", "--to-database", database)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        try cli.json("alias", "create", "orders", "live", "--version", "1", "--database", database)
        let policies = cli.dataDirectory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        let quick = "{name: Quick, type: Steps, steps: [{weight: 50, hold: 1s}]}"
        try quick.write(to: policies.appendingPathComponent("quick.yaml"), atomically: true, encoding: .utf8)
        return cli
    }

    /// Deploys `version` to `live` and follows it (the leading server advances it) until it succeeds; its id.
    static func deploy(_ cli: CLI, version: Int, database: String) throws -> String {
        let result = try cli.run(
            [
                "deploy", "orders", "--alias", "live", "--version", String(version), "--policy", "Quick", "--output",
                "json", "--database", database,
            ], timeout: 240)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.object["status"] as? String == "Succeeded", "\(result.stdout)")
        return try #require(result.object["deploymentId"] as? String, "\(result.stdout)")
    }

    /// The sequence numbers of the database's events after `seq`, as `relctl events` lists them.
    static func eventSeqs(_ cli: CLI, after seq: Int, database: String) throws -> [Int] {
        let result = try cli.run("events", "--since", String(seq), "--database", database)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").compactMap {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["seq"] as? Int
        }
    }

    static func deploymentIds(_ receiver: WebhookReceiver) -> Set<String> {
        Set(receiver.records.compactMap { ($0["body"] as? [String: Any])?["deploymentId"] as? String })
    }

    /// The `id:`s of `GET /events?since=SEQ` until `count` have come (a reader with a deadline).
    static func streamedSeqs(_ server: ServerProcess, after seq: Int, count: Int) throws -> [Int] {
        let reader = """
            import sys, urllib.request
            ids = []
            with urllib.request.urlopen(sys.argv[1], timeout=120) as stream:
                for line in stream:
                    if line.startswith(b"id: "):
                        ids.append(line[4:].decode().strip())
                        if len(ids) >= int(sys.argv[2]): break
            print(" ".join(ids))
            """
        let result = try ChildProcess.run(
            arguments: [
                "/usr/bin/env", "python3", "-c", reader, "\(server.endpoint)/events?since=\(seq)", String(count),
            ],
            environment: ProcessInfo.processInfo.environment, timeout: 150)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: " ").compactMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Which of `servers` says it leads (`/healthz`), waiting for one to.
    static func leaderIndex(_ servers: [ServerProcess]) -> Int? {
        for _ in 0..<300 {
            let leading = servers.indices.filter { index in
                !servers[index].process.hasExited
                    && (try? ServerProcess.get("\(servers[index].endpoint)/healthz"))?.1.contains("leader: yes") == true
            }
            if leading.count == 1 { return leading[0] }
            usleep(100_000)
        }
        return nil
    }
}
