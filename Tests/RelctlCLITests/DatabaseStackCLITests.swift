import Foundation
import RelctlProcess
import Testing

/// Issue 10, the last commands to honour `--database`: `sam deploy`, `stack list|get|events|delete` and
/// `demo` on PostgreSQL answer as they do on SQLite for the same template, with the deployments advanced
/// by the leading controller (`controller run --database`, a child here) instead of the command itself.
extension DatabaseCommandsCLITests {
    /// Two functions, each on alias `live` with a 2-second canary and an Errors alarm on its new version
    /// (SAMCLITests' pair), their code in folders `alpha` and `beta` next to `template.yaml`, written on
    /// both sides with the short policy in each data directory.
    static func samPair(_ pair: Pair) throws {
        for cli in [pair.sqlite, pair.postgres] {
            for name in ["alpha", "beta"] { _ = try cli.source(name, marker: "\(name)1") }
            try
                ("Resources:\n" + SAMCLITests.canaryWithAlarm("alpha", code: "alpha/") + "\n"
                + SAMCLITests.canaryWithAlarm("beta", code: "beta/") + "\n").write(
                    to: cli.workDirectory.appendingPathComponent("template.yaml"), atomically: true, encoding: .utf8)
            try SAMCLITests.shortPolicy(cli)
        }
    }

    /// `stack get --output json` reduced to what must be the same on both engines: status and reason
    /// (ids out), parameters, the template's hash, resources with their versions, each deployment's
    /// function, versions and status.
    static func comparableStack(_ result: CLI.Result) -> NSDictionary {
        let object = result.object
        let deployments = (object["Deployments"] as? [[String: Any]] ?? []).map { deployment in
            ["functionName", "currentVersion", "targetVersion", "status", "deploymentConfigName"].map {
                "\(deployment[$0] ?? "-")"
            }.joined(separator: " ")
        }
        var reduced: [String: Any] = [
            "StackStatus": object["StackStatus"] ?? "-", "Parameters": object["Parameters"] ?? [:],
            "TemplateSha256": object["TemplateSha256"] ?? "-", "Resources": object["Resources"] ?? [],
            "Deployments": deployments,
        ]
        reduced["StackStatusReason"] = (object["StackStatusReason"] as? String).map(withoutIds)
        return NSDictionary(dictionary: reduced)
    }

    /// A stack's events without their times, the deployment ids in their reasons taken out.
    static func comparableEvents(_ result: CLI.Result) -> [String] {
        (result.object["StackEvents"] as? [[String: Any]] ?? []).map { event in
            ["logicalId", "resourceType", "physicalId", "status", "reason"].map { "\(event[$0] ?? "-")" }
                .map(withoutIds).joined(separator: " | ")
        }
    }

