import Foundation
import RelctlCore
import RelctlRollout
import Testing

// The canary judge's pure parts: its e-values against closed forms, Ville's bound by seeded
// simulation, monotone evidence, no data never passing, the sample-ratio guard, its persisted
// state, and the policy's `judge:` section.

@Suite("Canary judge: e-values")
struct JudgeEValueTests {
    static let harmGrid: [Double] = [1.1, 1.2, 1.35, 1.5, 1.75, 2, 3, 5, 10, 30]
    static let harmWeights: [Double] = [0.05, 0.1, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1, 0.05, 0.05]

    /// Λ(r)/Λ(r₀) for x canary events of k at a constant canary share θ.
    static func likelihoodRatio(
        _ r: Double, null r0: Double, canary x: Double, events k: Double, share θ: Double
    ) -> Double {
        pow(r / r0, x) * pow((1 + θ * (r0 - 1)) / (1 + θ * (r - 1)), k)
    }

    @Test func harmEValueOfCanaryOnlyErrorsMatchesTheWeightedClosedForm() {
        for errors in 1...4 {
            var test = RatioEProcess.harm()
            test.observe(canary: errors, events: errors, share: 0.1)
            let closedForm = zip(Self.harmGrid, Self.harmWeights)
                .map {
                    $1 * Self.likelihoodRatio($0, null: 1, canary: Double(errors), events: Double(errors), share: 0.1)
                }.reduce(0, +)
            #expect(abs(test.eValue - closedForm) < 1e-9 * closedForm)
            // At 10%, three canary-only errors (nothing on the baseline) clear 1/α = 20; two do not.
            #expect((test.eValue >= 20) == (errors >= 3), "\(errors) errors: \(test.eValue)")
        }
        // A baseline error in the same second weakens the evidence.
        var mixed = RatioEProcess.harm(), pure = RatioEProcess.harm()
        mixed.observe(canary: 3, events: 4, share: 0.1)
        pure.observe(canary: 3, events: 3, share: 0.1)
        #expect(mixed.eValue < pure.eValue)
    }

    @Test func notWorseEValueMatchesItsClosedFormOverManySeconds() {
        var test = RatioEProcess.notWorse(margin: 1.25)
        // 40 seconds, each with 5 events of which one canary, at share 0.2.
        for _ in 0..<40 { test.observe(canary: 1, events: 5, share: 0.2) }
        let grid = [0.95 * 1.25, 1.125, 1, 0.9, 0.75, 0.5], weights = [0.1, 0.2, 0.4, 0.15, 0.1, 0.05]
        let closedForm = zip(grid, weights).map {
            $1 * Self.likelihoodRatio($0, null: 1.25, canary: 40, events: 200, share: 0.2)
        }.reduce(0, +)
        #expect(abs(test.eValue - closedForm) < 1e-9 * closedForm)
        #expect(test.events == 200 && test.canaryEvents == 40)
    }

    @Test func evidenceDependsOnTotalsWhenTheShareIsConstant() {
        var once = RatioEProcess.harm(), bySecond = RatioEProcess.harm()
        once.observe(canary: 4, events: 10, share: 0.25)
        for second in 0..<10 { bySecond.observe(canary: second < 4 ? 1 : 0, events: 1, share: 0.25) }
        #expect(abs(once.logEValue - bySecond.logEValue) < 1e-12)
    }

    @Test func floorEValueOfCleanTrafficMatchesItsClosedForm() {
        var floor = FloorEProcess(floor: 0.001)
        for _ in 0..<50 { floor.observe(errors: 0, invocations: 100) }
        let fractions: [Double] = [0, 0.25, 0.5, 0.75]
        let closedForm =
            fractions.map { (fraction: Double) -> Double in pow((1 - fraction * 0.001) / (1 - 0.001), 5000.0) }.reduce(
                0, +) / 4
        #expect(abs(floor.eValue - closedForm) < 1e-9 * closedForm)
        // One error rules out the p = 0 alternative for good (kept finite, so the state stays JSON).
        floor.observe(errors: 1, invocations: 1)
        #expect(floor.logRatios[0] < EProcessMath.logFloor / 2)
        #expect(floor.eValue.isFinite && floor.eValue > 0)
    }

