import Foundation
import RelctlProcess
import Testing

/// `relctl sam deploy` and `relctl stack` with the real binary, on examples/sam (AWS's "safe
/// deployments" hello world: canary, PreTraffic/PostTraffic hooks reporting through the CodeDeploy
/// API, an Errors alarm on the new version, a layer) — with a policy of short holds so tests stay quick.
@Suite("relctl sam deploy")
struct SAMCLITests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("examples/sam", isDirectory: true)

    /// A CLI whose work directory holds a copy of examples/sam, and a data directory with the short policy.
    static func fixture() throws -> (CLI, URL) {
        let cli = try CLI()
        return (cli, try copyExample(into: cli))
    }

    /// Copies examples/sam into the work directory of `cli` (the copy's folder is returned) and puts the
    /// short policy in its data directory.
    static func copyExample(into cli: CLI) throws -> URL {
        let folder = cli.workDirectory.appendingPathComponent("sam", isDirectory: true)
        try FileManager.default.copyItem(at: example, to: folder)
        try shortPolicy(cli)
        return folder
    }

    /// `Canary10Percent2Seconds` (10 %, then the rest 2 s later) in the data directory's policies.
    static func shortPolicy(_ cli: CLI) throws {
        let policies = cli.dataDirectory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try """
        name: Canary10Percent2Seconds
        type: Canary
        percentage: 10
        interval: 2s
        """.write(to: policies.appendingPathComponent("short.yaml"), atomically: true, encoding: .utf8)
    }

    /// A function on alias `live` with a 2-second canary (the fixture's policy) that an Errors alarm on its
    /// new version fails, as template resources (`NAME` and `NAMEErrors`).
    static func canaryWithAlarm(_ name: String, code: String) -> String {
        """
          \(name):
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: \(code)
              Handler: bootstrap
              FunctionName: \(name)
              AutoPublishAlias: live
              DeploymentPreference: {Type: Canary10Percent2Seconds, Alarms: [!Ref \(name)Errors]}
          \(name)Errors:
            Type: AWS::CloudWatch::Alarm
            Properties:
              Namespace: AWS/Lambda
              MetricName: Errors
              Dimensions: [{Name: FunctionName, Value: !Ref \(name)}, {Name: ExecutedVersion, Value: !GetAtt \(name).Version.Version}]
              Statistic: Sum
              Period: 60
              EvaluationPeriods: 1
              Threshold: 1
              ComparisonOperator: GreaterThanOrEqualToThreshold
        """
    }

    static func changeCode(_ folder: URL, marker: String) throws {
        let file = folder.appendingPathComponent("hello/bootstrap")
        var text = try String(contentsOf: file, encoding: .utf8)
        text += "# \(marker)\n"
        try text.write(to: file, atomically: true, encoding: .utf8)
    }

    func deploy(_ cli: CLI, _ folder: URL, _ extra: String...) throws -> CLI.Result {
        try cli.run(
            [
                "sam", "deploy", "--template", folder.appendingPathComponent("template.yaml").path, "--stack-name",
                "hello",
                "--parameter-overrides", "DeploymentType=Canary10Percent2Seconds",
            ] + extra)
    }

    func functionNames(_ cli: CLI) throws -> [String] {
        ((try cli.json("function", "list")["Functions"] as? [[String: Any]]) ?? []).compactMap {
            $0["FunctionName"] as? String
        }.sorted()
    }

    @Test func safeDeploymentsTemplateCreatesThenCanariesThenRollsBackOnTheAlarmThenDeletes() throws {
        let (cli, folder) = try Self.fixture()
        try cli.json("function", "create", "bystander", "--dir", try cli.source("bystander", marker: "b"))

        // First deploy: everything created, `live` on version 1, no deployment.
        let first = try deploy(cli, folder)
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("create alias live on version 1"))
        #expect(first.stderr.contains("Events is accepted and ignored"), "Events/Policies are accepted with a notice")
        #expect(try cli.json("alias", "get", "hello-HelloWorldFunction", "live")["FunctionVersion"] as? String == "1")
        #expect(((try cli.json("deployments", "list")["deployments"] as? [Any]) ?? []).isEmpty)
        #expect(
            try functionNames(cli) == [
                "CodeDeployHook_hello_postTrafficHook", "CodeDeployHook_hello_preTrafficHook", "bystander",
                "hello-HelloWorldFunction",
            ])
        let function = try cli.json("function", "get", "hello-HelloWorldFunction:live")
        #expect(
            ((function["Layers"] as? [[String: Any]])?.first?["Arn"] as? String)?.hasSuffix(
                ":layer:hello-GreetingLayer:1") == true)
        #expect(try cli.json("stack", "get", "hello")["StackStatus"] as? String == "CREATE_COMPLETE")
        let hook = try cli.json("function", "get", "CodeDeployHook_hello_preTrafficHook")
        #expect(
            (hook["Environment"] as? [String: Any]).flatMap { $0["Variables"] as? [String: String] }?["NewVersion"]?
                .hasSuffix(":hello-HelloWorldFunction:1") == true)

        // The same template again: nothing to do.
        let again = try deploy(cli, folder)
        #expect(again.status == 0 && again.stdout.contains("No changes"), "\(again.stdout)\n\(again.stderr)")

        // A code change: --no-execute shows the change set and changes nothing.
        try Self.changeCode(folder, marker: "v2")
        let preview = try deploy(cli, folder, "--no-execute")
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.contains("publish version 2; deploy live 1 → 2 with Canary10Percent2Seconds"))
        #expect(try cli.json("function", "get", "hello-HelloWorldFunction:live")["Version"] as? String == "1")
        #expect(
            ((try cli.json("versions", "hello-HelloWorldFunction")["Versions"] as? [Any]) ?? []).count == 2,
            "$LATEST and 1 only")

        // Deployed: the canary runs with both hooks reporting through the CodeDeploy API.
        let second = try deploy(cli, folder)
        #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
        #expect(second.stdout.contains("Succeeded: hello-HelloWorldFunction:live now runs version 2"))
        #expect(second.stdout.contains("Stack hello: UPDATE_COMPLETE"))
        let deployments = (try cli.json("deployments", "list")["deployments"] as? [[String: Any]]) ?? []
        let record = try #require(deployments.first)
        #expect(record["deploymentConfigName"] as? String == "Canary10Percent2Seconds")
        let full = try cli.json("deployments", "get", record["deploymentId"] as? String ?? "")
        let hooks = (full["hooks"] as? [[String: Any]]) ?? []
        #expect(hooks.map { $0["status"] as? String } == ["Succeeded", "Succeeded"])
        #expect(
            hooks.map { $0["hook"] as? String } == [
                "CodeDeployHook_hello_preTrafficHook", "CodeDeployHook_hello_postTrafficHook",
            ])
        #expect(
            ((full["alarms"] as? [[String: Any]])?.first?["name"] as? String)
                == "hello-AliasErrorMetricGreaterThanZeroAlarm")

        // A failing version: its Errors datapoints put the alarm in ALARM, the deployment fails and `live` goes back to 2.
        try Self.changeCode(folder, marker: "v3")
        let now = Date().timeIntervalSince1970
        for offset in [0.0, 60.0] {
            try cli.run(
                "metrics", "put", "--function", "hello-HelloWorldFunction", "--resource",
                "hello-HelloWorldFunction:live", "--version", "3",
                "--metric", "Errors", "--value", "5", "--timestamp", String(now - offset))
        }
        let third = try deploy(cli, folder)
        #expect(third.status == 1, "\(third.stdout)\n\(third.stderr)")
        #expect(third.stdout.contains("Alias restored to version 2"))
        #expect(try cli.json("alias", "get", "hello-HelloWorldFunction", "live")["FunctionVersion"] as? String == "2")
        let stack = try cli.json("stack", "get", "hello")
        #expect(stack["StackStatus"] as? String == "UPDATE_FAILED")
        let events = try cli.run("stack", "events", "hello")
        #expect(events.stdout.contains("UPDATE_FAILED") && events.stdout.contains("CREATE_COMPLETE"))

        // Delete: the stack's functions, alias, alarm go; the bystander stays; the layer (Retain, SAM's default) stays.
        let deleted = try cli.run("stack", "delete", "hello")
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(try functionNames(cli) == ["bystander"])
        #expect(((try cli.json("alarm", "list")["MetricAlarms"] as? [Any]) ?? []).isEmpty)
        #expect(
            ((try cli.json("layer", "versions", "hello-GreetingLayer")["LayerVersions"] as? [Any]) ?? []).count == 1)
        #expect(try cli.run("stack", "get", "hello").status == 1)
        #expect(try cli.run("stack", "events", "hello").stdout.contains("DELETE_COMPLETE"), "events outlive the stack")
    }

    /// Each bad template: exit 1, one line on stderr naming what is wrong, nothing changed.
    @Test(arguments: [
        ("  Table:\n    Type: AWS::DynamoDB::Table\n    Properties: {}", "AWS::DynamoDB::Table"),
        ("  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: bootstrap}", "CodeUri is required"),
        (
            "  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: nowhere/, Handler: bootstrap}",
            "nowhere/ does not exist"
        ),
        (
            "  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: code/, Handler: !ImportValue x}",
            "Fn::ImportValue is not supported"
        ),
        (
            "  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: code/, Handler: bootstrap, Description: !GetAtt Other.Arn}\n  Other:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: code/, Handler: bootstrap, Description: !Ref Fn}",
            "circular dependency"
        ),
        (
            "  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: code/, Handler: bootstrap, Description: !Ref Stage}",
            "does not allow 'qa'"
        ),
        (
            "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: code/\n      Handler: bootstrap\n      AutoPublishAlias: live\n      DeploymentPreference: {Type: Canary99Percent1Hour}",
            "No deployment policy named Canary99Percent1Hour"
        ),
    ])
    func badTemplateIsRefusedWithOneLineAndChangesNothing(resources: String, message: String) throws {
        let cli = try CLI()
        _ = try cli.source("code", marker: "x")
        let template = cli.workDirectory.appendingPathComponent("template.yaml")
        try
            "Parameters:\n  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}\nResources:\n  Ok:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: code/, Handler: bootstrap, AutoPublishAlias: live}\n\(resources)\n"
            .write(to: template, atomically: true, encoding: .utf8)
        let result = try cli.run(
            ["sam", "deploy", "--template", template.path, "--stack-name", "bad", "--parameter-overrides", "Stage=qa"]
                .filter { message.contains("qa") || ($0 != "--parameter-overrides" && $0 != "Stage=qa") })
        #expect(result.status == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(
            result.stderr.split(separator: "\n").filter { !$0.hasPrefix("notice:") }.count == 1,
            "one line: \(result.stderr)")
        #expect(try functionNames(cli).isEmpty, "nothing was created")
        #expect(((try cli.json("stack", "list")["Stacks"] as? [Any]) ?? []).isEmpty)
    }

    @Test func customDeploymentConfigResourceDrivesTheDeploymentAndGoesWithTheStack() throws {
        let cli = try CLI()
        let code = try cli.source("code", marker: "v1")
        let template = cli.workDirectory.appendingPathComponent("template.json")
        try """
        {"Transform": "AWS::Serverless-2016-10-31",
         "Resources": {
           "Quick": {"Type": "AWS::CodeDeploy::DeploymentConfig", "Properties": {
             "ComputePlatform": "Lambda", "DeploymentConfigName": "Canary50Percent1Minute",
             "TrafficRoutingConfig": {"Type": "TimeBasedCanary", "TimeBasedCanary": {"CanaryPercentage": 50, "CanaryInterval": 1}}}},
           "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
             "CodeUri": "code", "Handler": "bootstrap", "FunctionName": "orders", "AutoPublishAlias": "live",
             "DeploymentPreference": {"Type": {"Ref": "Quick"}}}}}}
        """.write(to: template, atomically: true, encoding: .utf8)
        #expect(try cli.run("sam", "deploy", "-t", template.path, "--stack-name", "orders").status == 0)
        try Data("#!/bin/sh\necho v2\n".utf8).write(to: URL(fileURLWithPath: code).appendingPathComponent("bootstrap"))
        let detached = try cli.run("sam", "deploy", "-t", template.path, "--stack-name", "orders", "--detach")
        #expect(detached.status == 0, "\(detached.stdout)\n\(detached.stderr)")
        let deployment = try #require(
            ((try cli.json("deployments", "list")["deployments"] as? [[String: Any]]) ?? []).first)
        #expect(deployment["deploymentConfigName"] as? String == "Canary50Percent1Minute")
        #expect(deployment["currentVersion"] as? String == "1" && deployment["targetVersion"] as? String == "2")
        #expect(try cli.json("stack", "get", "orders")["StackStatus"] as? String == "UPDATE_IN_PROGRESS")
        // A running deployment blocks the delete; stopped, the stack goes with its config.
        #expect(try cli.run("stack", "delete", "orders").status == 1)
        try cli.json("deployments", "stop", deployment["deploymentId"] as? String ?? "")
        #expect(try cli.run("stack", "delete", "orders").status == 0)
        let policies = (try cli.json("policy", "list")["policies"] as? [[String: Any]]) ?? []
        #expect(!policies.contains { $0["name"] as? String == "Canary50Percent1Minute" })
        #expect(try functionNames(cli).isEmpty)
    }

    /// Two functions deploy at once, one row each redrawn in place on a terminal; the one whose
    /// alarm fires rolls back alone and the command exits 1.
    @Test func functionsDeployAtOnceOneRowEachAndAFailedOneRollsBackAlone() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            Issue.record("util-linux's `script` is needed to give relctl a terminal")
            return
        }
        let (cli, _) = try Self.fixture()
        let a = try cli.source("a", marker: "a1")
        let b = try cli.source("b", marker: "b1")
        let template = cli.workDirectory.appendingPathComponent("template.yaml")
        try
            ("Resources:\n" + Self.canaryWithAlarm("alpha", code: a) + "\n" + Self.canaryWithAlarm("beta", code: b)
            + "\n").write(
                to: template, atomically: true, encoding: .utf8)
        #expect(try cli.run("sam", "deploy", "-t", template.path, "--stack-name", "pair").status == 0)
        for folder in [a, b] {
            try Data("#!/bin/sh\necho 2\n".utf8).write(
                to: URL(fileURLWithPath: folder).appendingPathComponent("bootstrap"))
        }
        try cli.run("metrics", "put", "--function", "beta", "--version", "2", "--metric", "Errors", "--value", "3")
        let command = [CLI.binary.path, "sam", "deploy", "-t", template.path, "--stack-name", "pair"].map { "'\($0)'" }
            .joined(separator: " ")
        let result = try ChildProcess.run(
            arguments: ["/usr/bin/script", "-qec", command, "/dev/null"],
            environment: cli.environment(["TERM": "xterm"]), timeout: childDeadline)
        let text = result.stdout
        #expect(!result.timedOut)
        #expect(result.status == 1, "\(text)")
        #expect(text.contains("\u{1B}[2A\u{1B}[J"), "both rows are redrawn in place")
        #expect(text.contains("alpha:live  v1 → v2") && text.contains("beta:live  v1 → v2"))
        #expect(text.contains("next shift in"))
        #expect(text.contains("Succeeded: alpha:live now runs version 2"))
        #expect(text.contains("Alias restored to version 1"))
        #expect(try cli.json("alias", "get", "alpha", "live")["FunctionVersion"] as? String == "2")
        #expect(try cli.json("alias", "get", "beta", "live")["FunctionVersion"] as? String == "1")
        let stack = try cli.json("stack", "get", "pair")
        #expect(stack["StackStatus"] as? String == "UPDATE_FAILED")
        #expect((stack["StackStatusReason"] as? String)?.contains("beta:live") == true)
        // The same template again retries only beta's deployment (its alarm still fires).
        let preview = try cli.run("sam", "deploy", "-t", template.path, "--stack-name", "pair", "--no-execute")
        #expect(
            preview.stdout.contains("deploy live 1 → 2") && !preview.stdout.contains("publish version"),
            "\(preview.stdout)")
        #expect(preview.stdout.split(separator: "\n").filter { $0.contains("deploy live") }.count == 1)
    }
}