    /// `sam deploy` on both engines: the first deploy creates the same stack (text and JSON); `--no-execute`
    /// prints the same change set; the second runs one deployment per function — on PostgreSQL advanced by
    /// the leading controller while the command follows them — with the same outcome (alpha succeeds, beta's
    /// alarm rolls it back, exit 1, `UPDATE_FAILED`), aliases, `stack get|list|events`; `--detach` returns
    /// with the stack in progress and beta's retried deployment; `stack delete` takes the functions away on both; a bad template is the
    /// same one error line.
    @Test func samDeployAndStackCommandsOnTheDatabaseAnswerAsOnSQLite() throws {
        var pair = try Pair()
        pair.environment = ["NO_COLOR": "1"]
        try Self.samPair(pair)
        let deploy = ["sam", "deploy", "-t", "template.yaml", "--stack-name", "pair", "--interval", "0.2"]

        let first = try pair.run(deploy)
        #expect(first.sqlite.status == 0 && first.postgres.status == 0, "\(first.postgres.stderr)")
        #expect(first.postgres.stdout == first.sqlite.stdout, "\(first.postgres.stdout)")
        #expect(first.postgres.stdout.contains("Stack pair: CREATE_COMPLETE."), "\(first.postgres.stdout)")
        let created = try pair.run("stack", "get", "pair", "--output", "json")
        #expect(Self.comparableStack(created.postgres) == Self.comparableStack(created.sqlite))
        #expect(created.postgres.object["StackStatus"] as? String == "CREATE_COMPLETE", "\(created.postgres.stdout)")
        let unchanged = try pair.run(deploy)
        #expect(unchanged.postgres.status == 0 && unchanged.postgres.stdout == unchanged.sqlite.stdout)
        #expect(unchanged.postgres.stdout.contains("No changes to deploy"), "\(unchanged.postgres.stdout)")

        for cli in [pair.sqlite, pair.postgres] {
            for name in ["alpha", "beta"] { _ = try cli.source(name, marker: "\(name)2") }
        }
        let preview = try pair.run(deploy + ["--no-execute"])
        #expect(preview.postgres.status == 0 && preview.postgres.stdout == preview.sqlite.stdout)
        #expect(preview.postgres.stdout.contains("deploy live 1 → 2"), "\(preview.postgres.stdout)")
        let previewJSON = try pair.run(deploy + ["--no-execute", "--output", "json"])
        #expect(previewJSON.postgres.status == 0 && previewJSON.postgres.stdout == previewJSON.sqlite.stdout)
        let untouched = try pair.json("alias", "get", "alpha", "live")
        #expect(untouched.postgres["FunctionVersion"] as? String == "1", "--no-execute changes nothing")

        // beta's new version already has an error datapoint: its alarm fires as soon as its canary runs.
        let errors = try pair.run(
            "metrics", "put", "--function", "beta", "--version", "2", "--metric", "Errors", "--value", "3")
        #expect(errors.sqlite.status == 0 && errors.postgres.status == 0, "\(errors.postgres.stderr)")
        let controller = try pair.postgres.start(
            ["controller", "run", "--database", pair.database, "--interval", "0.2"], environment: pair.environment)
        defer { controller.killGroupAndWait() }
        let second = try pair.run(deploy)
        #expect(second.sqlite.status == 1 && second.postgres.status == 1, "\(second.postgres.stderr)")
        for output in [second.sqlite.stdout, second.postgres.stdout] {
            #expect(output.contains("Succeeded: alpha:live now runs version 2"), "\(output)")
            #expect(output.contains("Alias restored to version 1"), "\(output)")
            #expect(output.contains("Stack pair: UPDATE_FAILED"), "\(output)")
        }
        #expect(second.postgres.stderr.contains("the leading controller on this database advances them"))
        for (function, version) in [("alpha", "2"), ("beta", "1")] {
            let alias = try pair.json("alias", "get", function, "live")
            #expect(alias.postgres == alias.sqlite, "\(alias.postgres)")
            #expect(alias.postgres["FunctionVersion"] as? String == version, "\(function): \(alias.postgres)")
        }
        let got = try pair.run("stack", "get", "pair", "--output", "json")
        #expect(Self.comparableStack(got.postgres) == Self.comparableStack(got.sqlite), "\(got.postgres.stdout)")
        #expect(got.postgres.object["StackStatus"] as? String == "UPDATE_FAILED")
        #expect((got.postgres.object["Deployments"] as? [Any])?.count == 2, "one deployment per function")
        let table = try pair.run("stack", "get", "pair")
        #expect(table.postgres.status == 0 && table.postgres.stdout.contains("StackName"), "\(table.postgres.stderr)")
        let listed = try pair.run("stack", "list", "--output", "json")
        let stacks = { (result: CLI.Result) in
            (result.object["Stacks"] as? [[String: Any]] ?? []).map {
                "\($0["StackName"] ?? "") \($0["StackStatus"] ?? "")"
            }
        }
        #expect(stacks(listed.postgres) == stacks(listed.sqlite) && stacks(listed.postgres) == ["pair UPDATE_FAILED"])
        let events = try pair.run("stack", "events", "pair", "--output", "json")
        #expect(
            Self.comparableEvents(events.postgres) == Self.comparableEvents(events.sqlite), "\(events.postgres.stdout)")
        #expect(
            Self.comparableEvents(events.postgres).filter { $0.hasPrefix("pair | AWS::CloudFormation::Stack") }.count
                == 3, "CREATE_COMPLETE, UPDATE_IN_PROGRESS, UPDATE_FAILED, each once: \(events.postgres.stdout)")
        let eventTable = try pair.run("stack", "events", "pair")
        #expect(eventTable.postgres.status == 0 && eventTable.postgres.stdout.contains("UPDATE_FAILED"))

        // The same template again retries beta alone; detached, both return with the stack in progress.
        let detached = try pair.run(deploy + ["--detach", "--output", "json"])
        #expect(detached.sqlite.status == 0 && detached.postgres.status == 0, "\(detached.postgres.stderr)")
        // beta's alarm is in ALARM already, so its retried deployment fails as it is created, on both engines.
        #expect(Self.comparableStack(detached.postgres) == Self.comparableStack(detached.sqlite))
        #expect(detached.postgres.object["StackStatus"] as? String == "UPDATE_IN_PROGRESS")
        #expect(
            (detached.postgres.object["Deployments"] as? [[String: Any]])?.map { "\($0["functionName"] ?? "")" }
                == ["beta"], "\(detached.postgres.stdout)")
        Self.sameError(try pair.run("stack", "delete", "nope"), contains: "Stack nope does not exist")
        let dryRun = try pair.run("stack", "delete", "pair", "--dry-run")
        #expect(dryRun.postgres.status == 0 && dryRun.postgres.stdout == dryRun.sqlite.stdout)
        let deleted = try pair.run("stack", "delete", "pair")
        #expect(deleted.sqlite.status == 0 && deleted.postgres.status == 0, "\(deleted.postgres.stderr)")
        #expect(deleted.postgres.stdout == deleted.sqlite.stdout, "\(deleted.postgres.stdout)")
        let functions = try pair.json("function", "list")
        #expect(functions.postgres == functions.sqlite)
        #expect((functions.postgres["Functions"] as? [Any])?.isEmpty == true, "\(functions.postgres)")
        Self.sameError(try pair.run("stack", "get", "pair"), contains: "Stack pair does not exist")
        let after = try pair.run("stack", "events", "pair")
        #expect(after.postgres.status == 0 && after.postgres.stdout.contains("DELETE_COMPLETE"), "events outlive it")

        // A bad template: the same one line on both, nothing created.
        for cli in [pair.sqlite, pair.postgres] {
            try "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n".write(
                to: cli.workDirectory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        }
        Self.sameError(
            try pair.run("sam", "deploy", "-t", "bad.yaml", "--stack-name", "bad"), contains: "AWS::DynamoDB::Table")
        let none = try pair.run("stack", "list", "--output", "json")
        #expect(stacks(none.postgres).isEmpty && stacks(none.sqlite).isEmpty, "\(none.postgres.stdout)")
    }

    /// examples/sam (PreTraffic/PostTraffic hook functions reporting through the CodeDeploy API) on the
    /// database: the leading `controller run --database` invokes the hooks in its runtime, as `sam deploy`
    /// does on SQLite, and the canary succeeds with both hooks Succeeded on both engines.
    @Test func samDeployOfHookFunctionsOnTheDatabaseRunsThemInTheLeadersRuntime() throws {
        let pair = try Pair()
        for cli in [pair.sqlite, pair.postgres] { _ = try SAMCLITests.copyExample(into: cli) }
        let deploy = [
            "sam", "deploy", "-t", "sam/template.yaml", "--stack-name", "hello", "--parameter-overrides",
            "DeploymentType=Canary10Percent2Seconds", "--interval", "0.2",
        ]
        let first = try pair.run(deploy)
        #expect(first.sqlite.status == 0 && first.postgres.status == 0, "\(first.postgres.stderr)")
        #expect(first.postgres.stdout == first.sqlite.stdout, "\(first.postgres.stdout)")
        let controller = try pair.postgres.start([
            "controller", "run", "--database", pair.database, "--interval", "0.2",
        ])
        defer { controller.killGroupAndWait() }
        for cli in [pair.sqlite, pair.postgres] {
            try SAMCLITests.changeCode(cli.workDirectory.appendingPathComponent("sam"), marker: "v2")
        }
        let second = try pair.run(deploy)
        #expect(second.sqlite.status == 0 && second.postgres.status == 0, "\(second.postgres.stdout)")
        for output in [second.sqlite.stdout, second.postgres.stdout] {
            #expect(output.contains("Succeeded: hello-HelloWorldFunction:live now runs version 2"), "\(output)")
            #expect(output.contains("Stack hello: UPDATE_COMPLETE"), "\(output)")
        }
        let got = try pair.run("stack", "get", "hello", "--output", "json")
        #expect(Self.comparableStack(got.postgres) == Self.comparableStack(got.sqlite), "\(got.postgres.stdout)")
        func hooks(_ stack: CLI.Result, on cli: CLI, _ database: [String]) throws -> [String] {
            let id = try #require((stack.object["Deployments"] as? [[String: Any]])?.first?["deploymentId"] as? String)
            let full = try cli.run(["deployments", "get", id, "--output", "json"] + database)
            return (full.object["hooks"] as? [[String: Any]] ?? []).map { "\($0["hook"] ?? "") \($0["status"] ?? "")" }
        }
        let postgresHooks = try hooks(got.postgres, on: pair.postgres, ["--database", pair.database])
        #expect(postgresHooks == (try hooks(got.sqlite, on: pair.sqlite, [])), "\(postgresHooks)")
        #expect(
            postgresHooks == [
                "CodeDeployHook_hello_preTrafficHook Succeeded", "CodeDeployHook_hello_postTrafficHook Succeeded",
            ])
    }

    /// `relctl demo --database` while another controller leads: the demo campaigns without winning, the
    /// leader advances its canary, and it ends as on its own (exit 0, alias on v1).
    @Test func demoOnTheDatabaseFollowsTheLeaderWhenAnotherControllerLeads() throws {
        let pair = try Pair()
        let log = pair.postgres.workDirectory.appendingPathComponent("controller.log")
        let controller = try pair.postgres.start(
            ["controller", "run", "--database", pair.database, "--interval", "0.2"], stderr: log.path)
        defer { controller.killGroupAndWait() }
        let leads = Date().addingTimeInterval(60)
        func leading() -> Bool {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("controller: leading with epoch")
        }
        while !leading() && Date() < leads { Thread.sleep(forTimeInterval: 0.2) }
        #expect(leading(), "the controller leads before the demo starts")
        let demo = try pair.postgres.run(["demo", "--source", Self.demoSource, "--database", pair.database])
        let text = demo.stdout + demo.stderr
        #expect(demo.status == 0, "\(text)")
        #expect(text.contains("Alias live now → v1 (no routing)"), "\(text)")
        #expect(!demo.stderr.contains("controller: leading with epoch"), "the other controller leads: \(demo.stderr)")
    }

    static let demoSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/demo").path

    /// `relctl demo --database`: with no other controller on the database, the demo campaigns, leads and
    /// advances its own canary; its errors trip the alarm and it ends as on SQLite (exit 0, alias on v1).
    @Test func demoOnTheDatabaseLeadsItsOwnCanaryAndEndsAsOnSQLite() throws {
        let pair = try Pair()
        let demo = try pair.run("demo", "--source", Self.demoSource)
        for result in [demo.sqlite, demo.postgres] {
            let text = result.stdout + result.stderr
            #expect(result.status == 0, "\(text)")
            #expect(text.contains("ALARM_ACTIVE"), "\(text)")
            #expect(text.contains("Alias live now → v1 (no routing)"), "\(text)")
        }
        #expect(demo.postgres.stderr.contains("controller: leading with epoch"), "\(demo.postgres.stderr)")
        let alias = try pair.json("alias", "get", "relctl-demo", "live")
        #expect(alias.postgres == alias.sqlite && alias.postgres["FunctionVersion"] as? String == "1")
        let deployments = try pair.run("deployments", "list", "--output", "json")
        let statuses = { (result: CLI.Result) in
            (result.object["deployments"] as? [[String: Any]] ?? []).map { "\($0["status"] ?? "")" }
        }
        #expect(statuses(deployments.postgres) == statuses(deployments.sqlite))
        #expect(statuses(deployments.postgres) == ["Failed"], "\(deployments.postgres.stdout)")
    }
}