    @Test func shiftTestOfAnIdenticalSecondStaysNearOneAndGrowsForSlowerCanaries() {
        var test = ShiftEProcess(levels: [0.25, 0.5, 0.75])
        // Every bin holds 1 canary and 9 baseline requests: exactly the null's 10%.
        test.observe(counts: [1, 1, 1, 1] + [9, 9, 9, 9], weight: 0.1)
        #expect(test.eValue < 1.0001)
        var slower = ShiftEProcess(levels: [0.25, 0.5, 0.75])
        for _ in 0..<20 { slower.observe(counts: [0, 0, 1, 3] + [9, 9, 9, 9], weight: 0.1) }
        #expect(slower.eValue > 100)
    }

    @Test func normalQuantileMatchesKnownValues() {
        #expect(abs(EProcessMath.normalQuantile(0.5)) < 1e-9)
        #expect(abs(EProcessMath.normalQuantile(0.975) - 1.959963985) < 1e-6)
        #expect(abs(EProcessMath.normalQuantile(0.01) + 2.326347874) < 1e-6)
    }
}

@Suite("Canary judge: guarantees")
struct JudgeGuaranteeTests {
    /// Ville: under the null, P(the e-process ever reaches 1/α) ≤ α. Checked loosely (α = 0.2, with
    /// slack for simulation noise) over seeded A/A runs that read the judge every second.
    @Test func villesBoundHoldsForTheErrorTestUnderContinuousPeeking() {
        var configuration = JudgeConfiguration(errors: .init(maxRatio: 1.25, floor: nil))
        configuration.alpha = 0.2
        var scenario = JudgeScenario()
        scenario.baselineErrorRate = 0.03
        scenario.canaryErrorRate = 0.03
        scenario.seconds = 600
        scenario.diurnal = true
        let outcomes = JudgeSimulation.runs(
            scenario, configuration: configuration, count: 300, seed: 42, stopAtDecision: false)
        let rate = JudgeSimulationSummary(outcomes).abortRate
        #expect(
            rate <= 0.2 + 0.07, "false-abort rate \(rate) under continuous peeking exceeds α = 0.2 by more than noise")
    }

    @Test func villesBoundHoldsForTheLatencyShiftTest() {
        var generator = SeededGenerator(seed: 7)
        var crossed = 0
        let runs = 200
        for _ in 0..<runs {
            var test = ShiftEProcess(levels: [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
            let cuts = [0.1, 0.3, 0.5, 0.7, 0.9, 0.99].map { EProcessMath.normalQuantile($0) }
            for _ in 0..<300 {
                var counts = [Int](repeating: 0, count: 14)
                for _ in 0..<generator.poisson(50) {
                    let z = generator.normal()
                    let bin = cuts.firstIndex { z <= $0 } ?? 6
                    counts[generator.bernoulli(0.1) ? bin : 7 + bin] += 1
                }
                test.observe(counts: counts, weight: 0.1)
                if test.eValue >= 5 {
                    crossed += 1
                    break
                }
            }
        }
        #expect(Double(crossed) / Double(runs) <= 0.2 + 0.08, "\(crossed)/\(runs) A/A runs reached 1/α = 5")
    }

    @Test func moreCanaryErrorsNeverLowerHarmNorRaiseNotWorse() {
        var previousHarm = 0.0, previousNotWorse = Double.infinity
        for canaryErrors in 0...10 {
            var harm = RatioEProcess.harm(), notWorse = RatioEProcess.notWorse(margin: 1.2)
            harm.observe(canary: canaryErrors, events: 10, share: 0.3)
            notWorse.observe(canary: canaryErrors, events: 10, share: 0.3)
            #expect(harm.eValue >= previousHarm)
            #expect(notWorse.eValue <= previousNotWorse)
            previousHarm = harm.eValue
            previousNotWorse = notWorse.eValue
        }
    }

    @Test func cleanCanaryTrafficOnlyRaisesTheFloorEvidence() {
        var floor = FloorEProcess(floor: 0.01), previous = floor.eValue
        for _ in 0..<30 {
            floor.observe(errors: 0, invocations: 20)
            #expect(floor.eValue > previous)
            previous = floor.eValue
        }
    }

    @Test func noDataNeverPassesAndTheLastHoldFollowsOnInsufficientData() {
        for choice in JudgeConfiguration.InsufficientData.allCases {
            var judge = Judge(
                configuration: JudgeConfiguration(latency: .init(), minRequests: 0, onInsufficientData: choice))
            for _ in 0..<3600 {
                let verdict = judge.observe(
                    second: JudgeSecond(
                        weight: 0.1, canary: VersionSecond(invocations: 0, errors: 0),
                        baseline: VersionSecond(invocations: 0, errors: 0)))
                guard case .continue = verdict else {
                    Issue.record("an hour without traffic gave \(verdict)")
                    return
                }
            }
            #expect(!judge.isNotWorse)
            switch (choice, judge.verdictAtEndOfLastHold) {
            case (.fail, .abort(let reason)), (.pause, .pause(let reason)):
                #expect(reason.contains("insufficient evidence"))
            case (.promote, .promote): break
            case (_, let verdict): Issue.record("\(choice) at the end of the last hold gave \(verdict)")
            }
        }
    }

    @Test func aQuietCanarySaysHowManyMoreRequestsItNeeds() throws {
        var judge = Judge(configuration: JudgeConfiguration())
        let verdict = judge.observe(
            second: JudgeSecond(
                weight: 0.1, canary: VersionSecond(invocations: 2, errors: 0),
                baseline: VersionSecond(invocations: 18, errors: 0)))
        guard case .continue(let needMore) = verdict else { Issue.record("got \(verdict)"); return }
        // The floor route (0.1%) with clean traffic needs ≈ ln(4 · 2/β)/0.001 ≈ 5,070 canary requests.
        let need = try #require(needMore)
        #expect(need > 4500 && need < 5500)
        #expect(judge.evidence.lines.joined(separator: "\n").contains("need ≈"))
    }

    @Test func manyErrorsOnTheCanaryAbortAndTheAbortStands() {
        var judge = Judge(configuration: JudgeConfiguration())
        var verdict = JudgeVerdict.continue(needMore: nil)
        for _ in 0..<5 {
            verdict = judge.observe(
                second: JudgeSecond(
                    weight: 0.1, canary: VersionSecond(invocations: 10, errors: 3),
                    baseline: VersionSecond(invocations: 90, errors: 1)))
        }
        guard case .abort(let reason) = verdict else { Issue.record("got \(verdict)"); return }
        #expect(reason.hasPrefix("errors:"))
        // Clean seconds later do not undo it.
        for _ in 0..<100 {
            verdict = judge.observe(
                second: JudgeSecond(
                    weight: 0.1, canary: VersionSecond(invocations: 10, errors: 0),
                    baseline: VersionSecond(invocations: 90, errors: 0)))
        }
        guard case .abort = verdict else { Issue.record("the abort did not stand: \(verdict)"); return }
    }

    @Test func sampleRatioMismatchPausesAndCorrectRoutingDoesNot() {
        var scenario = JudgeScenario()
        scenario.seconds = 900
        scenario.baselineErrorRate = 0.0
        scenario.canaryErrorRate = 0.0
        scenario.routingBias = 0.5
        let configuration = JudgeConfiguration(errors: .init(maxRatio: 1.25, floor: nil))
        let broken = JudgeSimulation.run(scenario, configuration: configuration, seed: 3, stopAtDecision: true)
        #expect(
            broken.pauseSecond != nil && broken.pauseSecond! < 300,
            "a canary getting 5% at a 10% weight paused at \(String(describing: broken.pauseSecond))")
        scenario.routingBias = 1
        let healthy = JudgeSimulation.run(scenario, configuration: configuration, seed: 3, stopAtDecision: false)
        #expect(healthy.pauseSecond == nil)
    }

    @Test func slowerCanaryIsAbortedOnLatency() {
        var scenario = JudgeScenario()
        scenario.seconds = 600
        scenario.canaryLatencyFactor = 1.5
        let outcome = JudgeSimulation.run(
            scenario, configuration: JudgeConfiguration(latency: .init()), seed: 11, stopAtDecision: true)
        #expect(outcome.decision?.kind == "abort")
    }

    @Test func identicalCanaryWithRareErrorsPromotesThroughTheFloor() {
        var scenario = JudgeScenario()
        scenario.seconds = 1800
        scenario.baselineErrorRate = 0.0002
        scenario.canaryErrorRate = 0.0002
        let outcome = JudgeSimulation.run(scenario, configuration: JudgeConfiguration(), seed: 5, stopAtDecision: true)
        #expect(outcome.decision?.kind == "promote")
        #expect((outcome.canaryRequestsAtPromote ?? 0) >= 200, "minRequests holds")
    }

    @Test func persistedStateContinuesExactlyWhereItStopped() throws {
        var scenario = JudgeScenario()
        scenario.seconds = 400
        var traffic = JudgeSimulation.Traffic(scenario, judgesLatency: true, seed: 9)
        var uninterrupted = Judge(configuration: JudgeConfiguration(latency: .init()))
        var restored = uninterrupted
        for second in 0..<400 {
            let observation = traffic.next()
            let expected = uninterrupted.observe(second: observation)
            if second % 50 == 0 {
                let data = try JSONEncoder().encode(restored)
                restored = try JSONDecoder().decode(Judge.self, from: data)
                #expect(data.count < 64 * 1024 || !restored.latency!.isReady, "state of \(data.count) bytes")
            }
            #expect(restored.observe(second: observation) == expected)
        }
        #expect(restored == uninterrupted)
        #expect(restored.latency?.isReady == true)
    }

    @Test func sameSeedSameFigures() {
        var scenario = JudgeScenario()
        scenario.seconds = 120
        let first = JudgeSimulation.runs(
            scenario, configuration: JudgeConfiguration(latency: .init()), count: 3, seed: 1, stopAtDecision: false)
        let second = JudgeSimulation.runs(
            scenario, configuration: JudgeConfiguration(latency: .init()), count: 3, seed: 1, stopAtDecision: false)
        #expect(first == second)
    }
}

