import Foundation
import RelctlProcess
import Testing

/// Issue 10 §3, the rest of "every command honours them": `release create|list|get`, `function update-config
/// --reserved-concurrency`, `alarm delete`, `metrics get`, `config set|get|show`, `invoke`, `traffic` and
/// `judge replay` on `--database postgres://…` answer as they do on SQLite for the same registry.
extension DatabaseCommandsCLITests.Pair {
    func run(_ arguments: [String]) throws -> (sqlite: CLI.Result, postgres: CLI.Result) {
        (
            try sqlite.run(arguments, environment: environment),
            try postgres.run(arguments + ["--database", database], environment: environment)
        )
    }
}

extension DatabaseCommandsCLITests {
    /// `orders` and `billing` on both sides, each with versions 1 and 2 of a runtime loop that answers
    /// `{"v":"N"}` (N: the version's marker), and alias `live` → 1.
    static func twoFunctions(_ pair: Pair) throws {
        for (cli, arguments) in [(pair.sqlite, []), (pair.postgres, ["--database", pair.database])] {
            for function in ["orders", "billing"] {
                for marker in ["1", "2"] {
                    let folder = try cli.runtimeLoop(
                        "\(function)\(marker)",
                        body: """
                              curl -sS -X POST "$API/invocation/$ID/response" -d '{"v":"\(marker)"}' >/dev/null
                            """)
                    let command =
                        marker == "1"
                        ? ["function", "create", function, "--runtime", "provided.al2023", "--handler", "bootstrap"]
                        : ["function", "update-code", function]
                    let result = try cli.run(command + ["--dir", folder, "--publish"] + arguments)
                    #expect(result.status == 0, "\(command): \(result.stderr)")
                }
                let alias = try cli.run(["alias", "create", function, "live", "--version", "1"] + arguments)
                #expect(alias.status == 0, "\(alias.stderr)")
            }
        }
    }

    /// A command's output with its ids (`r-…`, `d-…`) as `ID`.
    static func withoutIds(_ text: String) -> String {
        text.replacingOccurrences(of: #"\b[rd]-[A-Za-z0-9]{6,}\b"#, with: "ID", options: .regularExpression)
    }

    /// A command's JSON with its ids (`r-…`, `d-…`) and clock-made fields taken out, for comparing engines.
    static func comparable(_ result: CLI.Result) -> NSDictionary {
        let object = try? JSONSerialization.jsonObject(with: Data(withoutIds(result.stdout).utf8))
        return NSDictionary(dictionary: withoutTimes(object) as? [String: Any] ?? [:])
    }

    private static func withoutTimes(_ value: Any?) -> Any? {
        let clockMade: Set = [
            "createTime", "startTime", "completeTime", "nextShiftTime", "estimatedCompletionTime", "endTime", "time",
            "RevisionId", "LastModified", "Created", "lifecycleEventHookExecutionId",
        ]
        if let object = value as? [String: Any] {
            return object.filter { !clockMade.contains($0.key) }.mapValues { withoutTimes($0) ?? NSNull() }
        }
        if let array = value as? [Any] { return array.map { withoutTimes($0) ?? NSNull() } }
        return value
    }

    /// One line on stderr, the same on both engines (but for ids), and the same non-zero status.
    static func sameError(_ results: (sqlite: CLI.Result, postgres: CLI.Result), contains text: String) {
        #expect(results.sqlite.status != 0 && results.postgres.status == results.sqlite.status)
        #expect(
            withoutIds(results.postgres.stderr) == withoutIds(results.sqlite.stderr),
            "\(results.postgres.stderr) ≠ \(results.sqlite.stderr)")
        #expect(results.postgres.stderr.contains(text), "\(results.postgres.stderr)")
        #expect(results.postgres.stderr.split(separator: "\n").count == 1, "\(results.postgres.stderr)")
    }

