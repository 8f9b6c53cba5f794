import Foundation
import RelctlProcess
import Testing

@Suite("relctl deploy and the controller")
struct RolloutCLITests {
    /// A function `orders` with versions 1–3, alias `live` → 1, and a fast custom policy.
    static func fixture(holds: String = "1s") throws -> CLI {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("v0", marker: "v0"))
        for index in 1...3 {
            try cli.json(
                "function", "update-code", "orders", "--dir", try cli.source("v\(index)", marker: "v\(index)"),
                "--publish")
        }
        try cli.json("alias", "create", "orders", "live", "--version", "1")
        let policies = cli.dataDirectory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try """
        name: Quick
        type: Steps
        steps:
          - weight: 25
            hold: \(holds)
          - weight: 50
            hold: \(holds)
        """.write(to: policies.appendingPathComponent("quick.yaml"), atomically: true, encoding: .utf8)
        return cli
    }

    @Test func foregroundDeployPrintsOneLinePerEventAndExitsZeroOnSuccess() throws {
        let cli = try Self.fixture()
        let result = try cli.run(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Quick",
            "--pre-traffic-hook", "exec:echo pre-check for $RELCTL_TARGET_VERSION",
            "--post-traffic-hook", "exec:true")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.filter { $0.contains("Shift:") }.count == 3)
        #expect(lines.last?.contains("Succeeded") == true)
        #expect(!result.stdout.contains("\u{1B}["), "no redraw escapes without a terminal")
        let hookFiles =
            (try? FileManager.default.contentsOfDirectory(
                atPath: cli.dataDirectory.appendingPathComponent("hooks").path)) ?? []
        #expect(
            hookFiles.count == 2 && hookFiles.allSatisfy { $0.hasSuffix(".log") },
            "the hooks' logs stay, their event files go: \(hookFiles)")
        let alias = try cli.json("alias", "get", "orders", "live")
        #expect(alias["FunctionVersion"] as? String == "2")
        let deployments = try cli.json("deployments", "list")["deployments"] as? [[String: Any]] ?? []
        let record = try #require(deployments.first)
        #expect(record["status"] as? String == "Succeeded")
        #expect(record["deploymentConfigName"] as? String == "Quick")
        let full = try cli.json("deployments", "get", record["deploymentId"] as? String ?? "")
        let hooks = full["hooks"] as? [[String: Any]] ?? []
        #expect(hooks.first?["output"] as? String == "pre-check for 2\n")
        #expect((full["events"] as? [Any])?.isEmpty == false)
    }

    @Test func alarmFromAPushedMetricFailsTheDeploymentAndRestoresTheAlias() throws {
        let cli = try Self.fixture(holds: "3s")
        try cli.json(
            "alarm", "put", "orders-errors", "--function", "orders", "--executed-version", "target", "--metric",
            "Errors",
            "--statistic", "Sum", "--period", "10", "--evaluation-periods", "1", "--threshold", "1",
            "--comparison-operator", "GreaterThanOrEqualToThreshold", "--treat-missing-data", "notBreaching")
        let output = cli.workDirectory.appendingPathComponent("deploy.json")
        let deploy = try cli.start(
            [
                "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Quick", "--alarm",
                "orders-errors", "--output", "json",
            ],
            log: output.path, stderr: "/dev/null")
        defer { deploy.killGroupAndWait() }
        usleep(1_000_000)
        try cli.json("metrics", "put", "--function", "orders", "--version", "2", "--metric", "Errors", "--value", "4")
        #expect(deploy.wait(timeout: childDeadline))
        let data = try Data(contentsOf: output)
        #expect(deploy.terminationStatus == 1)
        let record = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        #expect(record["status"] as? String == "Failed")
        #expect((record["errorInformation"] as? [String: Any])?["code"] as? String == "ALARM_ACTIVE")
        #expect((record["rollbackInfo"] as? [String: Any])?["rollbackMessage"] != nil)
        #expect(try cli.json("alias", "get", "orders", "live")["FunctionVersion"] as? String == "1")
        #expect(try cli.json("alias", "get", "orders", "live")["RoutingConfig"] == nil)
        let alarms = try cli.json("alarm", "list")["MetricAlarms"] as? [[String: Any]] ?? []
        #expect(alarms.first?["StateValue"] as? String == "ALARM", "the alarm still shows what failed the deployment")
    }

    /// The process that writes a breaching datapoint rolls the alias back itself, and wakes a
    /// foreground `relctl deploy` whose tick interval is an hour: it reports the failure at once.
    @Test func aDatapointFromAnotherProcessRollsBackWithoutWaitingForATick() throws {
        let cli = try Self.fixture(holds: "1h")
        try cli.json(
            "alarm", "put", "orders-errors", "--function", "orders", "--executed-version", "target", "--metric",
            "Errors",
            "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1", "--threshold", "1",
            "--comparison-operator", "GreaterThanOrEqualToThreshold", "--treat-missing-data", "notBreaching")
        let output = cli.workDirectory.appendingPathComponent("deploy.json")
        let deploy = try cli.start(
            [
                "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Quick", "--alarm",
                "orders-errors",
                "--interval", "3600", "--output", "json",
            ], log: output.path, stderr: "/dev/null")
        defer { deploy.killGroupAndWait() }
        var routed = false
        for _ in 0..<600 where !routed {
            routed = (try? cli.json("alias", "get", "orders", "live")["RoutingConfig"]) != nil
            if !routed { usleep(50_000) }
        }
        #expect(routed, "the deployment started")
        try cli.json("metrics", "put", "--function", "orders", "--version", "2", "--metric", "Errors", "--value", "1")
        // Restored by the time `metrics put` returned: the foreground deploy has not ticked since it started.
        let alias = try cli.json("alias", "get", "orders", "live")
        #expect(alias["FunctionVersion"] as? String == "1")
        #expect(alias["RoutingConfig"] == nil)
        // Woken, the foreground deploy sees the failure long before its hour-long interval.
        #expect(deploy.wait(timeout: childDeadline))
        #expect(deploy.terminationStatus == 1)
        let record = try JSONSerialization.jsonObject(with: try Data(contentsOf: output)) as? [String: Any] ?? [:]
        #expect(record["status"] as? String == "Failed")
        #expect((record["errorInformation"] as? [String: Any])?["code"] as? String == "ALARM_ACTIVE")
    }

    @Test func killedForegroundDeployIsFinishedByTheControllerWithoutRepeatingASteps() throws {
        let cli = try Self.fixture(holds: "2s")
        let deploy = try cli.start(["deploy", "orders", "--alias", "live", "--version", "3", "--policy", "Quick"])
        defer { deploy.killGroupAndWait() }
        usleep(2_500_000)  // inside the 50% hold
        kill(deploy.pid, SIGKILL)
        #expect(deploy.wait(timeout: childDeadline))
        let listed = try cli.json("deployments", "list")["deployments"] as? [[String: Any]] ?? []
        let id = try #require(listed.first?["deploymentId"] as? String)
        #expect(listed.first?["status"] as? String == "InProgress")
        let controller = try cli.run("controller", "run", "--until-idle", "--interval", "0.2")
        #expect(controller.status == 0, "\(controller.stderr)")
        let record = try cli.json("deployments", "get", id)
        #expect(record["status"] as? String == "Succeeded")
        let shifts = (record["events"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "Shift" }
        #expect(shifts.compactMap { ($0["details"] as? [String: String])?["weight"] } == ["25%", "50%", "100%"])
        #expect(try cli.json("alias", "get", "orders", "live")["FunctionVersion"] as? String == "3")
        #expect(try cli.run("fsck").status == 0)
    }

    @Test func detachedDeploymentCanBePromotedAndStopped() throws {
        let cli = try Self.fixture(holds: "1h")
        let created = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Canary10Percent30Minutes", "--detach")
        let id = try #require(created["deploymentId"] as? String)
        #expect(created["status"] as? String == "InProgress")
        let weights = try cli.json("alias", "get", "orders", "live")["RoutingConfig"] as? [String: Any]
        #expect(weights?["AdditionalVersionWeights"] as? [String: Double] == ["2": 0.1])
        let second = try cli.run(
            "deploy", "orders", "--alias", "live", "--version", "3", "--policy", "AllAtOnce", "--detach")
        #expect(second.status == 1)
        #expect(second.stderr.contains("ResourceConflictException") && second.stderr.contains(id))
        let promoted = try cli.json("deployments", "promote", id, "--full")
        #expect(promoted["status"] as? String == "Succeeded")

        let resumable = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "3", "--policy", "AllAtOnce", "--detach",
            "--post-traffic-hook", "exec:true")
        let resumed = try cli.run("deploy", "--resume", try #require(resumable["deploymentId"] as? String))
        #expect(resumed.status == 0, "deploy --resume runs a detached deployment to its end: \(resumed.stdout)")
        #expect(try cli.json("alias", "get", "orders", "live")["FunctionVersion"] as? String == "3")
        _ = try cli.json("alias", "update", "orders", "live", "--version", "2")

        let again = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "3", "--policy", "Linear10PercentEvery10Minutes",
            "--detach")
        let stopped = try cli.json("deployments", "stop", try #require(again["deploymentId"] as? String))
        #expect(stopped["status"] as? String == "Stopped")
        #expect(try cli.json("alias", "get", "orders", "live")["FunctionVersion"] as? String == "2")
    }

    @Test func policyCommandsExplainTimingAndRefuseBadFiles() throws {
        let cli = try CLI()
        let show = try cli.run("policy", "show", "CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
        #expect(show.status == 0)
        #expect(show.stdout.contains("100%    t0+9m"))
        #expect(show.stdout.contains("Total: 9m"))
        let bad = cli.workDirectory.appendingPathComponent("bad.yaml")
        try "name: Bad\ntype: Steps\nsteps:\n  - weight: 50\n    hold: 1m\n  - weight: 40\n    hold: 1m\n".write(
            to: bad, atomically: true, encoding: .utf8)
        let refused = try cli.run("policy", "validate", bad.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("does not increase"))
        let unknown = try cli.run("deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Nope")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("No deployment policy named Nope"))
    }
}

