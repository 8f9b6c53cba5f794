import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore
import Testing

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }
    func now() -> Date { lock.withLock { current } }
    func advance(_ seconds: Double) { lock.withLock { current = current.addingTimeInterval(seconds) } }
    var seconds: Double { now().timeIntervalSince1970 }
}

/// A registry with a function `orders` (versions 1–3 published), alias `live` → 1, on a manual clock.
struct RolloutFixture {
    let clock = ManualClock()
    let sandbox: Sandbox
    var registry: Registry { sandbox.registry }
    var engine: RolloutEngine { RolloutEngine(store: registry) }
    static let catalog = try! PolicyCatalog(customFolder: nil)

    init() throws {
        let clock = self.clock
        sandbox = try Sandbox(clock: { clock.now() })
        try sandbox.create("orders", try sandbox.code("v0"))
        for index in 1...3 { try sandbox.publishNewCode("orders", "v\(index)") }
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
    }

    func deploy(
        _ policy: String, to version: String = "2", pre: String? = nil, post: String? = nil, alarms: [String] = [],
        hookTimeout: Double = 3600, autoRollback: Bool = true
    ) async throws -> Deployment {
        try await engine.create(
            DeploymentRequest(
                function: "orders", alias: "live", targetVersion: version,
                policy: try Self.catalog.policy(named: policy),
                preTrafficHook: pre, postTrafficHook: post, alarms: alarms, hookTimeout: hookTimeout,
                autoRollback: autoRollback))
    }

    func alias() throws -> AliasTarget {
        let alias = try registry.getAlias(function: "orders", name: "live")
        let weights = alias.RoutingConfig?.AdditionalVersionWeights ?? [:]
        return try AliasTarget.from(
            functionVersion: try AliasTarget.parseVersion(alias.FunctionVersion), additionalVersionWeights: weights)
    }

    /// Alias moves recorded for `live` by deployments (newest first).
    func deploymentMoves() throws -> [HistoryEntry] {
        try registry.history(function: "orders", alias: "live").filter { $0.Action.hasPrefix("Deployment") }
    }

    func errorsAlarm(period: Int = 60) throws {
        try registry.putAlarm(
            AlarmDefinition(
                name: "orders-errors", functionName: "orders", executedVersion: "target", metric: "Errors",
                statistic: .sum,
                period: period, evaluationPeriods: 1, threshold: 1, comparisonOperator: .greaterThanOrEqualToThreshold,
                treatMissingData: .notBreaching))
    }

    func putErrors(version: String, _ value: Double) async throws {
        try await engine.putMetricData([
            MetricDatapoint(
                functionName: "orders", executedVersion: version, metric: "Errors", value: value, timestamp: clock.now()
            )
        ])
    }
}