    /// `release create --detach`, `release list` and `release get` show the same release on both engines
    /// (members, steps, the decision log); `release stop` restores both members; a missing release or a
    /// member another release owns is the same one error line.
    @Test func releaseCreateListAndGetAnswerAsOnSQLite() throws {
        let pair = try Pair()
        try Self.twoFunctions(pair)
        let create = [
            "release", "create", "checkout", "--member", "orders:live=2", "--member", "billing:live=2", "--policy",
            "Canary10Percent30Minutes", "--detach", "--output", "json",
        ]
        let created = try pair.run(create)
        #expect(created.sqlite.status == 0 && created.postgres.status == 0, "\(created.postgres.stderr)")
        #expect(Self.comparable(created.postgres) == Self.comparable(created.sqlite), "\(created.postgres.stdout)")
        #expect(created.postgres.object["status"] as? String == "InProgress", "\(created.postgres.stdout)")
        let id = try #require(created.postgres.object["releaseId"] as? String)

        let listed = try pair.run("release", "list", "--output", "json")
        #expect(Self.comparable(listed.postgres) == Self.comparable(listed.sqlite), "\(listed.postgres.stdout)")
        let table = try pair.run("release", "list")
        #expect(table.postgres.status == 0 && table.postgres.stdout.contains(id), "\(table.postgres.stdout)")
        let got = try pair.run("release", "get", "checkout", "--output", "json")
        #expect(Self.comparable(got.postgres) == Self.comparable(got.sqlite), "\(got.postgres.stdout)")
        let events = (got.postgres.object["events"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(events.contains("Shift"), "the first step is in the decision log: \(events)")
        let byId = try pair.postgres.run("release", "get", id, "--database", pair.database)
        #expect(byId.status == 0 && byId.stdout.hasPrefix("Release checkout (\(id))"), "\(byId.stdout)")

        Self.sameError(
            try pair.run("release", "create", "again", "--member", "orders:live=2", "--policy", "AllAtOnce"),
            contains: "ResourceConflictException")
        Self.sameError(try pair.run("release", "get", "nope"), contains: "Release nope does not exist")
        Self.sameError(try pair.run("release", "list", "--status", "Sideways"), contains: "Sideways")

        let stopped = try pair.run("release", "stop", "checkout", "--output", "json")
        #expect(Self.comparable(stopped.postgres) == Self.comparable(stopped.sqlite), "\(stopped.postgres.stdout)")
        #expect(stopped.postgres.object["status"] as? String == "Stopped", "\(stopped.postgres.stdout)")
        let after = try pair.run("release", "list", "--status", "Stopped", "--output", "json")
        #expect(Self.comparable(after.postgres) == Self.comparable(after.sqlite), "\(after.postgres.stdout)")
        #expect((after.postgres.object["releases"] as? [Any])?.count == 1, "\(after.postgres.stdout)")
        let alias = try pair.json("alias", "get", "orders", "live")
        #expect(alias.postgres == alias.sqlite && alias.postgres["FunctionVersion"] as? String == "1")
    }

    /// Without `--detach`, `release create` on the database follows the release while the leading
    /// controller (`controller run --database`, a child here) advances it, and exits 0 once it succeeded.
    @Test func foregroundReleaseOnTheDatabaseFinishesUnderTheLeadingController() throws {
        let pair = try Pair()
        try Self.twoFunctions(pair)
        let controller = try pair.postgres.start([
            "controller", "run", "--database", pair.database, "--interval", "0.2",
        ])
        defer { controller.killGroupAndWait() }
        let release = try pair.run(
            "release", "create", "checkout", "--member", "orders:live=2", "--member", "billing:live=2", "--policy",
            "AllAtOnce", "--interval", "0.2")
        #expect(release.sqlite.status == 0 && release.postgres.status == 0, "\(release.postgres.stderr)")
        for output in [release.sqlite.stdout, release.postgres.stdout] {
            #expect(
                output.split(separator: "\n").last?.contains("Succeeded: orders:live → 2, billing:live → 2") == true,
                "\(output)")
        }
        let got = try pair.run("release", "get", "checkout", "--output", "json")
        #expect(Self.comparable(got.postgres) == Self.comparable(got.sqlite), "\(got.postgres.stdout)")
        let alias = try pair.json("alias", "get", "billing", "live")
        #expect(alias.postgres == alias.sqlite && alias.postgres["FunctionVersion"] as? String == "2")
    }

    /// `update-config --reserved-concurrency`, `alarm delete`, `metrics get` and `config set|get|show` on
    /// the database: the same answers and the same one-line errors as on SQLite; `config set account-id`
    /// on the database changes the ARNs its commands answer with.
    @Test func concurrencyAlarmsMetricsAndSettingsAnswerAsOnSQLite() throws {
        let pair = try Pair()
        try Self.twoFunctions(pair)
        let reserved = try pair.json("function", "update-config", "orders", "--reserved-concurrency", "5")
        #expect(reserved.postgres == reserved.sqlite && reserved.postgres["ReservedConcurrentExecutions"] as? Int == 5)
        let both = try pair.run(
            "function", "update-config", "orders", "--reserved-concurrency", "0", "--memory", "256", "--output", "json")
        #expect(Self.comparable(both.postgres) == Self.comparable(both.sqlite), "\(both.postgres.stdout)")
        Self.sameError(
            try pair.run("function", "update-config", "orders", "--reserved-concurrency", "999"),
            contains: "UnreservedConcurrentExecution below its minimum value of [100]")
        Self.sameError(
            try pair.run("function", "update-config", "nope", "--reserved-concurrency", "1"),
            contains: "ResourceNotFoundException")
        let removed = try pair.run("function", "update-config", "orders", "--no-reserved-concurrency")
        #expect(removed.postgres.status == 0 && removed.postgres.stdout == removed.sqlite.stdout)

        let alarm = [
            "alarm", "put", "errors", "--function", "orders", "--metric", "Errors", "--statistic", "Sum", "--period",
            "60", "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator",
            "GreaterThanOrEqualToThreshold",
        ]
        #expect(try pair.run(alarm).postgres.status == 0)
        let deleted = try pair.run("alarm", "delete", "errors")
        #expect(deleted.postgres.status == 0 && deleted.postgres.stdout == deleted.sqlite.stdout)
        #expect(deleted.postgres.stdout == "Deleted alarm errors.\n", "\(deleted.postgres.stdout)")
        let again = try pair.json("alarm", "delete", "errors")
        #expect(again.postgres == again.sqlite && again.postgres["Deleted"] as? Bool == false)
        // An alarm an active deployment watches stays.
        #expect(try pair.run(alarm).postgres.status == 0)
        let deploy = try pair.run(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Canary10Percent30Minutes", "--alarm",
            "errors", "--detach")
        #expect(deploy.sqlite.status == 0 && deploy.postgres.status == 0, "\(deploy.postgres.stderr)")
        Self.sameError(try pair.run("alarm", "delete", "errors"), contains: "is watched by deployment")

        // A datapoint two minutes ago: its period is inside --since 10m on both, whenever each runs.
        let at = String(Int(Date().timeIntervalSince1970) / 60 * 60 - 120)
        let put = try pair.run(
            "metrics", "put", "--function", "orders", "--metric", "Custom", "--value", "3", "--timestamp", at)
        #expect(put.sqlite.status == 0 && put.postgres.status == 0, "\(put.postgres.stderr)")
        let series = try pair.json(
            "metrics", "get", "--function", "orders", "--metric", "Custom", "--statistic", "Maximum", "--since", "10m")
        func values(_ series: NSDictionary) -> [String] {
            (series["Datapoints"] as? [[String: Any]] ?? []).compactMap { point in
                (point["value"] as? Double).map { "\(point["periodStart"] ?? "?")=\($0)" }
            }
        }
        #expect(values(series.postgres) == values(series.sqlite), "\(series.postgres)")
        #expect(values(series.postgres).count == 1 && values(series.postgres).first?.hasSuffix("=3.0") == true)
        Self.sameError(
            try pair.run("metrics", "get", "--function", "orders", "--metric", "Custom", "--period", "0"),
            contains: "--period must be at least 1 second")

        let set = try pair.run("config", "set", "account-id", "123456789012")
        #expect(set.postgres.status == 0 && set.postgres.stdout == set.sqlite.stdout, "\(set.postgres.stderr)")
        for key in ["account-id", "region", "sandbox"] {
            let got = try pair.run("config", "get", key)
            #expect(got.postgres.status == 0 && got.postgres.stdout == got.sqlite.stdout, "\(key): \(got.postgres)")
        }
        let arn = try pair.json("function", "get", "orders")
        #expect(arn.postgres["FunctionArn"] as? String == "arn:aws:lambda:local:123456789012:function:orders")
        #expect(arn.postgres["FunctionArn"] as? String == arn.sqlite["FunctionArn"] as? String)
        Self.sameError(try pair.run("config", "set", "sandbox", "maybe"), contains: "sandbox is auto")
        Self.sameError(try pair.run("config", "get", "colour"), contains: "Unknown setting 'colour'")
        let shown = try pair.json("config", "show")
        #expect((shown.sqlite["settings"] as? String)?.hasPrefix("data directory") == true, "\(shown.sqlite)")
        #expect((shown.postgres["settings"] as? String)?.hasPrefix("database") == true, "\(shown.postgres)")
        #expect((shown.postgres["database"] as? String)?.hasPrefix("postgresql ") == true, "\(shown.postgres)")
    }

    /// `invoke` and `traffic` run a function published on the database (its code from this data directory's
    /// blobs, its alias resolved in the database) with SQLite's answers; its metrics land in the database;
    /// a reservation of 0 throttles it as on SQLite.
    @Test func invokeAndTrafficRunAFunctionPublishedOnTheDatabase() throws {
        let pair = try Pair()
        try Self.twoFunctions(pair)
        let invoked = try pair.run("invoke", "orders:live", "--payload", "{}")
        #expect(invoked.sqlite.status == 0 && invoked.postgres.status == 0, "\(invoked.postgres.stderr)")
        #expect(invoked.postgres.stdout == invoked.sqlite.stdout && invoked.postgres.stdout == "{\"v\":\"1\"}\n")
        #expect(invoked.postgres.stderr.contains("ExecutedVersion: 1"), "\(invoked.postgres.stderr)")
        let latest = try pair.json("invoke", "billing")
        #expect(latest.postgres["ExecutedVersion"] as? String == "$LATEST", "\(latest.postgres)")
        #expect(latest.postgres["Payload"] as? String == latest.sqlite["Payload"] as? String)
        Self.sameError(try pair.run("invoke", "orders:9"), contains: "ResourceNotFoundException: Function not found:")

        let traffic = try pair.postgres.run([
            "traffic", "orders:live", "--rate", "10", "--duration", "1s", "--output", "json", "--database",
            pair.database,
        ])
        #expect(traffic.status == 0, "\(traffic.stderr)")
        let versions = traffic.object["Versions"] as? [String: [String: Any]] ?? [:]
        let requests = versions.values.compactMap { $0["Requests"] as? Int }.reduce(0, +)
        let accounted = ["Throttles", "Dropped", "Failures"].compactMap { traffic.object[$0] as? Int }.reduce(
            requests, +)
        #expect(accounted == 10, "\(traffic.stdout)")
        #expect(Set(versions.keys).isSubset(of: ["1"]), "\(traffic.stdout)")
        let series = try pair.postgres.run([
            "metrics", "get", "--function", "orders", "--metric", "Invocations", "--period", "3600", "--since", "1h",
            "--output", "json", "--database", pair.database,
        ])
        let total = (series.object["Datapoints"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? Double }
            .reduce(0, +)
        #expect(total >= Double(1 + requests), "the invocations' metrics are in the database: \(series.stdout)")

        _ = try pair.run("function", "update-config", "orders", "--reserved-concurrency", "0")
        let throttled = try pair.run("invoke", "orders")
        #expect(throttled.sqlite.status == 1 && throttled.postgres.status == 1, "\(throttled.postgres.stdout)")
        #expect(throttled.postgres.stderr == throttled.sqlite.stderr, "\(throttled.postgres.stderr)")
        #expect(throttled.postgres.stderr.contains("TooManyRequestsException"), "\(throttled.postgres.stderr)")
    }

    /// `judge replay` reads the deployment, its judge and its events from the database: the same replay
    /// (or the same error for a deployment without a judge) as on SQLite; `policy list` lists the same.
    @Test func judgeReplayReadsTheDeploymentFromTheDatabase() throws {
        let pair = try Pair()
        try Self.twoFunctions(pair)
        let deploy = try pair.run(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Canary10Percent30Minutes",
            "--detach", "--output", "json")
        let ids = try [deploy.sqlite, deploy.postgres].map { try #require($0.object["deploymentId"] as? String) }
        Self.sameError(
            (
                try pair.sqlite.run("judge", "replay", ids[0]),
                try pair.postgres.run("judge", "replay", ids[1], "--database", pair.database)
            ), contains: "which has no judge: section")
        Self.sameError(try pair.run("judge", "replay", "d-MISSING00"), contains: "d-MISSING00")
        // The policy catalogue (presets, the data directory's YAML, the database's CodeDeploy configs) too.
        let policies = try pair.json("policy", "list")
        #expect(policies.postgres == policies.sqlite && (policies.postgres["policies"] as? [Any])?.count ?? 0 >= 9)
    }
}
