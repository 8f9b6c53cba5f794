import Foundation
import RelctlProcess
import Testing

@Suite("relctl release: groups of aliases in lockstep", .serialized)
struct ReleaseCLITests {
    /// `orders` and `billing` with versions 1–3, alias `live` → 1 on both, and the `Quick` policy (25%, 50%, then 100%).
    static func fixture(holds: String) throws -> CLI {
        let cli = try RolloutCLITests.fixture(holds: holds)
        try cli.json("function", "create", "billing", "--dir", try cli.source("b0", marker: "b0"))
        for index in 1...3 {
            try cli.json(
                "function", "update-code", "billing", "--dir", try cli.source("b\(index)", marker: "b\(index)"),
                "--publish")
        }
        try cli.json("alias", "create", "billing", "live", "--version", "1")
        return cli
    }

    /// `FunctionVersion` and the routing of `function:live`, e.g. `1 + 3@0.5`.
    static func alias(_ cli: CLI, _ function: String) throws -> String {
        let alias = try cli.json("alias", "get", function, "live")
        let weights =
            (alias["RoutingConfig"] as? [String: Any])?["AdditionalVersionWeights"] as? [String: Double] ?? [:]
        return
            ([alias["FunctionVersion"] as? String ?? "?"]
            + weights.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }).joined(separator: " + ")
    }

    /// Where the release's moves took `function:live`, oldest first.
    static func releaseMoves(_ cli: CLI, _ function: String) throws -> [String] {
        let history = try cli.json("history", function, "live")["History"] as? [[String: Any]] ?? []
        return history.filter { ($0["Action"] as? String ?? "").hasPrefix("Release r-") }.reversed().map {
            $0["To"] as? String ?? ""
        }
    }

    /// kill -9 of a foreground `relctl release create` in the middle of a hold; `controller run`
    /// finishes it from the persisted step: every step once, both members always on the same step.
    @Test func killedForegroundReleaseIsFinishedByTheControllerWithEveryMemberInStep() throws {
        let cli = try Self.fixture(holds: "2s")
        let release = try cli.start([
            "release", "create", "checkout", "--member", "orders:live=3", "--member", "billing:live=3", "--policy",
            "Quick",
        ])
        defer { release.killGroupAndWait() }
        // Wait (with a deadline) for the second step, then kill inside its hold.
        var step = ""
        for _ in 0..<600 where step != "2/3" && !release.hasExited {
            // `run`, not `json`: until the CLI has created the release, `release get` fails and that is expected.
            step = (try? cli.run(["release", "get", "checkout", "--output", "json"]).object["step"] as? String) ?? ""
            if step != "2/3" { usleep(100_000) }
        }
        #expect(step == "2/3", "the release reached its 50% step")
        kill(release.pid, SIGKILL)
        #expect(release.wait(timeout: childDeadline))
        #expect(release.terminatedBySignal)
        let killed = try cli.json("release", "get", "checkout")
        #expect(killed["status"] as? String == "InProgress")
        #expect(try Self.alias(cli, "orders") == "1 + 3@0.5")
        #expect(try Self.alias(cli, "billing") == "1 + 3@0.5", "no member on a different step")

        let controller = try cli.run("controller", "run", "--until-idle", "--interval", "0.2")
        #expect(controller.status == 0, "\(controller.stderr)")
        let record = try cli.json("release", "get", "checkout")
        #expect(record["status"] as? String == "Succeeded", "\(record)")
        let shifts = (record["events"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "Shift" }
        #expect(
            shifts.compactMap { ($0["details"] as? [String: String])?["weight"] } == ["25%", "50%", "100%"],
            "each step applied exactly once")
        #expect((record["members"] as? [[String: Any]] ?? []).compactMap { $0["weight"] as? Double } == [100, 100])
        #expect(try Self.alias(cli, "orders") == "3")
        #expect(try Self.alias(cli, "billing") == "3")
        let orders = try Self.releaseMoves(cli, "orders")
        #expect(orders == ["1 + 3@25%", "1 + 3@50%", "3"], "\(orders)")
        #expect(try Self.releaseMoves(cli, "billing") == orders)
        #expect(try cli.run("fsck").status == 0)
    }

    /// One member's alarm breaching fails the foreground release and restores both members; the
    /// CLI shows the group's record as JSON and exits 1.
    @Test func oneMembersAlarmRestoresBothAndTheForegroundReleaseExitsOne() throws {
        let cli = try Self.fixture(holds: "1h")
        try cli.json(
            "alarm", "put", "billing-errors", "--function", "billing", "--executed-version", "target", "--metric",
            "Errors",
            "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1", "--threshold", "1",
            "--comparison-operator", "GreaterThanOrEqualToThreshold", "--treat-missing-data", "notBreaching")
        let output = cli.workDirectory.appendingPathComponent("release.json")
        let release = try cli.start(
            [
                "release", "create", "checkout", "--member", "orders:live=2", "--member", "billing:live=2", "--policy",
                "Quick",
                "--alarm", "billing-errors", "--output", "json",
            ], log: output.path, stderr: "/dev/null")
        defer { release.killGroupAndWait() }
        var routed = false
        for _ in 0..<600 where !routed && !release.hasExited {
            routed = (try? Self.alias(cli, "billing")) == "1 + 2@0.25"
            if !routed { usleep(50_000) }
        }
        #expect(routed, "the release started")
        try cli.json("metrics", "put", "--function", "billing", "--version", "2", "--metric", "Errors", "--value", "1")
        #expect(try Self.alias(cli, "orders") == "1")
        #expect(try Self.alias(cli, "billing") == "1")
        #expect(release.wait(timeout: childDeadline))
        #expect(release.terminationStatus == 1)
        let record = try JSONSerialization.jsonObject(with: try Data(contentsOf: output)) as? [String: Any] ?? [:]
        #expect(record["status"] as? String == "Failed")
        #expect((record["errorInformation"] as? [String: Any])?["code"] as? String == "ALARM_ACTIVE")
        #expect((record["members"] as? [[String: Any]] ?? []).compactMap { $0["weight"] as? Double } == [0, 0])
    }

    @Test func ownedAliasesAndBadMembersAreRefusedWithOneLine() throws {
        let cli = try Self.fixture(holds: "1h")
        let deployment = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Quick", "--detach")
        let id = try #require(deployment["deploymentId"] as? String)
        let refused = try cli.run(
            "release", "create", "checkout", "--member", "orders:live=3", "--member", "billing:live=3", "--policy",
            "Quick", "--detach")
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(
            refused.stderr.contains("ResourceConflictException") && refused.stderr.contains(id), "\(refused.stderr)")
        #expect(try Self.alias(cli, "billing") == "1", "nothing of a refused release is applied")

        let bad = try cli.run("release", "create", "checkout", "--member", "billing=3", "--policy", "Quick")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("--member 'billing=3' is not allowed: use FUNCTION:ALIAS=VERSION"), "\(bad.stderr)")
        #expect(
            try cli.run("release", "create", "checkout", "--policy", "Quick").status == 64,
            "no --member is a usage error")

        try cli.json("deployments", "stop", id)
        let created = try cli.json(
            "release", "create", "checkout", "--member", "orders:live=3", "--member", "billing:live=3",
            "--policy", "Quick", "--detach")
        #expect(created["status"] as? String == "InProgress")
        let deploy = try cli.run(
            "deploy", "billing", "--alias", "live", "--version", "2", "--policy", "Quick", "--detach")
        #expect(deploy.status == 1)
        #expect(deploy.stderr.contains("belongs to release checkout"), "\(deploy.stderr)")
        let promoted = try cli.json("release", "promote", "checkout", "--full")
        #expect(promoted["status"] as? String == "Succeeded")
        #expect(try Self.alias(cli, "orders") == "3" && (try Self.alias(cli, "billing")) == "3")
        let listed = try cli.json("release", "list")["releases"] as? [[String: Any]] ?? []
        #expect(listed.count == 1 && listed.first?["name"] as? String == "checkout")
    }

    /// The release actions through `relctl serve` (`X-Amz-Target: Relctl.*`), with AWS error types and statuses.
    @Test func releaseActionsThroughServe() throws {
        let cli = try Self.fixture(holds: "1h")
        let server = try ServerProcess(cli)
        defer { _ = server.stop() }
        func call(_ action: String, _ body: String) throws -> (status: Int, type: String?, body: [String: Any]) {
            let result = try ChildProcess.run(
                arguments: [
                    "/usr/bin/curl", "-s", "-m", "60", "-D", "-", "-X", "POST", "-H", "X-Amz-Target: Relctl.\(action)",
                    "-H", "Content-Type: application/x-amz-json-1.1", "--data", body, server.endpoint + "/",
                ], environment: ProcessInfo.processInfo.environment, timeout: 120)
            let parts = result.stdout.components(separatedBy: "\r\n\r\n")
            let head = parts.first ?? ""
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            let type = head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("x-amzn-errortype:") }
                .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }
            let json =
                (try? JSONSerialization.jsonObject(with: Data((parts.dropFirst().joined(separator: "\r\n\r\n")).utf8)))
                as? [String: Any] ?? [:]
            return (status, type, json)
        }
        let created = try call(
            "CreateRelease", #"{"name": "checkout", "members": ["orders:live=2", "billing:live=2"], "policy": "Quick"}"#
        )
        #expect(created.status == 200, "\(created)")
        let release = created.body["release"] as? [String: Any] ?? [:]
        let id = try #require(release["releaseId"] as? String)
        #expect(release["status"] as? String == "InProgress")
        #expect(try Self.alias(cli, "orders") == "1 + 2@0.25" && (try Self.alias(cli, "billing")) == "1 + 2@0.25")

        let got = try call("GetRelease", #"{"release": "\#(id)"}"#)
        #expect((got.body["release"] as? [String: Any])?["name"] as? String == "checkout")
        #expect(((got.body["release"] as? [String: Any])?["events"] as? [Any])?.isEmpty == false)
        let listed = try call("ListReleases", "{}")
        #expect((listed.body["releases"] as? [[String: Any]])?.count == 1)

        let conflict = try call("CreateRelease", #"{"name": "again", "members": ["orders:live=3"], "policy": "Quick"}"#)
        #expect(conflict.status == 409 && conflict.type == "ResourceConflictException", "\(conflict)")
        let bad = try call("CreateRelease", #"{"name": "bad", "members": ["orders"], "policy": "Quick"}"#)
        #expect(bad.status == 400 && bad.type == "InvalidParameterValueException", "\(bad)")
        let missing = try call("StopRelease", #"{"release": "nope"}"#)
        #expect(missing.status == 404 && missing.type == "ResourceNotFoundException", "\(missing)")

        let paused = try call("PauseRelease", #"{"release": "checkout"}"#)
        #expect((paused.body["release"] as? [String: Any])?["status"] as? String == "Paused")
        _ = try call("ResumeRelease", #"{"release": "checkout"}"#)
        let stopped = try call("StopRelease", #"{"release": "checkout"}"#)
        #expect((stopped.body["release"] as? [String: Any])?["status"] as? String == "Stopped")
        #expect(try Self.alias(cli, "orders") == "1" && (try Self.alias(cli, "billing")) == "1")
    }
}
