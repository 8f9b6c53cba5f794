import Foundation
import RelctlProcess
import Testing

/// Judged canaries end to end: two real versions of a function (a Python custom runtime failing a
/// set share of requests), `relctl traffic` invoking the alias, and the canary judge deciding.
/// Every child has a deadline and is killed at the end.
@Suite("Judged deployments with real traffic")
struct JudgedDeployCLITests {
    /// A custom runtime that fails about FAIL_PERCENT% of its requests (one process per instance).
    static let bootstrap = #"""
        #!/usr/bin/env python3
        import http.client, os, random
        host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
        fail = float(os.environ.get("FAIL_PERCENT", "0")) / 100
        base = "/2018-06-01/runtime/invocation/"
        def call(method, path, body=None, headers={}):
            connection = http.client.HTTPConnection(host, int(port), timeout=3600)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            connection.close()
            return response, data
        while True:
            response, _ = call("GET", base + "next")
            request = response.getheader("Lambda-Runtime-Aws-Request-Id")
            if random.random() < fail:
                call("POST", base + request + "/error", b'{"errorMessage":"injected","errorType":"Test.Failure"}',
                     {"Lambda-Runtime-Function-Error-Type": "Test.Failure"})
            else:
                call("POST", base + request + "/response", b'{"ok":true}')
        """#

    /// Function `orders`: version 1 failing `baseline`%, version 2 failing `canary`%; alias `live` → 1;
    /// policy `Judged` (one step at `weight`% held `hold`, with `judge`).
    static func fixture(baseline: Int, canary: Int, weight: Int, hold: String, judge: String) throws -> CLI {
        let cli = try CLI()
        let folder = cli.workDirectory.appendingPathComponent("orders", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("bootstrap")
        try Data(bootstrap.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        try cli.json(
            "function", "create", "orders", "--dir", folder.path, "--runtime", "provided.al2023", "--handler",
            "bootstrap",
            "--env", "FAIL_PERCENT=\(baseline)", "--publish")
        try cli.json("function", "update-config", "orders", "--env", "FAIL_PERCENT=\(canary)")
        try cli.json("publish", "orders")
        try cli.json("alias", "create", "orders", "live", "--version", "1")
        let policies = cli.dataDirectory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try """
        name: Judged
        type: Steps
        steps:
          - weight: \(weight)
            hold: \(hold)
        judge:
        \(judge)
        """.write(to: policies.appendingPathComponent("judged.yaml"), atomically: true, encoding: .utf8)
        return cli
    }

    /// Runs `relctl deploy` in the foreground while `relctl traffic` invokes the alias; returns the
    /// deploy's JSON record.
    static func deployUnderTraffic(_ cli: CLI, rate: Int) throws -> [String: Any] {
        let output = cli.workDirectory.appendingPathComponent("deploy.json")
        let traffic = try cli.start(["traffic", "orders:live", "--rate", String(rate), "--duration", "240s"])
        defer { traffic.killGroupAndWait() }
        let deploy = try cli.start(
            ["deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Judged", "--output", "json"],
            log: output.path, stderr: "/dev/null")
        defer { deploy.killGroupAndWait() }
        #expect(deploy.wait(timeout: 200), "the judge decides well within the deadline")
        let record = try JSONSerialization.jsonObject(with: try Data(contentsOf: output)) as? [String: Any] ?? [:]
        #expect((deploy.terminationStatus == 0) == (record["status"] as? String == "Succeeded"))
        return record
    }

    @Test func aCanaryFailingFivePercentAgainstOnePercentIsAbortedAndTheAliasRestored() throws {
        let cli = try Self.fixture(
            baseline: 1, canary: 5, weight: 50, hold: "10m",
            judge: """
                  errors: {maxRatio: 1.2, floor: 0.1%}
                  minRequests: 200
                """)
        let record = try Self.deployUnderTraffic(cli, rate: 40)
        #expect(record["status"] as? String == "Failed")
        let error = record["errorInformation"] as? [String: Any] ?? [:]
        #expect(error["code"] as? String == "ALARM_ACTIVE")
        #expect(
            (error["message"] as? String)?.contains("The canary judge aborted at 50% to version 2: errors:") == true,
            "\(error)")
        #expect(try cli.json("alias", "get", "orders", "live")["FunctionVersion"] as? String == "1")
        #expect(try cli.json("alias", "get", "orders", "live")["RoutingConfig"] == nil)
        let judge = record["judge"] as? [String: Any] ?? [:]
        #expect(judge["verdict"] as? String == "ABORT")
        let evidence = judge["evidence"] as? [String: Any] ?? [:]
        let canary = evidence["canary"] as? [String: Any] ?? [:]
        #expect((canary["errors"] as? Int ?? 0) > 0)
        let id = record["deploymentId"] as? String ?? ""
        // `deployments get` shows the evidence, the events carry the verdicts, replay finds the abort.
        let text = try cli.run("deployments", "get", id)
        #expect(text.stdout.contains("Verdict   ABORT — errors:"), "\(text.stdout)")
        #expect(text.stdout.contains("JudgeVerdict"))
        let events = try cli.run("events", "--type", "JudgeVerdict")
        #expect(
            events.stdout.split(separator: "\n").contains { $0.contains("\"verdict\":\"ABORT\"") }, "\(events.stdout)")
        let replay = try cli.run("judge", "replay", id)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("Would have aborted at +"), "\(replay.stdout)")
    }

    @Test func anIdenticalCanaryIsPromotedLongBeforeItsHoldEnds() throws {
        let cli = try Self.fixture(
            baseline: 0, canary: 0, weight: 50, hold: "10m",
            judge: """
                  errors: {maxRatio: 1.2, floor: 1%}
                  minRequests: 100
                """)
        let record = try Self.deployUnderTraffic(cli, rate: 40)
        #expect(record["status"] as? String == "Succeeded")
        let start = record["startTime"] as? Double ?? 0, end = record["completeTime"] as? Double ?? .infinity
        #expect(end - start < 300, "promoted before half the 10-minute hold")
        let events = record["events"] as? [[String: Any]] ?? []
        #expect(
            events.contains {
                $0["kind"] as? String == "Promote"
                    && ($0["message"] as? String)?.contains("by the canary judge") == true
            })
        #expect(try cli.json("alias", "get", "orders", "live")["FunctionVersion"] as? String == "2")
    }

    @Test func aQuietFunctionHoldsSayingHowManyMoreRequestsItNeedsAndPausesAtTheEnd() throws {
        let cli = try Self.fixture(
            baseline: 0, canary: 0, weight: 50, hold: "20s",
            judge: """
                  errors: {maxRatio: 1.2, floor: 0.1%}
                """)
        let created = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Judged", "--detach")
        let id = created["deploymentId"] as? String ?? ""
        let traffic = try cli.start(["traffic", "orders:live", "--rate", "1", "--duration", "120s"])
        defer { traffic.killGroupAndWait() }
        let controller = try cli.start(["controller", "run", "--interval", "0.5"])
        defer { controller.killGroupAndWait() }
        var record: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(150)
        while Date() < deadline {
            record = try cli.json("deployments", "get", id)
            if record["status"] as? String != "InProgress" { break }
            usleep(500_000)
        }
        #expect(record["status"] as? String == "Paused", "no pass on no data: \(record["status"] ?? "-")")
        let judge = record["judge"] as? [String: Any] ?? [:]
        #expect((judge["needMore"] as? Int ?? 0) > 100, "\(judge)")
        let alias = try cli.json("alias", "get", "orders", "live")
        #expect(
            alias["FunctionVersion"] as? String == "1" && alias["RoutingConfig"] != nil, "the split stays while paused")
        let text = try cli.run("deployments", "get", id)
        #expect(text.stdout.contains("insufficient evidence at the end of the last hold"), "\(text.stdout)")
        #expect(text.stdout.contains("more canary requests") || text.stdout.contains("need ≈"), "\(text.stdout)")
    }
}
