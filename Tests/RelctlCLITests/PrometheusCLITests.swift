import Foundation
import RelctlProcess
import Testing

/// A real Prometheus server (Debian's `prometheus`), started by the test on a free port of
/// 127.0.0.1 with a config that scrapes a `relctl serve`'s `/metrics` every second; killed at the end.
final class PrometheusProcess {
    let process: ChildProcess
    let port: Int

    static var binary: String? {
        ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init(_ cli: CLI, scraping target: Int) throws {
        guard let binary = Self.binary else {
            throw NSError(
                domain: "relctl-test", code: 1,
                userInfo: [
                    NSLocalizedDescriptionKey:
                        "prometheus is not installed: apt-get install -y prometheus (scripts/setup test does it)"
                ])
        }
        let folder = cli.workDirectory.appendingPathComponent(
            "prometheus-\(UUID().uuidString.prefix(6))", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("prometheus.yml")
        try """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: relctl
            static_configs:
              - targets: ['127.0.0.1:\(target)']
        """.write(to: config, atomically: true, encoding: .utf8)
        port = ServerProcess.freePort()
        let log = folder.appendingPathComponent("prometheus.log")
        process = try ChildProcess.spawn(
            .init(
                arguments: [
                    binary, "--config.file=\(config.path)",
                    "--storage.tsdb.path=\(folder.appendingPathComponent("data").path)",
                    "--web.listen-address=127.0.0.1:\(port)",
                ],
                environment: ProcessInfo.processInfo.environment, logPath: log.path, stderrPath: nil,
                workingDirectory: folder.path))
        for _ in 0..<600 {
            if (try? ServerProcess.get("\(endpoint)/-/ready").0) == 200 { return }
            if process.hasExited { break }
            usleep(100_000)
        }
        process.killGroupAndWait()
        throw NSError(
            domain: "relctl-test", code: 1,
            userInfo: [
                NSLocalizedDescriptionKey:
                    "prometheus did not start: \(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self).suffix(2000))"
            ])
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    deinit { process.killGroupAndWait() }
}

@Suite("Prometheus as an alarm's metric source", .serialized)
struct PrometheusCLITests {
    /// The judged fixture plus policy `Plain` (50% held 10 minutes, no judge: only the alarm decides).
    static func fixture(canary: Int) throws -> CLI {
        let cli = try JudgedDeployCLITests.fixture(
            baseline: 0, canary: canary, weight: 50, hold: "10m", judge: "  minRequests: 100")
        try "name: Plain\ntype: Steps\nsteps:\n  - weight: 50\n    hold: 10m\n"
            .write(
                to: cli.dataDirectory.appendingPathComponent("policies/plain.yaml"), atomically: true, encoding: .utf8)
        return cli
    }

    /// Version 2 of `orders` fails every request; serve's `/metrics` counts its errors, Prometheus
    /// scrapes them, and an alarm on a PromQL query over `{{function}}` and `{{target}}` fails the
    /// deployment that `relctl serve`'s controller runs, restoring the alias.
    @Test func aPromQLAlarmOnTheTargetsErrorsRollsBackADeployment() throws {
        let cli = try Self.fixture(canary: 100)
        let server = try ServerProcess(cli)
        defer { _ = server.stop() }
        let prometheus = try PrometheusProcess(cli, scraping: server.port)
        try cli.json(
            "alarm", "put", "orders-prom", "--function", "orders", "--prometheus", prometheus.endpoint,
            "--query", #"sum(relctl_invocation_errors_total{function="{{function}}",version="{{target}}"})"#,
            "--period", "10", "--evaluation-periods", "1", "--threshold", "1",
            "--comparison-operator", "GreaterThanOrEqualToThreshold", "--treat-missing-data", "notBreaching")
        let created = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Plain", "--alarm", "orders-prom",
            "--detach")
        let id = created["deploymentId"] as? String ?? ""
        var record: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            // Invocations through the server, so its /metrics counts them.
            _ = try? ChildProcess.run(
                arguments: [
                    "/usr/bin/curl", "-s", "-m", "30", "-o", "/dev/null", "-X", "POST", "-d", "{}",
                    "\(server.endpoint)/2015-03-31/functions/orders:live/invocations",
                ],
                environment: ProcessInfo.processInfo.environment, timeout: 60)
            record = try cli.json("deployments", "get", id)
            if record["status"] as? String != "InProgress" { break }
            usleep(200_000)
        }
        #expect(record["status"] as? String == "Failed", "\(record["status"] ?? "-")")
        let error = record["errorInformation"] as? [String: Any] ?? [:]
        #expect(error["code"] as? String == "ALARM_ACTIVE")
        #expect((error["message"] as? String)?.contains("Alarm orders-prom is in ALARM") == true, "\(error)")
        let alias = try cli.json("alias", "get", "orders", "live")
        #expect(alias["FunctionVersion"] as? String == "1" && alias["RoutingConfig"] == nil)
    }

    /// A query that fails (nothing listens there) is missing data: `breaching` fails the deployment
    /// with the reason, `notBreaching` does not — never a silent pass.
    @Test func aFailedQueryIsMissingDataUnderTreatMissingData() throws {
        let cli = try Self.fixture(canary: 0)
        let closed = "http://127.0.0.1:\(ServerProcess.freePort())"
        for (name, missing) in [("quiet", "notBreaching"), ("strict", "breaching")] {
            try cli.json(
                "alarm", "put", name, "--function", "orders", "--prometheus", closed, "--query", "up",
                "--period", "10", "--evaluation-periods", "1", "--threshold", "1",
                "--comparison-operator", "GreaterThanOrEqualToThreshold", "--treat-missing-data", missing)
        }
        let alarms = try cli.json("alarm", "list")["MetricAlarms"] as? [[String: Any]] ?? []
        let strict = try #require(alarms.first { $0["AlarmName"] as? String == "strict" })
        #expect(strict["StateValue"] as? String == "ALARM")
        #expect((strict["StateReason"] as? String)?.contains("Prometheus: cannot query") == true, "\(strict)")
        let quiet = try #require(alarms.first { $0["AlarmName"] as? String == "quiet" })
        #expect(quiet["StateValue"] as? String == "OK")
        let bad = try cli.run(
            "alarm", "put", "bad", "--function", "orders", "--prometheus", "ftp://x", "--query", "up",
            "--period", "10", "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator",
            "GreaterThanThreshold")
        #expect(bad.status != 0 && bad.stderr.contains("--prometheus 'ftp://x' must be"), "\(bad.stderr)")
        let unknown = try cli.run(
            "alarm", "put", "bad", "--function", "orders", "--prometheus", closed, "--query", "up{v=\"{{version}}\"}",
            "--period", "10", "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator",
            "GreaterThanThreshold")
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown placeholder {{version}}"), "\(unknown.stderr)")
        // A deployment watching the breaching alarm fails at once, saying why.
        let result = try cli.run(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Plain", "--alarm", "strict",
            "--output", "json")
        #expect(result.status == 1)
        #expect(
            ((result.object["errorInformation"] as? [String: Any])?["message"] as? String)?.contains(
                "Prometheus: cannot query") == true, "\(result.stdout)")
    }

