// The canary judge's figures (issue 13): `swift run -c release relctl-judge-bench [--quick] [--cost-only]`.
// A seeded Monte-Carlo: 100 req/s on the alias, the canary at 10%, a decision every second for an
// hour; each figure printed beside its target. Its own small target (RelctlCore only), so a release
// build of it takes seconds, not the whole server.
import Foundation
import RelctlCore
import RelctlSystem

/// The judge the figures use: the issue's example section.
let judgeFigureConfiguration = JudgeConfiguration(
    errors: .init(maxRatio: 1.2, floor: 0.001),
    latency: .init(metric: "Duration", quantiles: [0.5, 0.99], maxIncrease: 0.1),
    alpha: 0.05, beta: 0.05, minRequests: 200, earlyPromote: true, onInsufficientData: .pause)

func judgeFigures(quick: Bool, costOnly: Bool) {
    let configuration = judgeFigureConfiguration
    let identicalRuns = quick ? 100 : 1000, effectRuns = quick ? 100 : 500
    func minutes(_ seconds: Int?) -> String { seconds.map { String(format: "%.1f min", Double($0) / 60) } ?? "–" }
    func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
    func check(_ ok: Bool) -> String { ok ? "✓" : "✗ MISSED" }
    func run(
        _ name: String, _ change: (inout JudgeScenario) -> Void, runs: Int, stopAtDecision: Bool,
        configuration: JudgeConfiguration = configuration
    ) -> JudgeSimulationSummary {
        var scenario = JudgeScenario()
        change(&scenario)
        let start = DispatchTime.now().uptimeNanoseconds
        let summary = JudgeSimulationSummary(
            JudgeSimulation.runs(
                scenario, configuration: configuration, count: runs, seed: 2026, stopAtDecision: stopAtDecision))
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("   [\(name): \(runs) runs in \(String(format: "%.1f", elapsed)) s]")
        return summary
    }
    print(
        "Canary judge (100 req/s, canary 10%, errors 1%, latency lognormal median 100 ms σ 0.5, 1 h, a decision every second, seed 2026)"
    )
    print("   judge: errors maxRatio 1.2 floor 0.1%, latency p50/p99 +10%, alpha 5%, beta 5%, minRequests 200")

    func simulatedFigures() {
        let identical = run("identical", { _ in }, runs: identicalRuns, stopAtDecision: false)
        print(
            "   identical canary, false aborts over the hour: \(percent(identical.abortRate))  (target ≤ 5%) \(check(identical.abortRate <= 0.05))"
        )
        let diurnal = run("diurnal", { $0.diurnal = true }, runs: identicalRuns, stopAtDecision: false)
        print(
            "   … with diurnal load ±50% and a 5-minute incident on both versions: \(percent(diurnal.abortRate))  (target ≤ 5%) \(check(diurnal.abortRate <= 0.05))"
        )
        let jitter = run("jitter", { $0.routingJitter = 0.1 }, runs: identicalRuns, stopAtDecision: false)
        print(
            "   … with ±10% routing jitter each second: \(percent(jitter.abortRate)), paused for SRM \(percent(jitter.pauseRate))  (target ≤ 5%) \(check(jitter.abortRate <= 0.05))"
        )
        for bias in [0.9, 1.1] {
            let biased = run("bias \(bias)", { $0.routingBias = bias }, runs: identicalRuns, stopAtDecision: false)
            print(
                "   … with the canary's true share \(bias)× the weight all along: \(percent(biased.abortRate)) false aborts (target ≤ 5%) \(check(biased.abortRate <= 0.05)); the SRM guard paused \(percent(biased.pauseRate)) (median \(minutes(JudgeSimulationSummary.percentile(biased.pauseSeconds, 0.5))))"
            )
        }
        // Over all runs: one that never promoted counts as "after the hour".
        func promotion(_ summary: JudgeSimulationSummary, _ label: String) {
            let allRuns = summary.promoteSeconds + Array(repeating: Int.max, count: summary.runs - summary.promotes)
            let median = JudgeSimulationSummary.percentile(allRuns, 0.5).flatMap { $0 == .max ? nil : $0 }
            let p90 = JudgeSimulationSummary.percentile(allRuns, 0.9).flatMap { $0 == .max ? nil : $0 }
            print(
                "   identical canary promoted early, \(label): \(percent(summary.promoteRate)) of runs within the hour, median over all runs \(median.map { minutes($0) } ?? "> 60 min") (p90 \(p90.map { minutes($0) } ?? "> 60 min"))  (target ≤ half the policy's hold: a 10% canary held 60 min → ≤ 30 min) \(check((median ?? .max) <= 1800))"
            )
        }
        promotion(identical, "maxRatio 1.2 (the issue's example)")
        var defaults = configuration
        defaults.errors.maxRatio = JudgeConfiguration.Errors().maxRatio
        promotion(
            run(
                "identical, maxRatio 1.25", { _ in }, runs: identicalRuns, stopAtDecision: true, configuration: defaults
            ),
            "maxRatio 1.25 (the default)")

        let mild = run("errors 1.5%", { $0.canaryErrorRate = 0.015 }, runs: effectRuns, stopAtDecision: true)
        let mildMedian = JudgeSimulationSummary.percentile(mild.abortSeconds, 0.5)
        print(
            "   errors 1% → 1.5%: aborted \(percent(mild.abortRate)), median \(minutes(mildMedian)) (p90 \(minutes(JudgeSimulationSummary.percentile(mild.abortSeconds, 0.9))))  (target median ≤ 8 min) \(check(mild.abortRate >= 0.5 && (mildMedian ?? .max) <= 480))"
        )
        let severe = run("errors ×5", { $0.canaryErrorRate = 0.05 }, runs: effectRuns, stopAtDecision: true)
        let severeMedian = JudgeSimulationSummary.percentile(severe.abortSeconds, 0.5)
        print(
            "   errors ×5: aborted \(percent(severe.abortRate)), median \(severeMedian.map { "\($0) s" } ?? "–") (p90 \(JudgeSimulationSummary.percentile(severe.abortSeconds, 0.9).map { "\($0) s" } ?? "–"))  (target ≤ 20 s) \(check((severeMedian ?? .max) <= 20))"
        )
        let slow = run("latency ×1.1", { $0.canaryLatencyFactor = 1.1 }, runs: effectRuns, stopAtDecision: true)
        let slowMedian = JudgeSimulationSummary.percentile(slow.abortSeconds, 0.5)
        print(
            "   p99 latency +10% (every request ×1.1): aborted \(percent(slow.abortRate)), median \(slowMedian.map { "\($0) s" } ?? "–") (p90 \(JudgeSimulationSummary.percentile(slow.abortSeconds, 0.9).map { "\($0) s" } ?? "–"))  (target ≤ 40 s) \(check((slowMedian ?? .max) <= 40))"
        )

    }
    if !costOnly { simulatedFigures() }

    // Cost: judge.observe on pre-generated seconds, against a baseline measured alongside: what a
    // per-second threshold check does with the same data (the canary's error rate, each version's p99 by sorting).
    // CPU time of this thread, not wall time: the figure must not depend on what else the machine runs.
    var scenario = JudgeScenario()
    scenario.seconds = 3600
    var traffic = JudgeSimulation.Traffic(scenario, judgesLatency: true, seed: 99)
    let reference = traffic.reference()
    let observations = (0..<scenario.seconds).map { _ in traffic.next() }
    let deployments = quick ? 5 : 20
    var sink = 0.0
    let readStart = threadCPUNanoseconds()
    for _ in 0..<deployments {
        for observation in observations {
            sink += Double(observation.canary.errors) / Double(max(1, observation.canary.invocations))
            for durations in [observation.canary.durations, observation.baseline.durations] {
                let sorted = durations.sorted()
                if !sorted.isEmpty { sink += sorted[min(sorted.count - 1, sorted.count * 99 / 100)] }
            }
        }
    }
    let read = Double(threadCPUNanoseconds() - readStart) / 1e9
    let judgeStart = threadCPUNanoseconds()
    var aborted = 0
    for _ in 0..<deployments {
        var judge = Judge(configuration: configuration, baselineLatencies: reference)
        for observation in observations {
            if case .abort = judge.observe(second: observation) { aborted += 1 }
        }
    }
    let judged = Double(threadCPUNanoseconds() - judgeStart) / 1e9
    let perSecond = judged / Double(deployments * observations.count)
    var judge = Judge(configuration: configuration, baselineLatencies: reference)
    for observation in observations { _ = judge.observe(second: observation) }
    let stateBytes = (try? JSONEncoder().encode(judge).count) ?? 0
    print(
        "   cost per deployment-second (≈100 requests, errors + latency + SRM): \(String(format: "%.2f µs", perSecond * 1e6)) (target ≤ 5 µs) \(check(perSecond <= 5e-6)); baseline, a per-second threshold check (canary error rate, both versions' p99 by sorting): \(String(format: "%.2f µs", read / Double(deployments * observations.count) * 1e6)) (\(ratio(judged, read))); 10,000 deployments ≈ \(String(format: "%.1f%%", perSecond * 10_000 * 100)) of a core; state \(stateBytes) bytes of JSON\(sink == 42 && aborted < 0 ? "" : "")"
    )
}

func threadCPUNanoseconds() -> UInt64 { CPUClock.threadNanoseconds() }

func ratio(_ value: Double, _ baseline: Double) -> String { String(format: "%.2f×", value / baseline) }

judgeFigures(quick: CommandLine.arguments.contains("--quick"), costOnly: CommandLine.arguments.contains("--cost-only"))
