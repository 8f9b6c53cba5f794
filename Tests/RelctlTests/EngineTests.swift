import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore
import Testing

@Suite("Metric periods (pure)")
struct MetricPeriodsTests {
    @Test func theNewestPeriodIsTheOneContainingNow() {
        let periods = MetricPeriods.ending(at: 1_000_065, period: 60, count: 3)
        #expect(periods.firstStart == 999_900)
        #expect(periods.end == 1_000_080)
        let points = periods.datapoints(
            [
                MetricSample(timestamp: 999_899, value: 100),  // before the range: ignored
                MetricSample(timestamp: 999_900, value: 1),  // first period, its first instant
                MetricSample(timestamp: 999_959.999, value: 2),  // first period, its last instant
                MetricSample(timestamp: 1_000_079.5, value: 4),  // the newest period (contains now's period end)
                MetricSample(timestamp: 1_000_080, value: 100),  // after the range: ignored
            ], statistic: .sum)
        #expect(points.map(\.periodStart) == [999_900, 999_960, 1_000_020])
        #expect(points.map(\.value) == [3, nil, 4])
    }

    @Test func statisticsPerPeriodAndEmptyPeriodsAreMissing() {
        let periods = MetricPeriods(firstStart: 0, period: 10, count: 2)
        let samples = (1...100).map { MetricSample(timestamp: 5, value: Double($0)) }
        #expect(periods.datapoints(samples, statistic: .percentile(99)).map(\.value) == [99, nil])
        #expect(periods.datapoints(samples, statistic: .maximum).first?.value == 100)
        #expect(periods.datapoints([], statistic: .sampleCount).allSatisfy { $0.value == nil })
    }

    @Test func coveringCountsEveryPeriodFromSinceToNow() {
        let periods = MetricPeriods.covering(since: 125, now: 300, period: 60)
        #expect(periods.firstStart == 120)
        #expect(periods.count == 4)  // 120, 180, 240, 300
        #expect(MetricPeriods.covering(since: 300, now: 300, period: 60).count == 1)
    }
}

@Suite("The rollout engine over the store protocol")
struct EngineTests {
    /// The datapoint's own write evaluates the alarms of the deployments that watch it: the alias
    /// is back on the original version when the write returns, with no tick at all.
    @Test(arguments: StoreEngine.allCases)
    func aBreachingDatapointRollsBackBeforeAnyTick(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        try await fixture.errorsAlarm()
        let deployment = try await fixture.deploy("Canary10Percent30Minutes", alarms: ["orders-errors"])
        #expect(
            try await fixture.alias() == AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1)))
        // A datapoint on another metric of the function, or on the old version, changes nothing.
        try await fixture.engine.putMetricData([
            MetricDatapoint(
                functionName: "orders", executedVersion: "2", metric: "Throttles", value: 9,
                timestamp: fixture.clock.now())
        ])
        try await fixture.putErrors(version: "1", 9)
        #expect(try await fixture.deployment(deployment.id).status == .inProgress)
        try await fixture.putErrors(version: "2", 1)
        let failed = try await fixture.deployment(deployment.id)
        #expect(failed.status == .failed)
        #expect(failed.error?.code == "ALARM_ACTIVE")
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 1))
        #expect(
            try await fixture.events(deployment.id).contains {
                $0.event.kind == "Failed" && $0.event.details["alarm"] == "orders-errors"
            })
    }

    /// Another process's controller sleeping for an hour is woken by the signal a change sends.
    /// SQLite only: this wake-up is a file in the shared data directory; PostgreSQL's is LISTEN/NOTIFY (issue 10 §6).
    @Test func aWakeSignalEndsAnotherControllersWait() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "relctl-wake-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let listener = try #require(WakeListener(directory: folder))
        defer { listener.close() }
        let engine = RolloutEngine(store: try Registry(dataDirectory: folder))
        let waiting = Task { await listener.wait(timeout: 3600) }
        // However the two tasks interleave, the signal is kept for (or wakes) the waiter.
        engine.wakeOthers()
        #expect(await waiting.value == true)
        #expect(await listener.wait(timeout: 0.05) == false, "one signal wakes one wait")
    }

    /// The sender remembers the folder's listing between signals: a controller that starts listening after a
    /// signal was sent must still be woken by the next one.
    @Test func aListenerThatArrivesAfterASignalIsWokenByTheNext() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "relctl-wake-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let early = try #require(WakeListener(directory: folder))
        defer { early.close() }
        let engine = RolloutEngine(store: try Registry(dataDirectory: folder))
        engine.wakeOthers()
        #expect(await early.wait(timeout: 10))
        try await Task.sleep(for: .milliseconds(150))  // past the folder's mtime grain: the listing is trusted
        engine.wakeOthers()
        #expect(await early.wait(timeout: 10))
        let late = try #require(WakeListener(directory: folder))
        defer { late.close() }
        engine.wakeOthers()
        #expect(await late.wait(timeout: 10), "the new listener's socket was found")
        #expect(await early.wait(timeout: 10))
    }

    /// SQLite only: CreateDeploymentConfig is not on PostgreSQL yet.
    @Test func aDeploymentCanUseAConfigCreatedOverTheCodeDeployAPI() async throws {
        let fixture = try RolloutFixture()
        _ = try fixture.registry.createCodeDeployConfig(
            name: "ApiCanary25Percent3Minutes",
            definition: #"{"timeBasedCanary":{"canaryInterval":3,"canaryPercentage":25},"type":"TimeBasedCanary"}"#)
        let catalog = try await PolicyCatalog.load(for: fixture.registry)
        let policy = try catalog.policy(named: "ApiCanary25Percent3Minutes")
        let deployment = try await fixture.engine.create(
            DeploymentRequest(function: "orders", alias: "live", targetVersion: "2", policy: policy))
        #expect(try fixture.alias() == AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.25)))
        fixture.clock.advance(180)
        try await fixture.engine.tick()
        #expect(try fixture.registry.deployment(id: deployment.id).status == .succeeded)
        #expect(try fixture.alias() == AliasTarget(functionVersion: 2))
    }

    /// Many due deployments are advanced in batched transactions, each step exactly once.
    @Test(arguments: StoreEngine.allCases)
    func dueDeploymentsAreAdvancedInBatchesEachStepOnce(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let count = RolloutEngine.batchSizeForTests * 2 + 3
        let policy = try RolloutFixture.catalog.policy(named: "Linear10PercentEvery1Minute")
        for index in 0..<count {
            _ = try await fixture.records.createAlias(
                function: "orders", name: "a\(index)", functionVersion: "1", additionalVersionWeights: [:],
                description: "")
            _ = try await fixture.engine.create(
                DeploymentRequest(function: "orders", alias: "a\(index)", targetVersion: "2", policy: policy))
        }
        fixture.clock.advance(60)
        let changed = try await fixture.engine.tick()
        #expect(changed.count == count)
        #expect(try await fixture.engine.tick().isEmpty, "nothing is due twice")
        for index in [0, count / 2, count - 1] {
            let alias = try await fixture.records.getAlias(function: "orders", name: "a\(index)")
            #expect(alias.RoutingConfig?.AdditionalVersionWeights["2"] == 0.2)
        }
    }
}
