import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage

/// `relctl judge …`: the canary judge's tools.
struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "The anytime-valid canary judge: size steps by simulating it, replay a deployment through it.",
        subcommands: [Simulate.self, Replay.self])

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-run a deployment's recorded per-second metrics through its judge (or another policy's) and print when it would have aborted or promoted.",
            discussion: """
                The seconds are those in which the deployment split the alias between its versions, at the weights it set
                (from its judge's record, or else from its event log); each second's Invocations, Errors and Duration of both
                versions on the alias are fed to the judge in order. A promote marks a hold that would have ended early; the
                replay stops at the first abort or pause. Any deployment can be replayed with --policy, judged or not.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The deployment id.") var id: String
        @Option(help: "Judge with this policy's judge: section (default: the deployment's own).") var policy: String?

        func run() async throws {
            let (records, engine) = try await global.rollout()
            let deployment = try await records.deployment(id: id)
            let configuration: JudgeConfiguration
            let name: String
            if let policy {
                let found = try await global.policies(on: engine.store).policy(named: policy)
                guard let judge = found.judge else {
                    throw RelctlError(
                        .invalidParameterValue,
                        "Policy \(policy) has no judge: section; name a policy with one (see README, \"Judged canaries\")."
                    )
                }
                (configuration, name) = (judge, found.name)
            } else {
                guard let judge = deployment.policy.judge else {
                    throw RelctlError(
                        .invalidParameterValue,
                        "Deployment \(id) ran policy \(deployment.policy.name), which has no judge: section; name one with --policy."
                    )
                }
                (configuration, name) = (judge, deployment.policy.name)
            }
            let deploymentId = id
            // The weights its judge saw, else those its event log records.
            let judged = try await engine.store.read { try $0.deploymentJudge(deploymentId: deploymentId) }?.weights
            var weights = judged ?? []
            if judged == nil {
                weights = DeploymentJudge.weights(
                    from: try await records.deploymentEvents(id: id, after: 0).map(\.event))
            }
            let replay = try await engine.replayJudge(
                deployment, weights: weights, configuration: configuration, policy: name)
            if global.output == .json { return Output.json(replay) }
            print(
                "Replay of \(deployment.id) (\(deployment.functionName):\(deployment.alias) v\(deployment.currentVersion) → v\(deployment.targetVersion), \(deployment.status.rawValue)) with the judge of \(name): \(replay.seconds) seconds judged"
            )
            if !replay.changes.isEmpty {
                Output.table(
                    ["At", "Weight", "Verdict"],
                    replay.changes.map {
                        ["+" + DurationText.format($0.offset), DeploymentPolicy.percentText($0.weight), $0.text]
                    })
            }
            for line in replay.evidence.lines { print(line) }
            print(replay.outcome)
        }
    }

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Monte-Carlo of the judge on a canary: false-abort rate, time to abort or promote, requests needed.",
            discussion: """
                Each run is one deployment: requests arrive at --rate per second (Poisson), each goes to the canary
                with probability --weight, fails with its version's error rate and, when the judge has a latency
                section, takes a lognormal time (median 100 ms, σ 0.5; the canary's × (1 + --latency-increase)).
                The judge decides every second. With an identical canary every run lasts the full --duration so
                the false-abort rate covers continuous peeking over all of it; otherwise a run ends at its first decision.
                """)

        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("baseline-error"), help: "The baseline's error rate: 1% or 0.01.") var baselineError =
            "1%"
        @Option(name: .customLong("canary-error"), help: "The canary's error rate (default: the baseline's).")
        var canaryError: String?
        @Option(help: "Requests per second on the alias.") var rate: Double = 100
        @Option(help: "The alias weight on the canary: 10% or 0.1.") var weight = "10%"
        @Option(
            name: .customLong("latency-increase"), help: "How much slower every canary request is: 10% (default 0).")
        var latencyIncrease = "0%"
        @Option(help: "Length of each run: 1h, 30m, 600s.") var duration = "1h"
        @Option(help: "How many runs.") var runs = 1000
        @Option(help: "Seed of the random numbers (the same seed gives the same figures).") var seed: UInt64 = 1
        @Option(
            help:
                "Take the judge section of this policy (default: errors maxRatio 1.25, floor 0.1%, latency p50 and p99 +10%)."
        ) var policy: String?
        @Flag(
            help:
                "Load swings ±50% over each run and an incident hits both versions (errors ×8, latency ×1.3) from minute 20 to 25."
        ) var diurnal = false
        @Option(
            name: .customLong("routing-jitter"),
            help: "Each second the canary's true share is weight × (1 ± this): 10%.") var routingJitter = "0%"
        @Option(
            name: .customLong("routing-bias"),
            help: "The canary's true share is weight × (1 + this): -10% for a router that under-sends.")
        var routingBias = "0%"

        func validate() throws {
            if runs < 1 || runs > 1_000_000 { throw ValidationError("--runs must be from 1 to 1000000.") }
            if !(rate > 0 && rate <= 100_000) {
                throw ValidationError("--rate must be above 0 and at most 100000 requests per second.")
            }
        }

        static func fraction(_ text: String, _ flag: String, range: ClosedRange<Double>) throws(RelctlError) -> Double {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
            guard let value, value.isFinite, range.contains(value) else {
                throw RelctlError(
                    .invalidParameterValue,
                    "\(flag) '\(text)' must be a percentage such as 10% or a fraction such as 0.1, from \(range.lowerBound * 100)% to \(range.upperBound * 100)%."
                )
            }
            return value
        }

        func run() async throws {
            var scenario = JudgeScenario()
            scenario.rate = rate
            scenario.baselineErrorRate = try Self.fraction(baselineError, "--baseline-error", range: 0...1)
            scenario.canaryErrorRate =
                try canaryError.map { text throws(RelctlError) in
                    try Self.fraction(text, "--canary-error", range: 0...1)
                } ?? scenario.baselineErrorRate
            scenario.weight = try Self.fraction(weight, "--weight", range: 0.001...0.999)
            scenario.canaryLatencyFactor =
                1 + (try Self.fraction(latencyIncrease, "--latency-increase", range: -0.9...10))
            scenario.routingJitter = try Self.fraction(routingJitter, "--routing-jitter", range: 0...0.9)
            scenario.routingBias = 1 + (try Self.fraction(routingBias, "--routing-bias", range: -0.9...1))
            scenario.diurnal = diurnal
            let length: Double
            do { length = try DurationText.parse(duration) } catch {
                throw RelctlError(.invalidParameterValue, "--duration: \(error.message)")
            }
            guard length >= 1, length <= 7 * 86400 else {
                throw RelctlError(.invalidParameterValue, "--duration must be from 1s to 7d (got \(duration)).")
            }
            scenario.seconds = Int(length)
            let configuration: JudgeConfiguration
            if let policy {
                let found = try await global.policies().policy(named: policy)
                guard let judge = found.judge else {
                    throw RelctlError(
                        .invalidParameterValue,
                        "Policy \(policy) has no judge: section; add one (see README, \"Judged canaries\") or leave out --policy."
                    )
                }
                configuration = judge
            } else {
                configuration = JudgeConfiguration(latency: JudgeConfiguration.Latency())
            }
            let identical = scenario.canaryErrorRate == scenario.baselineErrorRate && scenario.canaryLatencyFactor == 1
            let outcomes = JudgeSimulation.runs(
                scenario, configuration: configuration, count: runs, seed: seed, stopAtDecision: !identical)
            let summary = JudgeSimulationSummary(outcomes)
            if global.output == .json { return Output.json(Report(summary, identical: identical)) }
            print(Self.describe(scenario, configuration, runs: runs, seed: seed))
            for line in Self.lines(summary, identical: identical) { print(line) }
        }

        struct Report: Encodable {
            struct Times: Encodable { var p50: Int?; var p90: Int?; var p99: Int? }
            var runs: Int
            var identicalCanary: Bool
            var abortRate: Double
            var promoteRate: Double
            var pauseRate: Double
            var abortSeconds: Times
            var promoteSeconds: Times
            var canaryRequestsAtAbort: Times
            var canaryRequestsAtPromote: Times
            var needMoreAfterMinute: Times

            init(_ summary: JudgeSimulationSummary, identical: Bool) {
                func times(_ values: [Int]) -> Times {
                    Times(
                        p50: JudgeSimulationSummary.percentile(values, 0.5),
                        p90: JudgeSimulationSummary.percentile(values, 0.9),
                        p99: JudgeSimulationSummary.percentile(values, 0.99))
                }
                runs = summary.runs
                identicalCanary = identical
                abortRate = summary.abortRate
                promoteRate = summary.promoteRate
                pauseRate = summary.pauseRate
                abortSeconds = times(summary.abortSeconds)
                promoteSeconds = times(summary.promoteSeconds)
                canaryRequestsAtAbort = times(summary.canaryRequestsAtAbort)
                canaryRequestsAtPromote = times(summary.canaryRequestsAtPromote)
                needMoreAfterMinute = times(summary.needMoreAfterMinute)
            }
        }

        static func describe(
            _ scenario: JudgeScenario, _ configuration: JudgeConfiguration, runs: Int, seed: UInt64
        ) -> String {
            func percent(_ value: Double) -> String { String(format: "%g%%", value * 100) }
            var judge = "errors maxRatio \(configuration.errors.maxRatio)"
            if let floor = configuration.errors.floor { judge += ", floor \(percent(floor))" }
            if let latency = configuration.latency {
                judge +=
                    "; latency \(latency.quantiles.map { "p\(String(format: "%g", $0 * 100))" }.joined(separator: ",")) +\(percent(latency.maxIncrease))"
            }
            judge +=
                "; alpha \(percent(configuration.alpha)), beta \(percent(configuration.beta)), minRequests \(configuration.minRequests)"
            var traffic =
                "\(runs) runs × \(DurationText.format(Double(scenario.seconds))) at \(String(format: "%g", scenario.rate)) req/s, canary at \(percent(scenario.weight))"
            traffic += " · errors \(percent(scenario.baselineErrorRate)) → \(percent(scenario.canaryErrorRate))"
            if configuration.latency != nil {
                traffic += " · latency ×\(String(format: "%g", scenario.canaryLatencyFactor))"
            }
            if scenario.diurnal { traffic += " · diurnal load + incident" }
            if scenario.routingJitter > 0 { traffic += " · routing jitter ±\(percent(scenario.routingJitter))" }
            if scenario.routingBias != 1 { traffic += " · routing bias ×\(String(format: "%g", scenario.routingBias))" }
            return "Simulated \(traffic) (seed \(seed))\nJudge: \(judge)"
        }

        static func lines(_ summary: JudgeSimulationSummary, identical: Bool) -> [String] {
            func time(_ values: [Int]) -> String {
                guard !values.isEmpty else { return "" }
                let p = [0.5, 0.9, 0.99].map { JudgeSimulationSummary.percentile(values, $0)! }
                return
                    "time p50 \(DurationText.format(Double(p[0]))), p90 \(DurationText.format(Double(p[1]))), p99 \(DurationText.format(Double(p[2])))"
            }
            func requests(_ values: [Int]) -> String {
                JudgeSimulationSummary.percentile(values, 0.5).map { " · canary requests p50 \($0)" } ?? ""
            }
            func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
            func line(_ label: String, _ rate: Double, _ seconds: [Int], _ counts: [Int]) -> String {
                let label = label.padding(toLength: 13, withPad: " ", startingAt: 0)
                return seconds.isEmpty
                    ? "\(label) \(percent(rate))" : "\(label) \(percent(rate))  \(time(seconds))\(requests(counts))"
            }
            var result = [
                line(
                    identical ? "False aborts" : "Aborted", summary.abortRate, summary.abortSeconds,
                    summary.canaryRequestsAtAbort),
                line(
                    identical ? "Promoted" : "Wrong promote", summary.promoteRate, summary.promoteSeconds,
                    summary.canaryRequestsAtPromote),
                line("Paused (SRM)", summary.pauseRate, summary.pauseSeconds, []),
            ]
            if let need = JudgeSimulationSummary.percentile(summary.needMoreAfterMinute, 0.5) {
                result.append(
                    "After 1 minute the judge said: need ≈ \(need) more canary requests (median over runs still waiting)"
                )
            }
            if identical {
                result.append(
                    "An identical canary: aborts are false alarms (bounded by alpha however often the judge looks); promotion time is what earlyPromote saves."
                )
            }
            return result
        }
    }
}
