import Foundation
import RelctlProcess
import Testing

/// A `relctl serve` child on a free port of 127.0.0.1.
final class ServerProcess {
    let cli: CLI
    let process: ChildProcess
    let port: Int
    let log: URL

    init(_ cli: CLI, extra: [String] = [], environment: [String: String] = [:]) throws {
        self.cli = cli
        log = cli.workDirectory.appendingPathComponent("serve-\(UUID().uuidString.prefix(6)).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        port = Self.freePort()
        // --settle 0: these tests expect final answers at once (Tests/compat/test_states.py pins the states).
        process = try cli.start(
            ["serve", "--port", String(port), "--tick", "0.2", "--settle", "0"] + extra, log: log.path,
            environment: environment)
        for _ in 0..<300 {
            if (try? Self.get("http://127.0.0.1:\(port)/healthz").0) == 200 { return }
            if process.hasExited { break }
            usleep(100_000)
        }
        process.killGroupAndWait()
        throw NSError(
            domain: "relctl-test", code: 1,
            userInfo: [
                NSLocalizedDescriptionKey:
                    "serve did not start: \(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))"
            ])
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Sends `signal` and waits for the exit (killing the group past the deadline); the exit status.
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        kill(process.pid, signal)
        if !process.wait(timeout: 60) {
            Issue.record("relctl serve did not stop within 60 s of signal \(signal)")
            process.killGroupAndWait()
        }
        return process.terminationStatus ?? -1
    }

    deinit {
        process.killGroupAndWait()
    }

    static func freePort() -> Int { LoopbackPort.free() }

    /// A plain GET with curl (status, body).
    static func get(_ url: String) throws -> (Int, String) {
        let result = try ChildProcess.run(
            arguments: ["/usr/bin/curl", "-s", "-m", "30", "-o", "-", "-w", "\n%{http_code}", url],
            environment: ProcessInfo.processInfo.environment, timeout: 60)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}

/// Runs a command with the AWS tools' environment pointed at a server.
func runTool(
    _ arguments: [String], environment extra: [String: String], cwd: URL, timeout: Double = childDeadline,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> (Int32, String) {
    let result = try ChildProcess.run(
        arguments: ["/usr/bin/env"] + arguments, environment: toolEnvironment(extra), workingDirectory: cwd.path,
        timeout: timeout)
    return toolOutcome(result, arguments, timeout, sourceLocation)
}

func toolEnvironment(_ extra: [String: String]) -> [String: String] {
    ProcessInfo.processInfo.environment.merging(extra) { $1 }
}

/// The status and output of a tool's run; a run killed at its deadline is an issue of the calling test.
func toolOutcome(
    _ result: ChildProcess.Completed, _ arguments: [String], _ timeout: Double, _ sourceLocation: SourceLocation
) -> (Int32, String) {
    if result.timedOut {
        Issue.record(
            "\(arguments.joined(separator: " ")) ran past \(Int(timeout)) s and was killed",
            sourceLocation: sourceLocation)
    }
    return (result.status, result.stdout + result.stderr)
}

/// `runTool` for a child that runs for minutes (the compat suites): the wait happens on a Dispatch thread, not
/// on one of the cooperative pool's threads (two on this machine), so async tests running beside it (a
/// listener's reconnection, a failover's deadlines) are not starved for as long as the child runs.
func runToolOffPool(
    _ arguments: [String], environment extra: [String: String], cwd: URL, timeout: Double = childDeadline,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> (Int32, String) {
    let (path, environment) = (cwd.path, toolEnvironment(extra))
    let result = try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(
                with: Result {
                    try ChildProcess.run(
                        arguments: ["/usr/bin/env"] + arguments, environment: environment, workingDirectory: path,
                        timeout: timeout)
                })
        }
    }
    return toolOutcome(result, arguments, timeout, sourceLocation)
}

@Suite("relctl serve", .serialized)
struct ServerTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func healthzAndPrometheusMetrics() throws {
        let cli = try CLI()
        let server = try ServerProcess(cli)
        defer { _ = server.stop() }
        let aws: [String: String] = [
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "eu-west-1",
        ]
        let (status, output) = try runTool(
            ["aws", "lambda", "get-function", "--function-name", "missing", "--endpoint-url", server.endpoint],
            environment: aws, cwd: cli.workDirectory)
        #expect(status != 0)
        #expect(
            output.contains(
                "An error occurred (ResourceNotFoundException) when calling the GetFunction operation: Function not found: arn:aws:lambda:eu-west-1:000000000000:function:missing"
            ))
        let (code, metrics) = try ServerProcess.get("\(server.endpoint)/metrics")
        #expect(code == 200)
        #expect(metrics.contains("relctl_http_requests_total{action=\"GetFunction\",status=\"404\"} 1"))
        #expect(metrics.contains("relctl_code_storage_limit_bytes 80530636800"))
        #expect(metrics.contains("# TYPE relctl_http_request_duration_seconds histogram"))
    }