@Suite("Canary judge: policy section")
struct JudgePolicyTests {
    static func parse(_ judge: String) throws(RelctlError) -> DeploymentPolicy {
        try PolicyParser.parse(
            """
            name: Judged
            type: Steps
            steps: [{weight: 5, hold: 10m}, {weight: 25, hold: 10m}, {weight: 50, hold: 10m}]
            judge:
            \(judge)
            """, source: "judged.yaml")[0].policy
    }

    @Test func theIssuesExampleParses() throws {
        let policy = try Self.parse(
            """
              errors:   {maxRatio: 1.2, floor: 0.001}
              latency:  {metric: Duration, quantiles: [p50, p99], maxIncrease: 10%}
              alpha: 0.05
              beta: 5%
              minRequests: 200
              earlyPromote: true
              onInsufficientData: fail
            """)
        let judge = try #require(policy.judge)
        #expect(judge.errors == .init(maxRatio: 1.2, floor: 0.001))
        #expect(judge.latency == .init(metric: "Duration", quantiles: [0.5, 0.99], maxIncrease: 0.1))
        #expect(judge.alpha == 0.05 && judge.beta == 0.05 && judge.minRequests == 200 && judge.earlyPromote)
        #expect(judge.onInsufficientData == .fail)
    }

    @Test func aPrometheusSourceParsesWithItsStep() throws {
        let policy = try Self.parse(
            """
              source:
                prometheus: http://127.0.0.1:9090
                step: 5s
                canary:   {invocations: 'sum(http_requests_total{version="{{target}}"})', errors: 'sum(http_errors_total{version="{{target}}"}) or vector(0)'}
                baseline: {invocations: 'sum(http_requests_total{version="{{current}}"})', errors: 'sum(http_errors_total{version="{{current}}"}) or vector(0)'}
            """)
        let source = try #require(policy.judge?.source)
        #expect(source.prometheus == "http://127.0.0.1:9090" && source.step == 5)
        #expect(source.canary.invocations == #"sum(http_requests_total{version="{{target}}"})"#)
        #expect(source.baseline.errors == #"sum(http_errors_total{version="{{current}}"}) or vector(0)"#)
        #expect(
            try JSONDecoder().decode(DeploymentPolicy.self, from: JSONEncoder().encode(policy)) == policy,
            "stored with the deployment")
        let defaulted = try #require(
            try Self.parse(
                "  source: {prometheus: 'http://p:9090', canary: {invocations: a, errors: b}, baseline: {invocations: c, errors: d}}"
            ).judge?.source)
        #expect(defaulted.step == 15)
    }

    @Test func defaultsFillAnEmptySectionAndPoliciesWithoutOneHaveNoJudge() throws {
        let judge = try #require(try Self.parse("  errors: {maxRatio: 1.5}").judge)
        #expect(judge.errors.floor == 0.001 && judge.latency == nil && judge.onInsufficientData == .pause)
        let plain = try PolicyCatalog(customFolder: nil).policy(named: "Canary10Percent5Minutes")
        #expect(plain.judge == nil)
    }

    @Test func storedPoliciesWithoutAJudgeStillDecode() throws {
        let stored = #"{"name":"Old","kind":{"allAtOnce":{}},"source":"custom"}"#
        let policy = try JSONDecoder().decode(DeploymentPolicy.self, from: Data(stored.utf8))
        #expect(policy.judge == nil)
        let judged = DeploymentPolicy(name: "New", kind: .allAtOnce, judge: JudgeConfiguration(latency: .init()))
        #expect(try JSONDecoder().decode(DeploymentPolicy.self, from: JSONEncoder().encode(judged)) == judged)
    }

    @Test(arguments: [
        ("  errors: {maxRatio: 0.9}", "errors.maxRatio 0.9 must be above 1"),
        ("  errors: {maxRatio: lots}", "`errors.maxRatio` must be a number above 1"),
        ("  errors: {maxRatio: 1.2, ceiling: 3}", "unknown field errors.ceiling"),
        ("  errors: {floor: 60%}", "errors.floor 0.6 must be an error rate"),
        ("  latency: {quantiles: [q99]}", "latency quantile 'q99' is not a quantile"),
        ("  latency: {quantiles: [p100]}", "latency quantile 1.0 must be above 0"),
        ("  latency: {metric: Memory}", "latency.metric 'Memory' is not judged; allowed: Duration"),
        ("  latency: {maxIncrease: 0%}", "latency.maxIncrease 0.0 must be above 0"),
        ("  alpha: 0", "alpha 0.0 must be above 0"),
        ("  beta: high", "`beta` must be a fraction or a percentage"),
        ("  minRequests: -1", "minRequests -1 must be from 0"),
        ("  earlyPromote: sometimes", "`earlyPromote` must be true or false"),
        ("  onInsufficientData: guess", "`onInsufficientData` must be one of fail, promote, pause"),
        ("  judgement: yes", "unknown field judgement"),
        (
            "  source: {canary: {invocations: a, errors: b}, baseline: {invocations: c, errors: d}}",
            "`source.prometheus` is the Prometheus server's base URL"
        ),
        (
            "  source: {prometheus: 'ftp://x', canary: {invocations: a, errors: b}, baseline: {invocations: c, errors: d}}",
            "prometheus 'ftp://x' must be a Prometheus server's base URL"
        ),
        (
            "  source: {prometheus: 'http://p:9090', canary: {invocations: a}, baseline: {invocations: c, errors: d}}",
            "`source.canary` needs both `invocations` and `errors`"
        ),
        (
            "  source: {prometheus: 'http://p:9090', canary: {invocations: a, errors: b}}",
            "`source.baseline` is missing"
        ),
        (
            "  source: {prometheus: 'http://p:9090', canary: {invocations: 'x{v=\"{{version}}\"}', errors: b}, baseline: {invocations: c, errors: d}}",
            "canary.invocations names an unknown placeholder {{version}}"
        ),
        (
            "  source: {prometheus: 'http://p:9090', step: 0.5s, canary: {invocations: a, errors: b}, baseline: {invocations: c, errors: d}}",
            "step 500ms must be from 1s to 1h"
        ),
        (
            "  source: {prometheus: 'http://p:9090', query: up, canary: {invocations: a, errors: b}, baseline: {invocations: c, errors: d}}",
            "unknown field source.query"
        ),
        (
            "  latency: {}\n  source: {prometheus: 'http://p:9090', canary: {invocations: a, errors: b}, baseline: {invocations: c, errors: d}}",
            "remove `latency:`"
        ),
    ])
    func badJudgeSectionsAreRefusedWithTheFieldNamed(_ section: String, _ message: String) {
        do {
            _ = try Self.parse(section)
            Issue.record("\(section) was accepted")
        } catch {
            #expect(error.code == .invalidParameterValue)
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.message.hasPrefix("judged.yaml"))
        }
    }
}