@Suite("Deployments in the registry, on SQLite and on PostgreSQL")
struct DeploymentStoreTests {
    @Test(arguments: StoreEngine.allCases)
    func canaryMovesTheAliasAtThePinnedTimesAndRecordsEveryDecision(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let deployment = try await fixture.deploy("Canary10Percent5Minutes")
        #expect(deployment.status == .inProgress)
        #expect(
            try await fixture.alias() == AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1)))
        fixture.clock.advance(299)
        try await fixture.engine.tick()
        #expect(try await fixture.alias().additional?.weight == 0.1)
        fixture.clock.advance(1)
        try await fixture.engine.tick()
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 2))
        let done = try await fixture.deployment(deployment.id)
        #expect(done.status == .succeeded)
        let kinds = try await fixture.events(deployment.id).map(\.event.kind)
        #expect(kinds == ["Created", "Start", "Shift", "Shift", "Succeeded"])
        #expect(try await fixture.deploymentMoves().count == 2)
    }

    @Test(arguments: StoreEngine.allCases, PolicyTests.presets.map(\.0))
    func everyPresetRunsToOneHundredPercentInSimulatedTime(_ kind: StoreEngine, _ name: String) async throws {
        let fixture = try await EngineFixture.make(kind)
        let policy = try RolloutFixture.catalog.policy(named: name)
        let deployment = try await fixture.deploy(name)
        var ticks = 0
        while try await fixture.deployment(deployment.id).status.isActive, ticks < 10_000 {
            fixture.clock.advance(1)
            try await fixture.engine.tick()
            ticks += 1
        }
        let done = try await fixture.deployment(deployment.id)
        #expect(done.status == .succeeded)
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 2))
        #expect(try await fixture.deploymentMoves().count == policy.schedule.count, "each shift applied exactly once")
        #expect(abs(((done.completeTime ?? 0) - (done.startTime ?? 0)) - (policy.totalDuration ?? 0)) <= 1)
    }

    @Test(arguments: StoreEngine.allCases)
    func alarmTrippedByADatapointRestoresTheAliasInTheSameTick(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        try await fixture.errorsAlarm()
        let deployment = try await fixture.deploy("Linear10PercentEvery1Minute", alarms: ["orders-errors"])
        fixture.clock.advance(60)
        try await fixture.engine.tick()
        #expect(try await fixture.alias().additional?.weight == 0.2)
        try await fixture.putErrors(version: "1", 5)  // the old version's errors do not count against the target
        fixture.clock.advance(1)
        try await fixture.engine.tick()
        #expect(try await fixture.deployment(deployment.id).status == .inProgress)
        try await fixture.putErrors(version: "2", 1)
        fixture.clock.advance(1)
        try await fixture.engine.tick()
        let failed = try await fixture.deployment(deployment.id)
        #expect(failed.status == .failed)
        #expect(failed.error?.code == "ALARM_ACTIVE")
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 1))
        let failure = try #require(try await fixture.events(deployment.id).first { $0.event.kind == "Failed" })
        #expect(failure.event.details["alarm"] == "orders-errors")
        #expect(failure.event.details["weight"] == "20%")
        #expect(failure.event.details["reason"]?.contains("[1]") == true, "the datapoint that decided is in the log")
    }

    @Test(arguments: StoreEngine.allCases)
    func alarmAlreadyInAlarmFailsTheDeploymentBeforeTrafficMoves(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        try await fixture.records.putAlarm(
            AlarmDefinition(
                name: "any-errors", functionName: "orders", metric: "Errors", statistic: .sum, period: 60,
                evaluationPeriods: 1,
                threshold: 1, comparisonOperator: .greaterThanOrEqualToThreshold))
        try await fixture.putErrors(version: "1", 3)
        let deployment = try await fixture.deploy("Canary10Percent5Minutes", alarms: ["any-errors"])
        #expect(deployment.status == .failed)
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 1))
        #expect(try await fixture.deploymentMoves().isEmpty)
    }

    @Test(arguments: StoreEngine.allCases)
    func oneActiveDeploymentPerAliasAndTheConflictNamesIt(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let first = try await fixture.deploy("Canary10Percent5Minutes")
        await expectFailureAsync(.resourceConflict, containing: first.id) {
            _ = try await fixture.deploy("AllAtOnce", to: "3")
        }
        await expectFailureAsync(.resourceConflict, containing: first.id) {
            _ = try await fixture.records.updateAlias(
                function: "orders", name: "live", functionVersion: "3", additionalVersionWeights: nil,
                description: nil, expectedRevisionId: nil, cause: "UpdateAlias")
        }
        await expectFailureAsync(.resourceConflict, containing: first.id) {
            _ = try await fixture.records.deleteAlias(function: "orders", name: "live")
        }
    }

    /// SQLite only: DeleteFunction and cleanup are not on PostgreSQL yet (issue 10 §1 continues).
    @Test func versionsOfAnActiveDeploymentCannotBeDeletedOrCleanedUp() async throws {
        let fixture = try RolloutFixture()
        _ = try fixture.registry.updateAlias(function: "orders", name: "live", functionVersion: "3")
        let deployment = try await fixture.deploy("Canary10Percent5Minutes", to: "1")
        // The alias points at 3 + 1@10%; version 2 is free, 1 and 3 are in the deployment.
        await expectFailureAsync(.resourceConflict) {
            try fixture.registry.deleteFunction(FunctionReference(name: "orders", qualifier: .version(1)))
        }
        let plan = try fixture.registry.cleanup(CleanupRequest(keep: 0), dryRun: true)
        #expect(plan.Deletions.map(\.Version) == [2])
        #expect(plan.Protected["orders:1"]?.contains("deployment \(deployment.id)") == true)
        await expectFailureAsync(.resourceConflict) {
            try fixture.registry.deleteFunction(FunctionReference(name: "orders"))
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func rollbackDuringADeploymentStopsItAndRestoresTheOriginal(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let deployment = try await fixture.deploy("Linear10PercentEvery1Minute")
        fixture.clock.advance(120)
        try await fixture.engine.tick()
        let alias = try await fixture.engine.rollback(function: "orders", alias: "live")
        #expect(alias.FunctionVersion == "1" && alias.RoutingConfig == nil)
        let stopped = try await fixture.deployment(deployment.id)
        #expect(stopped.status == .stopped && stopped.rolledBack)
    }

    /// "Previous" is the newest primary before the current one since the alias was created: found among the
    /// last moves, far back behind many weight-only moves, and never from before a DeleteAlias + CreateAlias.
    @Test(arguments: StoreEngine.allCases)
    func rollbackFindsThePreviousPrimaryHoweverFarBackAndNotBeforeTheAliasWasCreated(
        _ kind: StoreEngine
    )
        async throws
    {
        let fixture = try await EngineFixture.make(kind)
        func update(_ version: String, _ weights: [String: Double]) async throws {
            _ = try await fixture.records.updateAlias(
                function: "orders", name: "live", functionVersion: version, additionalVersionWeights: weights,
                description: nil, expectedRevisionId: nil, cause: "UpdateAlias")
        }
        try await update("2", [:])
        for step in 0..<40 { try await update("2", step == 39 ? [:] : ["3": Double(step % 9 + 1) / 10]) }
        #expect(try await fixture.engine.rollback(function: "orders", alias: "live").FunctionVersion == "1")
        #expect(try await fixture.engine.rollback(function: "orders", alias: "live").FunctionVersion == "2")
        _ = try await fixture.records.deleteAlias(function: "orders", name: "live")
        _ = try await fixture.records.createAlias(
            function: "orders", name: "live", functionVersion: "3", additionalVersionWeights: [:], description: "")
        await expectFailureAsync(.resourceConflict) {
            _ = try await fixture.engine.rollback(function: "orders", alias: "live")
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func stopWithoutRollbackLeavesTheSplitInPlace(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let deployment = try await fixture.deploy("Canary10Percent5Minutes")
        let stopped = try await fixture.engine.stop(id: deployment.id, rollback: false)
        #expect(stopped.status == .stopped && !stopped.rolledBack)
        #expect(try await fixture.alias().additional?.weight == 0.1)
    }

    @Test(arguments: StoreEngine.allCases)
    func functionHookWaitsForItsReportAndTheReportAdvancesAtOnce(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        try await fixture.createFunction("checkFn", marker: "hook")
        let deployment = try await fixture.deploy("AllAtOnce", pre: "checkFn")
        let execution = try #require(deployment.hooks.first)
        #expect(execution.status == .pending && execution.event == .beforeAllowTraffic)
        fixture.clock.advance(30)
        try await fixture.engine.tick()
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 1), "no traffic before the hook reports")
        await expectFailureAsync(.resourceNotFound) {
            _ = try await fixture.engine.reportHook(
                deploymentId: deployment.id, executionId: "nope", status: .succeeded)
        }
        let done = try await fixture.engine.reportHook(
            deploymentId: deployment.id, executionId: execution.executionId, status: .succeeded)
        #expect(done.status == .succeeded)
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 2))
        await expectFailureAsync(.resourceConflict) {
            _ = try await fixture.engine.reportHook(
                deploymentId: deployment.id, executionId: execution.executionId, status: .failed)
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func hookFunctionMustExist(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        await expectFailureAsync(.resourceNotFound, containing: "ghostFn") {
            _ = try await fixture.deploy("AllAtOnce", pre: "ghostFn")
        }
        await expectFailureAsync(.resourceNotFound, containing: "no-such-alarm") {
            _ = try await fixture.deploy("AllAtOnce", alarms: ["no-such-alarm"])
        }
    }

    @Test(arguments: StoreEngine.allCases)
    func hookTimeoutFailsAndRollsBack(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        try await fixture.createFunction("smokeFn", marker: "hook")
        let deployment = try await fixture.deploy("AllAtOnce", post: "smokeFn", hookTimeout: 600)
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 2))
        fixture.clock.advance(600)
        try await fixture.engine.tick()
        let failed = try await fixture.deployment(deployment.id)
        #expect(failed.status == .failed && failed.error?.code == "TIMEOUT")
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 1))
    }

    @Test(arguments: StoreEngine.allCases)
    func anotherProcessContinuesAtTheRightStepWithTheRightRemainingWait(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let deployment = try await fixture.deploy("Linear10PercentEvery1Minute")
        fixture.clock.advance(60)
        try await fixture.engine.tick()
        fixture.clock.advance(30)
        // The first process is gone; a new one opens the same registry.
        let other = try await fixture.openAnother()
        defer { other.close() }
        try await RolloutEngine(store: other.store).tick()
        #expect(try await fixture.alias().additional?.weight == 0.2, "30 s of the 60 s hold remain")
        #expect(try await other.records.deployment(id: deployment.id).nextShiftAt == deployment.createTime + 120)
        fixture.clock.advance(30)
        try await RolloutEngine(store: other.store).tick()
        #expect(try await fixture.alias().additional?.weight == 0.3)
        #expect(try await fixture.deploymentMoves().count == 3)
    }

    @Test(arguments: StoreEngine.allCases)
    func twoControllersTickingAtOnceNeverApplyAStepTwice(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        var others: [(store: any RolloutStore, records: any RegistryRecords, close: @Sendable () -> Void)] = []
        for _ in 0..<3 { others.append(try await fixture.openAnother()) }
        defer { others.forEach { $0.close() } }
        let stores = [fixture.store] + others.map(\.store)
        let deployment = try await fixture.deploy("Linear10PercentEvery1Minute")
        for _ in 0..<10 {
            fixture.clock.advance(60)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores {
                    group.addTask { for _ in 0..<5 { try await RolloutEngine(store: store).tick() } }
                }
                try await group.waitForAll()
            }
        }
        #expect(try await fixture.deployment(deployment.id).status == .succeeded)
        #expect(try await fixture.deploymentMoves().count == 10, "ten shifts, each once")
        #expect(try await fixture.events(deployment.id).filter { $0.event.kind == "Shift" }.count == 10)
    }

    @Test(arguments: StoreEngine.allCases)
    func execHooksRunThroughTheControllerAndFailuresKeepTheirOutput(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let ok = try await fixture.deploy(
            "AllAtOnce", pre: "exec:test \"$RELCTL_TARGET_VERSION\" = 2 && grep -q LifecycleEventHookExecutionId")
        let controller = Controller(engine: fixture.engine, scope: ok.id)
        for _ in 0..<200 where try await fixture.deployment(ok.id).status.isActive {
            try await controller.tick()
            usleep(20_000)
        }
        #expect(try await fixture.deployment(ok.id).status == .succeeded)

        let bad = try await fixture.deploy("AllAtOnce", to: "3", post: "exec:echo smoke test broke; exit 3")
        let second = Controller(engine: fixture.engine, scope: bad.id)
        for _ in 0..<200 where try await fixture.deployment(bad.id).status.isActive {
            try await second.tick()
            usleep(20_000)
        }
        let failed = try await fixture.deployment(bad.id)
        #expect(failed.status == .failed && failed.error?.code == "HOOK_EXECUTION_FAILURE")
        #expect(failed.hooks.first?.output?.contains("smoke test broke") == true)
        #expect(
            try await fixture.alias() == AliasTarget(functionVersion: 2),
            "rolled back to the version before this deployment")
    }

    @Test(arguments: StoreEngine.allCases)
    func anExecHookWhoseRunnerDiedIsRunAgainByAnother(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let deployment = try await fixture.deploy("AllAtOnce", pre: "exec:true")
        let claimed = try await fixture.engine.claimExecHooks(runner: "dead-runner")
        #expect(claimed.count == 1)
        #expect(try await fixture.engine.claimExecHooks(runner: "other").isEmpty, "a live runner's hook is not taken")
        fixture.clock.advance(20)
        let retaken = try await fixture.engine.claimExecHooks(runner: "other")
        #expect(retaken.first?.execution.attempt == 2)
        #expect(retaken.first?.payload["TargetVersion"] == "2")
        _ = try await fixture.engine.reportHook(
            deploymentId: deployment.id, executionId: retaken[0].execution.executionId, status: .succeeded)
        #expect(try await fixture.deployment(deployment.id).status == .succeeded)
    }

    @Test(arguments: StoreEngine.allCases)
    func pauseAndPromoteThroughTheRegistry(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        let deployment = try await fixture.deploy("Canary10Percent30Minutes")
        _ = try await fixture.engine.pause(id: deployment.id)
        fixture.clock.advance(3600)
        try await fixture.engine.tick()
        #expect(try await fixture.alias().additional?.weight == 0.1)
        await expectFailureAsync(.resourceConflict) { _ = try await fixture.engine.promote(id: deployment.id) }
        _ = try await fixture.engine.resume(id: deployment.id)
        let promoted = try await fixture.engine.promote(id: deployment.id)
        #expect(promoted.status == .succeeded)
        #expect(try await fixture.alias() == AliasTarget(functionVersion: 2))
    }

    @Test(arguments: StoreEngine.allCases)
    func alarmListShowsTheStateReasonAndDatapoints(_ kind: StoreEngine) async throws {
        let fixture = try await EngineFixture.make(kind)
        try await fixture.records.putAlarm(
            AlarmDefinition(
                name: "p99", functionName: "orders", metric: "Duration", statistic: .percentile(99), period: 60,
                evaluationPeriods: 2,
                datapointsToAlarm: 2, threshold: 500, comparisonOperator: .greaterThanThreshold))
        #expect(try await fixture.engine.listAlarms().first?.StateValue == "INSUFFICIENT_DATA")
        let samples = (1...1000).map {
            MetricDatapoint(
                functionName: "orders", metric: "Duration", value: Double($0), timestamp: fixture.clock.now())
        }
        try await fixture.engine.putMetricData(samples)
        fixture.clock.advance(60)
        try await fixture.engine.putMetricData(
            samples.map {
                var s = $0; s.timestamp = fixture.clock.now(); return s
            })
        let status = try #require(try await fixture.engine.listAlarms().first)
        #expect(status.StateValue == "ALARM")
        #expect(status.Datapoints.suffix(2).map(\.value) == [990, 990])
        #expect(status.StateReason.contains("990"))
    }
}