    /// The log is buffered (one write per 20 ms, not per request): every request still gets exactly one
    /// whole line in swift-log's StreamLogHandler format, and what is buffered is written when the server stops.
    @Test func everyRequestIsLoggedOnceInStreamLogHandlersFormatAndTheLogIsWrittenOutAtStop() throws {
        let cli = try CLI()
        let server = try ServerProcess(cli)
        let requests = 25
        for _ in 0..<requests {
            #expect(try ServerProcess.get("\(server.endpoint)/2015-03-31/functions/missing").0 == 404)
        }
        let line =
            /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info relctl\.serve: action=GetFunction method=GET ms=\d+\.\d\d path=\/2015-03-31\/functions\/missing request-id=([0-9a-f-]{36}) status=404 \[RelctlServer\] request/
        func requestLines() -> [String] {
            let text = String(decoding: (try? Data(contentsOf: server.log)) ?? Data(), as: UTF8.self)
            return text.split(separator: "\n").map(String.init).filter { $0.contains("action=GetFunction") }
        }
        let deadline = Date().addingTimeInterval(10)
        while requestLines().count < requests && Date() < deadline { usleep(20_000) }
        let lines = requestLines()
        #expect(lines.count == requests, "\(lines.suffix(3))")
        let ids = lines.compactMap { try? line.wholeMatch(in: $0)?.1 }.map(String.init)
        #expect(ids.count == requests, "not in the expected format: \(lines.first ?? "none")")
        #expect(Set(ids).count == requests)
        #expect(server.stop() == 0)
        let last = String(decoding: try Data(contentsOf: server.log), as: UTF8.self).split(separator: "\n").last
        #expect(last?.hasSuffix("relctl serve stopped") == true, "\(last ?? "")")
    }

    @Test func sigtermMidCanaryThenRestartContinuesTheDeployment() throws {
        let cli = try RolloutCLITests.fixture(holds: "3s")
        var server = try ServerProcess(cli)
        let created = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Quick", "--detach")
        let id = try #require(created["deploymentId"] as? String)
        usleep(1_000_000)
        #expect(server.stop(signal: SIGTERM) == 0, "graceful shutdown exits 0")
        #expect(try cli.json("deployments", "get", id)["status"] as? String == "InProgress")
        server = try ServerProcess(cli)
        defer { _ = server.stop() }
        var status = ""
        for _ in 0..<100 {
            status = try cli.json("deployments", "get", id)["status"] as? String ?? ""
            if status != "InProgress" { break }
            usleep(200_000)
        }
        #expect(status == "Succeeded")
        let shifts = (try cli.json("deployments", "get", id)["events"] as? [[String: Any]] ?? []).filter {
            $0["kind"] as? String == "Shift"
        }
        #expect(shifts.count == 3, "each step once, across the restart")
    }

    @Test func relctlDeployUsesADeploymentConfigCreatedOverTheCodeDeployApi() throws {
        let cli = try RolloutCLITests.fixture()
        let server = try ServerProcess(cli)
        defer { _ = server.stop() }
        let aws: [String: String] = [
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1",
        ]
        let (status, output) = try runTool(
            [
                "aws", "deploy", "create-deployment-config", "--deployment-config-name", "Api10Percent1Minute",
                "--compute-platform", "Lambda", "--endpoint-url", server.endpoint, "--traffic-routing-config",
                #"{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":10,"canaryInterval":1}}"#,
            ],
            environment: aws, cwd: cli.workDirectory)
        #expect(status == 0, "\(output)")
        let shown = try cli.run("policy", "show", "Api10Percent1Minute")
        #expect(shown.status == 0, "\(shown.stderr)")
        let created = try cli.json(
            "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Api10Percent1Minute", "--detach")
        let id = try #require(created["deploymentId"] as? String)
        #expect(try cli.json("alias", "get", "orders", "live")["RoutingConfig"] != nil, "10% went to version 2 at once")
        let record = try cli.json("deployments", "get", id)
        #expect(record["deploymentConfigName"] as? String == "Api10Percent1Minute", "\(record)")
        try cli.json("deployments", "stop", id)
    }