@Suite("Canary judge: Prometheus counters")
struct JudgeSourceTests {
    static let source = JudgeSource(
        prometheus: "http://p:9090", canary: .init(invocations: "a", errors: "b"),
        baseline: .init(invocations: "c", errors: "d"), step: 10)

    @Test func windowsAreWholeStepsFromTheCursorReadOneStepAfterTheyEnd() {
        // Cursor at 1003: the first window starts at 1010; at 1035 the window [1020, 1030) ended
        // 5 s ago — not yet a whole step — so the last evaluation read is 1020.
        #expect(Self.source.evaluationTimes(judgedThrough: 1003, now: 1035)! == (1010, 1020))
        #expect(Self.source.evaluationTimes(judgedThrough: 1003, now: 1029) == nil, "no whole window yet")
        #expect(Self.source.evaluationTimes(judgedThrough: 1010, now: 1040)! == (1010, 1030))
        // A long outage reads at most maxPoints evaluations, the newest.
        let far = Self.source.evaluationTimes(judgedThrough: 0, now: 10_000_000)!
        #expect(far.end == 9_999_990 && (far.end - far.start) / 10 == Double(JudgeSource.maxPoints - 1))
    }

    @Test func countsAreDifferencesOfConsecutiveEvaluationsAtEachWindowsFirstSecond() {
        let points: [String: [(time: Double, value: Double)]] = [
            "canary.invocations": [(1000, 50), (1010, 60), (1020, 75), (1030, 5)],  // reset before 1030: 5 new
            "canary.errors": [(1000, 1), (1010, 3), (1020, 40), (1030, 0)],  // 37 > 15 requests: capped
            "baseline.invocations": [(1000, 500), (1010, 590), (1030, 770)],  // 1020 missing: no window spans the gap
            "baseline.errors": [(1000, 2), (1010, 3), (1030, 4)],
        ]
        let samples = JudgeSource.samples(points, source: Self.source)
        #expect(samples.second(1000, weight: 0.1).canary == VersionSecond(invocations: 10, errors: 2))
        #expect(samples.second(1010, weight: 0.1).canary == VersionSecond(invocations: 15, errors: 15))
        #expect(samples.second(1020, weight: 0.1).canary == VersionSecond(invocations: 5, errors: 0))
        #expect(samples.second(1000, weight: 0.1).baseline == VersionSecond(invocations: 90, errors: 1))
        #expect(samples.second(1010, weight: 0.1).baseline == VersionSecond(invocations: 0, errors: 0))
        #expect(
            samples.second(1005, weight: 0.1).canary == VersionSecond(invocations: 0, errors: 0),
            "the window's other seconds are empty")
    }
}