extension RolloutCLITests {
    /// Linear at 1e-300% would be 1e302 stages; once this grew `relctl policy validate` by 0.5 GB/s.
    @Test(arguments: ["1.0e-300", "0.0001", "0.5", ".nan", ".inf"])
    func policyValidateRefusesALinearPercentageThatWouldMakeTooManyStagesAtOnce(_ percentage: String) throws {
        let cli = try CLI()
        let file = cli.workDirectory.appendingPathComponent("tiny.yaml")
        try "name: Tiny\ntype: Linear\npercentage: \(percentage)\ninterval: 1m\n".write(
            to: file, atomically: true, encoding: .utf8)
        let (refused, timedOut) = try cli.run(["policy", "validate", file.path], deadline: .seconds(60))
        #expect(!timedOut, "relctl policy validate ran past its deadline")
        #expect(refused.status == 1)
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one readable line: \(refused.stderr.prefix(500))")
        #expect(
            lines.first?.hasPrefix("error: InvalidParameterValueException: \(file.path): Policy Tiny: ") == true,
            "\(refused.stderr.prefix(500))")
        let expected = percentage.hasPrefix(".") ? "outside (0, 100]" : "so the percentage must be at least 1%"
        #expect(refused.stderr.contains(expected), "\(refused.stderr.prefix(500))")
    }
}

