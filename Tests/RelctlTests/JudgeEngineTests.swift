import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore
import Testing

/// The canary judge wired into the rollout engine, on a real SQLite registry and a manual clock:
/// per-second samples go in through `putMetricData` (the runtime's path), the engine feeds the
/// judge the closed seconds and acts on its verdicts.
@Suite("The canary judge in the rollout engine")
struct JudgeEngineTests {
    static func policy(
        _ steps: [(Double, Double)],
        judge: JudgeConfiguration = JudgeConfiguration(errors: .init(maxRatio: 1.2, floor: 0.001))
    ) -> DeploymentPolicy {
        DeploymentPolicy(name: "Judged", kind: .steps(steps.map { .weight(percent: $0.0, hold: $0.1) }), judge: judge)
    }

    static func deploy(_ fixture: RolloutFixture, _ policy: DeploymentPolicy) async throws -> Deployment {
        try await fixture.engine.create(
            DeploymentRequest(function: "orders", alias: "live", targetVersion: "2", policy: policy))
    }

    /// One second of traffic on `orders:live` (the second that just ended), as the runtime reports
    /// it: each version's invocations and errors (summed datapoints, one per metric).
    static func second(_ fixture: RolloutFixture, canary: (Int, Int), baseline: (Int, Int)) async throws {
        let at = Date(timeIntervalSince1970: fixture.clock.seconds.rounded(.down) - 0.5)
        var points: [MetricDatapoint] = []
        for (version, counts) in [("2", canary), ("1", baseline)] where counts.0 > 0 {
            points.append(
                MetricDatapoint(
                    functionName: "orders", resource: "orders:live", executedVersion: version, metric: "Invocations",
                    value: Double(counts.0), timestamp: at))
            points.append(
                MetricDatapoint(
                    functionName: "orders", resource: "orders:live", executedVersion: version, metric: "Errors",
                    value: Double(counts.1), timestamp: at))
        }
        try await fixture.engine.putMetricData(points)
    }

