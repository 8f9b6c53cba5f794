import ArgumentParser
import Foundation
import RelctlCore
import RelctlPostgres
import RelctlRollout
import RelctlRuntime
import RelctlStore

struct Invoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Invoke a function locally (Invoke): NAME, NAME:VERSION or NAME:ALIAS (weighted routing).",
        discussion: """
            The response payload goes to stdout; the executed version, duration, cold/warm and, with --log-tail, the
            last 4 KB of the log go to stderr. A function error is reported as Lambda does (FunctionError: Unhandled,
            the error object as payload) with exit status 1.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument var function: String
    @Option(help: "The event: JSON text, or @FILE.") var payload: String = "{}"
    @Option(
        name: .customLong("routing-key"), help: "The same key always reaches the same version for the same weights.")
    var routingKey: String?
    @Flag(name: .customLong("log-tail"), help: "Show the last 4 KB of the function's log.") var logTail = false

    func run() async throws {
        let pool = try await global.runtimeParts().pool()
        let body = try readPayload(payload)
        let result: InvocationResult
        do {
            result = try await pool.invoke(
                try parseFunction(function), payload: body, routingKey: routingKey, logTail: logTail)
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
        if global.output == .json {
            Output.json(result)
        } else {
            print(result.Payload)
            var line =
                "ExecutedVersion: \(result.ExecutedVersion)  Duration: \(String(format: "%.2f", result.DurationMs)) ms  \(result.ColdStart ? "cold start" : "warm")"
            if let error = result.FunctionError { line += "  FunctionError: \(error)" }
            Output.note(line)
            if let log = result.LogResult, let data = Data(base64Encoded: log) {
                Output.note(String(decoding: data, as: UTF8.self))
            }
        }
        if result.FunctionError != nil { throw CommandFailure(status: 1) }
    }
}

func readPayload(_ text: String) throws -> Data {
    if text.hasPrefix("@") {
        do { return try Data(contentsOf: URL(fileURLWithPath: String(text.dropFirst()))) } catch {
            throw RelctlError(.invalidParameterValue, "Cannot read --payload \(text): \(error.localizedDescription)")
        }
    }
    return Data(text.utf8)
}

struct Traffic: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A bounded load generator: invoke at --rate per second for --duration, with a live per-version tally."
    )
    @OptionGroup var global: GlobalOptions
    @Argument var function: String
    @Option(help: "Invocations per second.") var rate: Double = 10
    @Option(help: "How long, e.g. 30s or 2m.") var duration: String = "30s"
    @Option(help: "The event: JSON text, or @FILE.") var payload: String = "{}"
    @Option(name: .customLong("routing-key-from"), help: "uuid: a new key per request; fixed: one key for all; none.")
    var routingKeyFrom: String = "none"
    @Option(help: "At most this many invocations in flight.") var concurrency: Int = 16

    func validate() throws {
        guard rate > 0, rate <= 10_000 else { throw ValidationError("--rate must be between 0 and 10000 per second.") }
        guard ["uuid", "fixed", "none"].contains(routingKeyFrom) else {
            throw ValidationError("--routing-key-from is uuid, fixed or none.")
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1.") }
    }

    func run() async throws {
        let seconds = try DurationText.parse(duration)
        guard seconds > 0, seconds <= 86_400 else {
            throw RelctlError(.invalidParameterValue, "--duration must be between 0s and 24h.")
        }
        let runtime = try await global.runtimeParts()
        let generator = TrafficGenerator(
            store: runtime.store, rollout: runtime.rollout, function: try parseFunction(function),
            payload: try readPayload(payload),
            routingKeys: routingKeyFrom, concurrency: concurrency)
        // Reservations shared with other servers need the pool that holds leases (the generator's own does not).
        let pool = runtime.leases == nil ? nil : runtime.pool()
        let terminal = isatty(STDOUT_FILENO) == 1 && global.output == .table
        var drawn = 0
        let tally = await generator.run(rate: rate, duration: seconds, pool: pool) { snapshot in
            guard global.output == .table else { return }
            let lines = snapshot.lines()
            if terminal {
                print((drawn > 0 ? "\u{1B}[\(drawn)A\u{1B}[J" : "") + lines.joined(separator: "\n"))
                drawn = lines.count
            } else {
                print(lines.joined(separator: "\n"))
            }
            fflush(nil)
        }
        await pool?.shutdown()
        if global.output == .json { Output.json(tally) }
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Watch a real canary fail: two versions of examples/demo, an alarm on v2's errors, traffic, rollback.",
        discussion: """
            Builds examples/demo twice (v1 healthy, v2 failing a share of requests), publishes both, points alias `live`
            at v1, puts an alarm on the target version's Errors, then runs a fast custom canary while `relctl traffic`
            invokes the alias. v2's errors trip the alarm and the alias is rolled back, within a minute. Uses the data
            directory as usual (the function is named relctl-demo and is re-created each run). On --database postgres://…
            it campaigns for leadership while it runs, as `relctl controller run --database` does: with no other controller
            it leads and advances its canary; with one, that leader does.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Where examples/demo is (default: found next to the current folder).") var source: String?
    @Option(help: "Share of v2's requests that fail.") var failRate: Double = 0.3

    func run() async throws {
        let folder = try DemoScenario.locateSource(source)
        let scenario: DemoScenario
        if let records = try await global.postgresRecords() {
            let runtime = try global.runtimeParts(on: records.store)
            scenario = DemoScenario(
                records: records, arn: records.store.arn, runtime: runtime,
                leadership: PostgresLeadership(store: records.store, holder: Controller.defaultRunnerName()),
                source: folder, failRate: failRate, policies: try await global.policies(on: records.store))
        } else {
            let registry = try global.registry()
            scenario = DemoScenario(
                records: registry, arn: registry.arn,
                runtime: RuntimeParts(store: registry, rollout: RolloutEngine(store: registry), leases: nil),
                leadership: nil, source: folder, failRate: failRate, policies: try await global.policies(on: registry))
        }
        let outcome = try await scenario.run {
            print($0); fflush(nil)
        }
        if outcome.status != .failed { throw CommandFailure(status: 1) }
    }
}

/// A controller whose function hooks are invoked by the local runtime.
func makeController(_ registry: Registry, scope: String?, pool: RuntimePool) -> Controller {
    Controller(engine: RolloutEngine(store: registry), scope: scope, invokeFunctionHook: pool.invokeHook)
}

extension GlobalOptions {
    /// The rollout engine on the registry `--database` names (the data directory's by default).
    func engine() async throws -> RolloutEngine {
        try await rollout().engine
    }
}