    @Test func nonLoopbackWithoutAuthIsRefused() throws {
        let cli = try CLI()
        let result = try cli.run("serve", "--host", "0.0.0.0", "--port", String(ServerProcess.freePort()))
        #expect(result.status == 1)
        #expect(result.stderr.contains("requires authentication"))
    }

    /// The compatibility suite in Tests/compat, run with real boto3 and awscli against a real server.
    @Test func awsCompatibilitySuitePasses() async throws {
        let suite = Self.repo.appendingPathComponent("Tests/compat")
        try #require(FileManager.default.fileExists(atPath: suite.appendingPathComponent("conftest.py").path))
        let (status, output) = try await runToolOffPool(
            ["python3", "-m", "pytest", suite.path, "-q", "-x", "-p", "no:cacheprovider"],
            environment: ["RELCTL_BIN": CLI.binary.path], cwd: Self.repo, timeout: 1500)
        #expect(status == 0, "\(output.suffix(6000))")
    }

    @Test func sigV4IsEnforcedWhenAuthIsOn() throws {
        let cli = try CLI()
        let writer = try cli.json("credentials", "create", "--name", "ci")
        let reader = try cli.json("credentials", "create", "--name", "viewer", "--read-only")
        let file = cli.dataDirectory.appendingPathComponent("credentials.json")
        let mode = (try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber)?
            .intValue
        #expect(mode == 0o600)
        let listed = try cli.run("credentials", "list", "--output", "json")
        #expect(!listed.stdout.contains(writer["SecretAccessKey"] as? String ?? "?"), "secrets never shown again")
        let server = try ServerProcess(cli, extra: ["--auth", "on"])
        defer { _ = server.stop() }
        let suite = Self.repo.appendingPathComponent("Tests/compat/test_auth.py")
        try #require(FileManager.default.fileExists(atPath: suite.path))
        let (status, output) = try runTool(
            ["python3", "-m", "pytest", suite.path, "-q", "-p", "no:cacheprovider"],
            environment: [
                "RELCTL_AUTH_ENDPOINT": server.endpoint,
                "RELCTL_AUTH_KEY": writer["AccessKeyId"] as? String ?? "",
                "RELCTL_AUTH_SECRET": writer["SecretAccessKey"] as? String ?? "",
                "RELCTL_AUTH_READONLY_KEY": reader["AccessKeyId"] as? String ?? "",
                "RELCTL_AUTH_READONLY_SECRET": reader["SecretAccessKey"] as? String ?? "",
            ], cwd: Self.repo)
        #expect(status == 0, "\(output.suffix(4000))")
        let passed = output.firstMatch(of: /(\d+) passed/).flatMap { Int($0.1) } ?? 0
        #expect(passed >= 6, "the signed-request tests ran: \(output.suffix(300))")
        let serverLog = String(decoding: try Data(contentsOf: server.log), as: UTF8.self)
        #expect(!serverLog.contains(writer["SecretAccessKey"] as? String ?? "?"), "secrets never appear in logs")
        // A mutation made with the key is audited under it.
        let zip = cli.workDirectory.appendingPathComponent("audit.zip")
        let (zipped, zipOutput) = try runTool(
            ["sh", "-c", "cd \(Self.repo.path)/examples/hello && zip -q \(zip.path) bootstrap"], environment: [:],
            cwd: cli.workDirectory)
        try #require(zipped == 0, "\(zipOutput)")
        let (created, createOutput) = try runTool(
            [
                "aws", "lambda", "create-function", "--endpoint-url", server.endpoint, "--function-name", "audited",
                "--runtime", "provided.al2023",
                "--handler", "bootstrap", "--role", "arn:aws:iam::123456789012:role/x", "--zip-file",
                "fileb://\(zip.path)",
            ],
            environment: [
                "AWS_ACCESS_KEY_ID": writer["AccessKeyId"] as? String ?? "",
                "AWS_SECRET_ACCESS_KEY": writer["SecretAccessKey"] as? String ?? "",
                "AWS_DEFAULT_REGION": "us-east-1",
            ], cwd: cli.workDirectory)
        #expect(created == 0, "\(createOutput)")
        let history = try cli.run("history", "audited", "--output", "json")
        #expect(
            history.stdout.contains("key:\(writer["AccessKeyId"] as? String ?? "?") (ci)"),
            "the audit row names the key: \(history.stdout)")
    }
}