    @Test func aCanaryFailingFiveTimesAsOftenIsAbortedAndTheAliasRestoredWithoutATick() async throws {
        let fixture = try RolloutFixture()
        let deployment = try await Self.deploy(fixture, Self.policy([(10, 600), (50, 600)]))
        #expect(try fixture.alias() == AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1)))
        var seconds = 0
        // 100 req/s: the canary's 10 fail 5% (one error every other second), the baseline's 90 fail 1% (9 in 10 s).
        while try fixture.registry.deployment(id: deployment.id).status.isActive, seconds < 600 {
            fixture.clock.advance(1)
            seconds += 1
            try await Self.second(fixture, canary: (10, seconds % 2), baseline: (90, seconds % 10 == 0 ? 0 : 1))
        }
        let failed = try fixture.registry.deployment(id: deployment.id)
        #expect(failed.status == .failed)
        #expect(failed.error?.code == "ALARM_ACTIVE")
        #expect(
            failed.error?.message.contains("The canary judge aborted at 10% to version 2: errors:") == true,
            "\(failed.error?.message ?? "")")
        #expect(seconds < 120, "×5 errors at 100 req/s are caught within two minutes (took \(seconds) s)")
        #expect(try fixture.alias() == AliasTarget(functionVersion: 1))
        let events = try fixture.registry.deploymentEvents(id: deployment.id).map(\.event)
        let verdicts = events.filter { $0.kind == "JudgeVerdict" }
        #expect(verdicts.first?.details["verdict"] == "WAIT")
        let abort = try #require(verdicts.last)
        #expect(abort.details["verdict"] == "ABORT")
        #expect(Double(abort.details["errorHarm"] ?? "") ?? 0 >= 20, "the harm e-value crossed 1/α: \(abort.details)")
        #expect(abort.details["ratio"] != nil && abort.details["ratioLow"] != nil && abort.details["ratioHigh"] != nil)
        #expect(events.contains { $0.kind == "Rollback" })
        let logged = try fixture.registry.listEvents(after: 0, filter: EventFilter(types: [.judgeVerdict]))
        #expect(
            logged.map { $0.details["verdict"] } == verdicts.map { $0.details["verdict"] },
            "each verdict change is a JudgeVerdict event")
        // The judge's record stays with the deployment: what `deployments get` shows.
        let judge = try #require(try fixture.registry.deploymentJudge(id: deployment.id))
        #expect(
            judge.judge.seconds == seconds - 2 || judge.judge.seconds == seconds - 1, "only closed seconds are judged")
        #expect(judge.judge.canary.invocations == 10 * judge.judge.seconds)
        let info = DeploymentInfo(failed, judge: judge)
        #expect(info.judge?.verdict == "ABORT")
        #expect(info.judge?.lines.contains { $0.hasPrefix("Verdict   ABORT") } == true)
        // A replay of the recorded seconds through the same judge aborts at the same second.
        let replay = try await fixture.engine.replayJudge(
            failed, weights: judge.weights, configuration: failed.policy.judge!, policy: "Judged")
        #expect(replay.changes.last?.verdict == "ABORT")
        #expect(replay.seconds == judge.judge.seconds)
        #expect(replay.outcome.hasPrefix("Would have aborted at +"))
    }

    @Test func anIdenticalCanaryEndsEveryHoldEarly() async throws {
        let fixture = try RolloutFixture()
        var configuration = JudgeConfiguration(errors: .init(maxRatio: 1.2, floor: 0.001))
        configuration.minRequests = 200
        let deployment = try await Self.deploy(fixture, Self.policy([(10, 600), (50, 600)], judge: configuration))
        var seconds = 0
        var weights: [Double] = []
        // 1,000 req/s, both versions failing exactly 1%; the engine ticks every second.
        while try fixture.registry.deployment(id: deployment.id).status.isActive, seconds < 1200 {
            fixture.clock.advance(1)
            seconds += 1
            let current = try fixture.registry.deployment(id: deployment.id).aliasWeight
            if weights.last != current { weights.append(current) }
            let canary = Int(current * 10), baseline = 1000 - canary
            let period = seconds % 10 == 0
            try await Self.second(
                fixture, canary: (canary, period ? canary / 10 : 0), baseline: (baseline, period ? baseline / 10 : 0))
            try await fixture.engine.tick()
        }
        let done = try fixture.registry.deployment(id: deployment.id)
        #expect(done.status == .succeeded)
        #expect(weights == [10, 50])
        #expect(seconds < 600, "promoted before half the policy's total hold of 20 minutes (took \(seconds) s)")
        let events = try fixture.registry.deploymentEvents(id: deployment.id).map(\.event)
        #expect(
            events.filter { $0.kind == "Promote" && $0.message.contains("by the canary judge") }.count == 2,
            "both holds ended early")
        #expect(events.contains { $0.kind == "JudgeVerdict" && $0.details["verdict"] == "PROMOTE" })
        #expect(try fixture.alias() == AliasTarget(functionVersion: 2))
    }

    @Test func aQuietFunctionHoldsAndAtTheEndOfTheLastHoldPausesSayingHowMuchMoreItNeeds() async throws {
        let fixture = try RolloutFixture()
        let deployment = try await Self.deploy(fixture, Self.policy([(10, 120)]))
        for second in 1...130 {
            fixture.clock.advance(1)
            // One request a second, every tenth on the canary; no errors.
            try await Self.second(
                fixture, canary: (second % 10 == 0 ? 1 : 0, 0), baseline: (second % 10 == 0 ? 0 : 1, 0))
            try await fixture.engine.tick()
        }
        let paused = try fixture.registry.deployment(id: deployment.id)
        #expect(paused.status == .paused)
        #expect(
            try fixture.alias() == AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1)),
            "no pass on no data")
        let judge = try #require(try fixture.registry.deploymentJudge(id: deployment.id))
        let need = try #require(judge.judge.needMore)
        #expect(need > 100)
        let end = try #require(
            try fixture.registry.deploymentEvents(id: deployment.id).map(\.event).last { $0.kind == "JudgeVerdict" })
        #expect(
            end.message.hasPrefix(
                "End of the last hold: PAUSE — insufficient evidence at the end of the last hold: 11 canary requests, need ≈"
            ), "\(end.message)")
        // An operator's resume goes on by the policy (the judge does not pause again).
        _ = try await fixture.engine.resume(id: deployment.id)
        #expect(try fixture.registry.deployment(id: deployment.id).status == .succeeded)
    }

    @Test func onInsufficientDataFailRollsBack() async throws {
        let fixture = try RolloutFixture()
        var configuration = JudgeConfiguration()
        configuration.onInsufficientData = .fail
        let deployment = try await Self.deploy(fixture, Self.policy([(10, 30)], judge: configuration))
        fixture.clock.advance(31)
        try await fixture.engine.tick()
        let failed = try fixture.registry.deployment(id: deployment.id)
        #expect(failed.status == .failed)
        #expect(failed.error?.message.contains("insufficient evidence") == true)
        #expect(try fixture.alias() == AliasTarget(functionVersion: 1))
    }

    /// A judge reading a Prometheus that does not answer counts nothing — missing data is logged
    /// once, never a pass — and at the end of its last hold follows onInsufficientData.
    @Test func aPrometheusSourceThatDoesNotAnswerIsMissingDataNeverAPass() async throws {
        let fixture = try RolloutFixture()
        let closed = "http://127.0.0.1:1"  // nothing listens on port 1: refused at once
        var configuration = JudgeConfiguration(minRequests: 0, earlyPromote: true, onInsufficientData: .fail)
        configuration.source = JudgeSource(
            prometheus: closed, canary: .init(invocations: "a", errors: "b"),
            baseline: .init(invocations: "c", errors: "d"), step: 5)
        let deployment = try await Self.deploy(fixture, Self.policy([(10, 60)], judge: configuration))
        // relctl's own store has a healthy canary: a source judge must not read it.
        for _ in 0..<3 {
            for _ in 0..<19 {
                fixture.clock.advance(1)
                try await Self.second(fixture, canary: (10, 0), baseline: (90, 0))
            }
            try await fixture.engine.tick()
        }
        #expect(
            try fixture.registry.deployment(id: deployment.id).status == .inProgress, "no early promote on no evidence")
        fixture.clock.advance(4)
        try await fixture.engine.tick()
        let failed = try fixture.registry.deployment(id: deployment.id)
        #expect(failed.status == .failed)
        #expect(failed.error?.message.contains("insufficient evidence") == true, "\(failed.error?.message ?? "")")
        let events = try fixture.registry.deploymentEvents(id: deployment.id).map(\.event)
        let missing = events.filter { $0.kind == "JudgeSource" }
        #expect(
            !missing.isEmpty && zip(missing, missing.dropFirst()).allSatisfy { $0.message != $1.message },
            "missing data is logged when it starts (and again only when its reason changes): \(missing.map(\.message))")
        #expect(
            missing.first?.details["missingData"]?.contains("canary.invocations: cannot query \(closed)") == true,
            "\(missing.first?.details ?? [:])")
        #expect(!events.contains { $0.kind == "JudgeVerdict" && $0.details["verdict"] == "PROMOTE" })
        #expect(try fixture.alias() == AliasTarget(functionVersion: 1))
    }
}