@Suite("relctl deploy on a terminal")
struct LiveViewTests {
    @Test func onATerminalThePanelIsRedrawnInPlaceWithTheNextShiftAndEta() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            Issue.record("util-linux's `script` is needed to give relctl a terminal")
            return
        }
        let cli = try RolloutCLITests.fixture(holds: "1s")
        let command = [CLI.binary.path, "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Quick"]
            .map { "'\($0)'" }.joined(separator: " ")
        let result = try ChildProcess.run(
            arguments: ["/usr/bin/script", "-qec", command, "/dev/null"],
            environment: cli.environment(["TERM": "xterm"]), timeout: childDeadline)
        let text = result.stdout
        #expect(!result.timedOut)
        #expect(result.status == 0, "\(text)")
        #expect(
            text.contains("\u{1B}[3A\u{1B}[J") || text.contains("\u{1B}[2A\u{1B}[J"), "the panel is redrawn in place")
        #expect(text.contains("next shift in"))
        #expect(text.contains("ETA "))
        #expect(text.contains("Succeeded: orders:live now runs version 2"))
    }
}

@Suite("Function hooks through the local runtime")
struct FunctionHookTests {
    @Test func aRegistryFunctionHookIsInvokedAndItsReportDecides() throws {
        let cli = try RolloutCLITests.fixture(holds: "1s")
        // The hook reads DeploymentId and LifecycleEventHookExecutionId from its event and reports
        // back with CodeDeploy's PutLifecycleEventHookExecutionStatus, signed with its own credentials
        // (curl's SigV4), at the endpoint its instance was given — no relctl binary, no data directory.
        let folder = try cli.runtimeLoop(
            "hook",
            body: """
                  DEPLOYMENT=$(echo "$EVENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["DeploymentId"])')
                  EXECUTION=$(echo "$EVENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["LifecycleEventHookExecutionId"])')
                  TARGET=$(echo "$EVENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["TargetVersion"])')
                  if [ "$TARGET" = "$EXPECTED_TARGET" ]; then STATUS=Succeeded; else STATUS=Failed; fi
                  curl -sS -X POST "$AWS_ENDPOINT_URL_CODEDEPLOY/" --aws-sigv4 "aws:amz:$AWS_REGION:codedeploy" \
                    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
                    -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus' \
                    -d "{\\"deploymentId\\":\\"$DEPLOYMENT\\",\\"lifecycleEventHookExecutionId\\":\\"$EXECUTION\\",\\"status\\":\\"$STATUS\\"}" >&2
                  curl -sS -X POST "$API/invocation/$ID/response" -d '{}' >/dev/null
                """)
        // 30 s, not Lambda's default 3: the hook starts python three times and curl twice, which a loaded
        // machine (the whole suite at once on 2 cores) can take longer than 3 s to do.
        try cli.json("function", "create", "checkFn", "--dir", folder, "--env", "EXPECTED_TARGET=2", "--timeout", "30")
        let passing = try cli.run(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "AllAtOnce", "--pre-traffic-hook",
            "checkFn")
        #expect(passing.status == 0, "\(passing.stdout)\n\(passing.stderr)")
        #expect(passing.stdout.contains("HookInvoke") && passing.stdout.contains("reported Succeeded"))
        let failing = try cli.run(
            "deploy", "orders", "--alias", "live", "--version", "3", "--policy", "AllAtOnce", "--post-traffic-hook",
            "checkFn")
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("HOOK_EXECUTION_FAILURE"))
        #expect(
            try cli.json("alias", "get", "orders", "live")["FunctionVersion"] as? String == "2",
            "rolled back after the post-traffic hook failed")
    }
}