/// Expects `body` to throw a RelctlError with `code` whose message contains `text`.
func expectFailureAsync(
    _ code: RelctlError.Code, containing text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(code.awsErrorType), the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RelctlError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let text { #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected a RelctlError, got \(error)", sourceLocation: sourceLocation)
    }
}

func expectFailure(
    _ code: RelctlError.Code, containing text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(code.awsErrorType), the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RelctlError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let text { #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected a RelctlError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("The active deployments a tick reads, kept between ticks (SQLite)")
struct ActiveDeploymentListTests {
    /// The answer is reused between calls while nothing changed: a change made by this registry or by
    /// another process (another `Registry` on the file) must show at once, and each answer must equal
    /// what a registry with nothing remembered reads.
    @Test func everyChangeShowsWhoeverMadeIt() async throws {
        let fixture = try RolloutFixture()
        for name in ["a", "b", "c"] {
            _ = try fixture.registry.createAlias(function: "orders", name: name, functionVersion: "1")
        }
        var ids: [String] = []
        for name in ["a", "b", "c"] {
            ids.append(
                try await fixture.engine.create(
                    DeploymentRequest(
                        function: "orders", alias: name, targetVersion: "2",
                        policy: try RolloutFixture.catalog.policy(named: "Linear10PercentEvery1Minute"))
                ).id)
        }
        let clock = fixture.clock
        let other = try fixture.sandbox.openAnotherRegistry(clock: { clock.now() })
        let otherEngine = RolloutEngine(store: other)
        // By id: created in the same (manual) second, they sort by id.
        func check(_ step: String) throws -> [String: Deployment] {
            let fresh = try fixture.sandbox.openAnotherRegistry(clock: { clock.now() }).activeDeployments()
            let mine = try fixture.registry.activeDeployments()
            #expect(mine == fresh, "after \(step)")
            #expect(try fixture.registry.activeDeployments() == fresh, "asked twice after \(step)")
            return Dictionary(uniqueKeysWithValues: mine.map { ($0.id, $0) })
        }
        #expect(Set(try check("creating").keys) == Set(ids))
        _ = try await otherEngine.pause(id: ids[1])
        #expect(
            try check("a pause by another process").mapValues(\.status) == [
                ids[0]: .inProgress, ids[1]: .paused, ids[2]: .inProgress,
            ])
        _ = try await fixture.engine.resume(id: ids[1])
        #expect(try check("a resume here").values.allSatisfy { $0.status == .inProgress })
        clock.advance(60)
        try await otherEngine.tick()
        #expect(try check("a tick by another process").values.map(\.aliasWeight) == [20, 20, 20])
        _ = try await otherEngine.stop(id: ids[0])
        #expect(Set(try check("a stop by another process").keys) == Set(ids.dropFirst()))
        clock.advance(60)
        try await fixture.engine.tick()
        #expect(try check("a tick here").values.map(\.aliasWeight) == [30, 30])
    }
}
