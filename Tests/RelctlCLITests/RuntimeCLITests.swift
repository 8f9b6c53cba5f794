import Foundation
import Testing

@Suite("relctl invoke, traffic and demo")
struct RuntimeCLITests {
    static func repoRoot() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    @Test func invokePrintsThePayloadAndReportsFunctionErrorsWithExitOne() throws {
        let cli = try CLI()
        let folder = try cli.runtimeLoop(
            "fn",
            body: """
                  echo "handling $ID" >&2
                  case "$EVENT" in
                    *fail*) curl -sS -X POST "$API/invocation/$ID/error" -d '{"errorMessage":"asked to fail","errorType":"Test.Error"}' >/dev/null ;;
                    *) curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"got\\":$EVENT}" >/dev/null ;;
                  esac
                """)
        try cli.json(
            "function", "create", "echo", "--dir", folder, "--runtime", "provided.al2023", "--handler", "bootstrap",
            "--publish")
        let ok = try cli.run("invoke", "echo:1", "--payload", "{\"n\":7}", "--log-tail")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout == "{\"got\":{\"n\":7}}\n")
        #expect(ok.stderr.contains("ExecutedVersion: 1") && ok.stderr.contains("cold start"))
        #expect(ok.stderr.contains("handling "), "the log tail")
        let eventFile = cli.workDirectory.appendingPathComponent("event.json")
        try Data("{\"fail\":true}".utf8).write(to: eventFile)
        let failed = try cli.run("invoke", "echo", "--payload", "@\(eventFile.path)", "--output", "json")
        #expect(failed.status == 1)
        let record = failed.object
        #expect(record["FunctionError"] as? String == "Unhandled")
        #expect(record["ExecutedVersion"] as? String == "$LATEST")
        #expect(record["StatusCode"] as? Int == 200)
        #expect((record["Payload"] as? String)?.contains("asked to fail") == true)
        let missing = try cli.run("invoke", "echo:9")
        #expect(
            missing.status == 1 && missing.stderr.hasPrefix("error: ResourceNotFoundException: Function not found:"))
        let series = try cli.json(
            "metrics", "get", "--function", "echo", "--metric", "Invocations", "--period", "3600", "--since", "1h")
        let total = (series["Datapoints"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? Double }.reduce(0, +)
        #expect(total == 2)
    }

    @Test func trafficPrintsAPerVersionTallyAndStopsByItself() throws {
        let cli = try CLI()
        try cli.json(
            "function", "create", "hello", "--dir", Self.repoRoot().appendingPathComponent("examples/hello").path,
            "--publish")
        try cli.json("function", "update-config", "hello", "--env", "GREETING=two")
        try cli.json("publish", "hello")
        try cli.json("alias", "create", "hello", "live", "--version", "1", "--weight", "2=0.5")
        let result = try cli.run("traffic", "hello:live", "--rate", "20", "--duration", "2s", "--output", "json")
        #expect(result.status == 0, "\(result.stderr)")
        let versions = result.object["Versions"] as? [String: [String: Any]] ?? [:]
        let requests = versions.values.compactMap { $0["Requests"] as? Int }.reduce(0, +)
        // Open loop: exactly 20/s × 2 s are sent, each one served, throttled, dropped (too many in
        // flight) or failed, whatever the machine's load (how many are served depends on it).
        let accounted = ["Throttles", "Dropped", "Failures"].compactMap { result.object[$0] as? Int }.reduce(
            requests, +)
        #expect(accounted == 40, "\(result.stdout)")
        #expect(requests > 0)
        #expect(Set(versions.keys).isSubset(of: ["1", "2"]), "only the alias's two versions serve it")
        if requests >= 20 {
            // 50/50: the chance that 20 served requests all went to one version is 2 in a million.
            #expect(Set(versions.keys) == ["1", "2"])
        }
    }

    @Test func demoTripsTheAlarmWithRealTrafficAndRollsBack() throws {
        let cli = try CLI()
        let result = try cli.run(["demo", "--source", Self.repoRoot().appendingPathComponent("examples/demo").path])
        let text = result.stdout + result.stderr
        #expect(result.status == 0, "\(text)")
        #expect(text.contains("ALARM_ACTIVE"))
        #expect(text.contains("Alias live now → v1 (no routing)"))
        #expect(
            text.range(of: #"v2: \d+ requests, [1-9]\d* errors"#, options: .regularExpression) != nil,
            "v2's real errors: \(text)")
    }
}