@Suite("Code from S3", .serialized)
struct S3CodeTests {
    @Test func createFunctionFetchesCodeFromAnS3CompatibleEndpoint() throws {
        let cli = try CLI()
        // moto_server is a real S3-compatible endpoint here.
        let s3Port = ServerProcess.freePort()
        let moto = try ChildProcess.spawn(
            .init(
                arguments: ["/usr/bin/env", "moto_server", "-p", String(s3Port)],
                environment: ProcessInfo.processInfo.environment, logPath: "/dev/null"))
        defer { moto.killGroupAndWait() }  // moto_server ignores SIGTERM
        let s3 = "http://127.0.0.1:\(s3Port)"
        for _ in 0..<100 {
            if ((try? ServerProcess.get(s3).0) ?? 0) != 0 { break }
            usleep(100_000)
        }
        let aws: [String: String] = [
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1",
        ]
        let zip = cli.workDirectory.appendingPathComponent("code.zip")
        #expect(
            try runTool(
                ["sh", "-c", "cd \(ServerTests.repo.path)/examples/hello && zip -q \(zip.path) bootstrap"],
                environment: [:], cwd: cli.workDirectory
            ).0 == 0)
        #expect(
            try runTool(
                ["aws", "s3api", "create-bucket", "--bucket", "artifacts", "--endpoint-url", s3], environment: aws,
                cwd: cli.workDirectory
            ).0 == 0)
        #expect(
            try runTool(
                [
                    "aws", "s3api", "put-object", "--bucket", "artifacts", "--key", "builds/hello.zip", "--body",
                    zip.path, "--endpoint-url", s3,
                ],
                environment: aws, cwd: cli.workDirectory
            ).0 == 0)

        // moto refuses anonymous reads, so the server signs its GetObject (SigV4, as for real S3).
        setenv("RELCTL_S3_ACCESS_KEY_ID", "relctl", 1)
        setenv("RELCTL_S3_SECRET_ACCESS_KEY", "secret", 1)
        defer { unsetenv("RELCTL_S3_ACCESS_KEY_ID"); unsetenv("RELCTL_S3_SECRET_ACCESS_KEY") }
        let server = try ServerProcess(cli, extra: ["--s3-endpoint", s3])
        defer { _ = server.stop() }
        let (status, output) = try runTool(
            [
                "aws", "lambda", "create-function", "--endpoint-url", server.endpoint, "--function-name", "froms3",
                "--runtime", "provided.al2023",
                "--handler", "bootstrap", "--role", "arn:aws:iam::123456789012:role/x", "--code",
                "S3Bucket=artifacts,S3Key=builds/hello.zip",
            ], environment: aws, cwd: cli.workDirectory)
        #expect(status == 0, "\(output)")
        let created = (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:]
        let bytes = try Data(contentsOf: zip)
        #expect(created["CodeSize"] as? Int == bytes.count)
        let (missing, missingOutput) = try runTool(
            [
                "aws", "lambda", "create-function", "--endpoint-url", server.endpoint, "--function-name", "nos3",
                "--runtime", "provided.al2023",
                "--handler", "bootstrap", "--role", "arn:aws:iam::123456789012:role/x", "--code",
                "S3Bucket=artifacts,S3Key=nope.zip",
            ], environment: aws, cwd: cli.workDirectory)
        #expect(
            missing != 0 && missingOutput.contains("InvalidParameterValueException")
                && missingOutput.contains("NoSuchKey"), "\(missingOutput)")
    }

    @Test func withoutAnEndpointS3CodeIsAClearError() throws {
        let cli = try CLI()
        let server = try ServerProcess(cli)
        defer { _ = server.stop() }
        let aws: [String: String] = [
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1",
        ]
        let (status, output) = try runTool(
            [
                "aws", "lambda", "create-function", "--endpoint-url", server.endpoint, "--function-name", "s3less",
                "--runtime", "provided.al2023",
                "--handler", "bootstrap", "--role", "arn:aws:iam::123456789012:role/x", "--code",
                "S3Bucket=some-bucket,S3Key=k.zip",
            ], environment: aws, cwd: cli.workDirectory)
        #expect(status != 0)
        #expect(output.contains("(InvalidParameterValueException)") && output.contains("--s3-endpoint"), "\(output)")
    }
}