    /// A judge whose `source:` is Prometheus: the counters serve's `/metrics` exports, scraped by a
    /// real Prometheus, are the evidence. Version 2 fails every request, version 1 none: the judge
    /// aborts the canary from Prometheus' counts and the alias goes back.
    @Test func aJudgeReadingPrometheusCountersAbortsAFailingCanary() throws {
        let cli = try Self.fixture(canary: 100)
        let server = try ServerProcess(cli)
        defer { _ = server.stop() }
        let prometheus = try PrometheusProcess(cli, scraping: server.port)
        func counter(_ name: String, _ version: String) -> String {
            "'sum(\(name){function=\"{{function}}\",version=\"{{\(version)}}\"}) or vector(0)'"
        }
        try """
        name: PromJudged
        type: Steps
        steps:
          - weight: 50
            hold: 10m
        judge:
          minRequests: 10
          source:
            prometheus: \(prometheus.endpoint)
            step: 2s
            canary: {invocations: \(counter("relctl_invocations_total", "target")), errors: \(counter("relctl_invocation_errors_total", "target"))}
            baseline: {invocations: \(counter("relctl_invocations_total", "current")), errors: \(counter("relctl_invocation_errors_total", "current"))}
        """.write(
            to: cli.dataDirectory.appendingPathComponent("policies/prom-judged.yaml"), atomically: true, encoding: .utf8
        )
        let created = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "PromJudged", "--detach")
        let id = created["deploymentId"] as? String ?? ""
        var record: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(150)
        while Date() < deadline {
            // Invocations through the server, so its /metrics counts them (relctl's own metric store is not read).
            for _ in 0..<4 {
                _ = try? ChildProcess.run(
                    arguments: [
                        "/usr/bin/curl", "-s", "-m", "30", "-o", "/dev/null", "-X", "POST", "-d", "{}",
                        "\(server.endpoint)/2015-03-31/functions/orders:live/invocations",
                    ],
                    environment: ProcessInfo.processInfo.environment, timeout: 60)
            }
            record = try cli.json("deployments", "get", id)
            if record["status"] as? String != "InProgress" { break }
            usleep(100_000)
        }
        #expect(record["status"] as? String == "Failed", "\(record["status"] ?? "-")")
        let error = record["errorInformation"] as? [String: Any] ?? [:]
        #expect(
            (error["message"] as? String)?.contains("The canary judge aborted at 50% to version 2: errors:") == true,
            "\(error)")
        let events = record["events"] as? [[String: Any]] ?? []
        #expect(
            !events.contains { $0["kind"] as? String == "JudgeSource" }, "Prometheus answered throughout: \(events)")
        let abort = events.last { $0["kind"] as? String == "JudgeVerdict" }?["details"] as? [String: String] ?? [:]
        #expect(
            abort["verdict"] == "ABORT" && Int(abort["canaryErrors"] ?? "") ?? 0 > 0 && abort["baselineErrors"] == "0",
            "\(abort)")
        let alias = try cli.json("alias", "get", "orders", "live")
        #expect(alias["FunctionVersion"] as? String == "1" && alias["RoutingConfig"] == nil)
    }
}
