import Foundation
import RelctlProcess
import Testing

/// A real HTTP receiver (python3's http.server, a child with a deadline): answers 500 to its first
/// `failFirst` requests, then records every body with whether its signature checks out.
struct WebhookReceiver {
    let process: ChildProcess
    let url: String
    let received: URL

    static let script = #"""
        import hashlib, hmac, http.server, json, os, sys, threading, time
        out, port_file, secret, fail_first, delay = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
        threading.Timer(300, os._exit, [3]).start()  # the deadline: never outlive the test
        count = 0
        lock = threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                global count
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    count += 1
                    n = count
                if n <= fail_first:
                    self.send_response(500); self.end_headers(); self.wfile.write(b"not yet"); return
                time.sleep(delay)
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                valid = hmac.compare_digest(self.headers.get("X-Relctl-Signature", ""), expected)
                with lock, open(out, "a") as f:
                    f.write(json.dumps({"valid": valid, "attempt": n, "delivery": self.headers.get("X-Relctl-Delivery"),
                                        "body": json.loads(body)}) + "\n")
                self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#

    init(_ cli: CLI, name: String, secret: String = "", failFirst: Int = 0, delay: Double = 0) throws {
        let folder = cli.workDirectory.appendingPathComponent("receiver-\(name)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        received = folder.appendingPathComponent("received.jsonl")
        let portFile = folder.appendingPathComponent("port")
        process = try ChildProcess.spawn(
            .init(
                arguments: [
                    "/usr/bin/env", "python3", "-c", Self.script, received.path, portFile.path, secret,
                    String(failFirst), String(delay),
                ],
                environment: ProcessInfo.processInfo.environment, logPath: folder.appendingPathComponent("log").path))
        var port: String?
        let deadline = Date().addingTimeInterval(30)
        while port == nil && Date() < deadline && !process.hasExited {
            port = try? String(contentsOf: portFile, encoding: .utf8)
            if port == nil { usleep(20_000) }
        }
        url = "http://127.0.0.1:\(port ?? "0")/hook"
    }

    /// What was accepted so far, in arrival order.
    var records: [[String: Any]] {
        let text = (try? String(contentsOf: received, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    var seqs: [Int] { records.compactMap { ($0["body"] as? [String: Any])?["seq"] as? Int } }

    /// Waits (up to `timeout`) until `done` holds for what was received.
    func wait(timeout: Double = 60, until done: ([[String: Any]]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if done(records) { return true }
            usleep(50_000)
        }
        return done(records)
    }
}

@Suite("events and webhooks", .serialized)
struct EventCLITests {
    /// The log as `relctl events ARGS` prints it: one JSON object a line.
    static func events(_ cli: CLI, _ arguments: [String] = []) throws -> [[String: Any]] {
        let result = try cli.run(["events"] + arguments)
        #expect(result.status == 0, "relctl events \(arguments) failed: \(result.stderr)")
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// A function with `versions` published versions and a `live` alias moved across them.
    static func makeHistory(_ cli: CLI, function: String = "orders", versions: Int) throws {
        try cli.json("function", "create", function, "--dir", try cli.source("\(function)-0", marker: "v0"))
        for index in 1...versions {
            try cli.json(
                "function", "update-code", function, "--dir",
                try cli.source("\(function)-\(index)", marker: "v\(index)"), "--publish")
        }
        try cli.json("alias", "create", function, "live", "--version", "1")
        for index in 2...max(2, versions) where index <= versions {
            try cli.json("alias", "update", function, "live", "--version", String(index))
        }
    }

    @Test func eventsPrintsTheLogAsJsonLinesWithFilters() throws {
        let cli = try CLI()
        try Self.makeHistory(cli, versions: 3)
        try Self.makeHistory(cli, function: "billing", versions: 2)
        let all = try Self.events(cli)
        let seqs = all.compactMap { $0["seq"] as? Int }
        #expect(seqs.count == all.count && seqs == seqs.sorted() && Set(seqs).count == seqs.count)
        let published = all.filter { $0["type"] as? String == "VersionPublished" }
        #expect(
            published.compactMap { $0["function"] as? String } == ["orders", "orders", "orders", "billing", "billing"])
        #expect((published.first?["details"] as? [String: String])?["version"] == "1")
        #expect(
            published.allSatisfy { $0["actor"] as? String == "test" && ($0["time"] as? String)?.hasSuffix("Z") == true }
        )
        let moves = all.filter { $0["type"] as? String == "AliasMoved" && $0["function"] as? String == "orders" }
        #expect(
            moves.compactMap { ($0["details"] as? [String: String])?["to"] } == ["version 1", "version 2", "version 3"])

        let onlyBilling = try Self.events(cli, ["--function", "billing", "--type", "VersionPublished,AliasMoved"])
        #expect(onlyBilling.count == 4 && onlyBilling.allSatisfy { $0["function"] as? String == "billing" })
        let since = seqs[seqs.count - 2]
        #expect(try Self.events(cli, ["--since", String(since)]).compactMap { $0["seq"] as? Int } == [seqs.last!])

        let bad = try cli.run("events", "--type", "Shifted")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("Unknown event type 'Shifted'") && bad.stderr.contains("WeightShifted"))
    }

    @Test func eventsFollowPrintsNewEventsAsTheyCommit() throws {
        let cli = try CLI()
        try Self.makeHistory(cli, versions: 1)
        let log = cli.workDirectory.appendingPathComponent("follow.jsonl")
        let follower = try cli.start(["events", "--follow", "--type", "VersionPublished"], log: log.path)
        defer { follower.killGroupAndWait() }
        try cli.json(
            "function", "update-code", "orders", "--dir", try cli.source("later", marker: "later"), "--publish")
        let deadline = Date().addingTimeInterval(30)
        var lines: [Substring] = []
        while Date() < deadline {
            lines = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
            if lines.count >= 2 { break }
            usleep(50_000)
        }
        #expect(lines.count == 2, "followed: \(lines)")
        #expect(lines.last?.contains(#""version":"2""#) == true)
        #expect(!follower.hasExited)
    }

    @Test func webhookGetsEveryEventSignedAndInOrderAfterTheReceiverFailed() throws {
        let cli = try CLI()
        let receiver = try WebhookReceiver(cli, name: "json", secret: "s3cret", failFirst: 3)
        defer { receiver.process.killGroupAndWait() }
        let slack = try WebhookReceiver(cli, name: "slack")
        defer { slack.process.killGroupAndWait() }
        try cli.json("notify", "add", "audit", "--url", receiver.url, "--secret", "s3cret")
        try cli.json(
            "notify", "add", "chat", "--url", slack.url, "--format", "slack", "--on", "VersionPublished", "--function",
            "orders")
        let bad = try cli.run("notify", "add", "broken", "--url", "ftp://example.com/x")
        #expect(bad.status != 0 && bad.stderr.contains("use an absolute http:// or https:// URL"))

        try Self.makeHistory(cli, versions: 4)
        let expected = try Self.events(cli).compactMap { $0["seq"] as? Int }
        let controller = try cli.start(["controller", "run", "--interval", "0.2"])
        defer { controller.killGroupAndWait() }
        #expect(receiver.wait { $0.count >= expected.count }, "received \(receiver.seqs) of \(expected)")
        #expect(receiver.seqs == expected)
        #expect(receiver.records.allSatisfy { $0["valid"] as? Bool == true })
        // The first three attempts were answered 500: the first event got through on the fourth.
        #expect(receiver.records.first?["attempt"] as? Int == 4)

        #expect(slack.wait { $0.count >= 4 })
        let texts = slack.records.compactMap { ($0["body"] as? [String: Any])?["text"] as? String }
        #expect(
            texts.count == 4
                && texts.allSatisfy { $0.hasPrefix("[relctl] VersionPublished orders — Published orders version") })

        let list = try cli.run("notify", "list", "--output", "json")
        let hooks = (try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(hooks.first { $0["Name"] as? String == "audit" }?["DeliveredSeq"] as? Int == expected.last)
        #expect(hooks.first { $0["Name"] as? String == "audit" }?["FailedAttempts"] as? Int == 0)
        #expect(!list.stdout.contains("s3cret"))
    }

    @Test func killingTheDispatcherLosesNoEvent() throws {
        let cli = try CLI()
        // A slow receiver, so the kill lands while deliveries are in flight.
        let receiver = try WebhookReceiver(cli, name: "slow", delay: 0.1)
        defer { receiver.process.killGroupAndWait() }
        try cli.json("notify", "add", "audit", "--url", receiver.url)
        try Self.makeHistory(cli, versions: 6)
        let first = try cli.start(["controller", "run", "--interval", "0.2"])
        defer { first.killGroupAndWait() }
        #expect(receiver.wait { $0.count >= 3 })
        kill(first.pid, SIGKILL)
        #expect(first.wait(timeout: 30))
        try Self.makeHistory(cli, function: "billing", versions: 3)
        let expected = try Self.events(cli).compactMap { $0["seq"] as? Int }
        let second = try cli.start(["controller", "run", "--interval", "0.2"])
        defer { second.killGroupAndWait() }
        #expect(
            receiver.wait(timeout: 90) { records in
                Set(records.compactMap { ($0["body"] as? [String: Any])?["seq"] as? Int }).count >= expected.count
            })
        // At least once, in order: possibly a repeat of what was in flight at the kill, never a gap.
        var firstSeen: [Int] = []
        for seq in receiver.seqs where !firstSeen.contains(seq) { firstSeen.append(seq) }
        #expect(firstSeen == expected)
        #expect(
            receiver.seqs.count <= expected.count + 1,
            "only the delivery in flight at the kill may repeat: \(receiver.seqs)")
    }

    @Test func notifyTestPostsATestEventAndReportsARefusal() throws {
        let cli = try CLI()
        let receiver = try WebhookReceiver(cli, name: "test", secret: "k")
        defer { receiver.process.killGroupAndWait() }
        try cli.json("notify", "add", "ok", "--url", receiver.url, "--secret", "k")
        let sent = try cli.run("notify", "test", "ok")
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(receiver.records.count == 1 && receiver.records.first?["valid"] as? Bool == true)
        #expect((receiver.records.first?["body"] as? [String: Any])?["type"] as? String == "Test")

        try cli.json("notify", "add", "nobody", "--url", "http://127.0.0.1:9/none")
        let refused = try cli.run("notify", "test", "nobody")
        #expect(refused.status == 1 && refused.stderr.hasPrefix("error: ServiceException: Webhook nobody"))
        #expect(try cli.run("notify", "delete", "nobody").status == 0)
        let missing = try cli.run("notify", "delete", "nobody")
        #expect(missing.status == 1 && missing.stderr.contains("ResourceNotFoundException"))
    }
    @Test func serveStreamsEventsAsServerSentEventsAndResumesFromLastEventId() throws {
        let cli = try CLI()
        try Self.makeHistory(cli, versions: 3)
        let published = try Self.events(cli, ["--type", "VersionPublished"]).compactMap { $0["seq"] as? Int }
        let server = try ServerProcess(cli)
        // Resume after the first publish: the two later ones, each with its id, type and JSON.
        let resumed = try ChildProcess.run(
            arguments: [
                "/usr/bin/env", "curl", "-sN", "--max-time", "2", "-H", "Last-Event-ID: \(published[0])",
                "\(server.endpoint)/events?type=VersionPublished",
            ],
            environment: ProcessInfo.processInfo.environment, timeout: 30)
        let ids = resumed.stdout.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        #expect(ids == published.dropFirst().map(String.init), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("event: VersionPublished\ndata: {"))

        // Live: a publish made while the stream is open arrives on it.
        let log = cli.workDirectory.appendingPathComponent("sse.log")
        let stream = try ChildProcess.spawn(
            .init(
                arguments: [
                    "/usr/bin/env", "curl", "-sN", "--max-time", "60",
                    "\(server.endpoint)/events?since=\(published.last!)&function=orders",
                ],
                environment: ProcessInfo.processInfo.environment, logPath: log.path))
        defer { stream.killGroupAndWait() }
        try cli.json("function", "update-code", "orders", "--dir", try cli.source("live", marker: "live"), "--publish")
        let deadline = Date().addingTimeInterval(30)
        var text = ""
        while Date() < deadline && !text.contains(#""version":"4""#) {
            usleep(50_000)
            text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        #expect(text.contains(#""version":"4""#), "\(text)")

        let bad = try ChildProcess.run(
            arguments: [
                "/usr/bin/env", "curl", "-s", "-w", "\n%{http_code}", "-H", "Last-Event-ID: x",
                "\(server.endpoint)/events",
            ],
            environment: ProcessInfo.processInfo.environment, timeout: 30)
        #expect(bad.stdout.hasSuffix("\n400") && bad.stdout.contains("use an event's sequence number"), "\(bad.stdout)")
        // An open stream does not hold up a graceful stop.
        #expect(server.stop() == 0)
    }
}
