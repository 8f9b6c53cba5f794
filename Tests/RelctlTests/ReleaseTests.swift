import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore
import Testing

/// Two functions, `orders` and `billing` (versions 1–3 each), alias `live` → 1 on both, on a manual clock.
struct ReleaseFixture {
    let rollout = try! RolloutFixture()
    var clock: ManualClock { rollout.clock }
    var registry: Registry { rollout.registry }
    var engine: RolloutEngine { rollout.engine }
    static let functions = ["orders", "billing"]

    init() throws {
        try rollout.sandbox.create("billing", try rollout.sandbox.code("b0"))
        for index in 1...3 { try rollout.sandbox.publishNewCode("billing", "b\(index)") }
        _ = try registry.createAlias(function: "billing", name: "live", functionVersion: "1")
    }

    func release(
        _ name: String = "checkout", policy: String, to version: String = "2", alarms: [String] = [],
        pre: String? = nil, post: String? = nil
    ) async throws -> ReleaseGroup {
        try await engine.createRelease(
            ReleaseRequest(
                name: name,
                members: Self.functions.map { ReleaseMemberSpec(function: $0, alias: "live", version: version) },
                policy: try RolloutFixture.catalog.policy(named: policy), preTrafficHook: pre, postTrafficHook: post,
                alarms: alarms))
    }

    func alias(_ function: String) throws -> AliasTarget {
        let alias = try registry.getAlias(function: function, name: "live")
        return try AliasTarget.from(
            functionVersion: try AliasTarget.parseVersion(alias.FunctionVersion),
            additionalVersionWeights: alias.RoutingConfig?.AdditionalVersionWeights ?? [:])
    }

    /// Every member's alias, in member order.
    func aliases() throws -> [AliasTarget] { try Self.functions.map(alias) }

    /// The moves a release made on `function:live` (oldest first): time and where it went.
    func releaseMoves(_ function: String) throws -> [String] {
        try registry.history(function: function, alias: "live")
            .filter { $0.Action.hasPrefix("Release") || $0.Action.hasPrefix("Rollback r-") }
            .reversed().map { "\($0.Time) \($0.To ?? "")" }
    }
}

@Suite("Release groups: several aliases in lockstep")
struct ReleaseTests {
    @Test func memberSpecsNameFunctionAliasAndVersion() throws {
        #expect(
            try ReleaseMemberSpec.parse("orders:live=7")
                == ReleaseMemberSpec(function: "orders", alias: "live", version: "7"))
        for bad in ["orders", "orders:live", "orders=7", ":live=7", "orders:=7", "orders:live="] {
            #expect(throws: RelctlError.self) { try ReleaseMemberSpec.parse(bad) }
        }
        do {
            _ = try ReleaseMemberSpec.parse("orders=7")
        } catch {
            #expect(
                error.message == "--member 'orders=7' is not allowed: use FUNCTION:ALIAS=VERSION, e.g. orders:live=8.")
        }
    }

    /// Every step moves every member to the same weight in the same transaction (the same
    /// instant in the alias history), and the group ends with every member on its target.
    @Test func everyStepSetsEveryMembersWeightTogether() async throws {
        let fixture = try ReleaseFixture()
        let release = try await fixture.release(policy: "Linear10PercentEvery1Minute")
        #expect(release.status == .inProgress)
        #expect(
            try fixture.aliases()
                == Array(
                    repeating: AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1)), count: 2))
        var observed: [Double] = []
        for _ in 0..<12 {
            fixture.clock.advance(60)
            try await fixture.engine.tickReleases()
            let aliases = try fixture.aliases()
            #expect(aliases[0] == aliases[1], "both members on the same step: \(aliases)")
            observed.append(
                aliases[0].additional.map { $0.weight * 100 } ?? (aliases[0].functionVersion == 2 ? 100 : 0))
        }
        #expect(observed.prefix(9).map { $0.rounded() } == [20, 30, 40, 50, 60, 70, 80, 90, 100])
        let done = try fixture.registry.release(release.id)
        #expect(done.status == .succeeded)
        #expect(done.members.allSatisfy { $0.aliasWeight == 100 })
        #expect(try fixture.aliases() == [AliasTarget(functionVersion: 2), AliasTarget(functionVersion: 2)])
        let orders = try fixture.releaseMoves("orders")
        #expect(orders.count == 10, "each of the ten steps moved orders once: \(orders)")
        #expect(
            orders == (try fixture.releaseMoves("billing")), "billing moved at the same instants to the same weights")
        let kinds = try fixture.registry.releaseEvents(id: release.id).map(\.event.kind)
        #expect(kinds == ["Created", "Start"] + Array(repeating: "Shift", count: 10) + ["Succeeded"])
        // The event log has each shift once per member, under the release's id.
        let shifted = try fixture.registry.listEvents(after: 0, filter: EventFilter(types: [.weightShifted])).filter {
            $0.deploymentId == release.id
        }
        #expect(shifted.count == 20)
        #expect(Set(shifted.compactMap(\.function)) == ["orders", "billing"])
    }

    /// One member's alarm breaching rolls every member back before the metric write returns.
    @Test func oneMembersAlarmRestoresEveryMemberInOneTransaction() async throws {
        let fixture = try ReleaseFixture()
        try fixture.registry.putAlarm(
            AlarmDefinition(
                name: "billing-errors", functionName: "billing", executedVersion: "target", metric: "Errors",
                statistic: .sum,
                period: 60, evaluationPeriods: 1, threshold: 1, comparisonOperator: .greaterThanOrEqualToThreshold,
                treatMissingData: .notBreaching))
        let release = try await fixture.release(policy: "Linear10PercentEvery10Minutes", alarms: ["billing-errors"])
        fixture.clock.advance(600)
        try await fixture.engine.tickReleases()
        #expect(try fixture.aliases().allSatisfy { $0.additional?.weight == 0.2 })
        // Errors on billing's old version are not the target's: nothing happens.
        try await fixture.engine.putMetricData([
            MetricDatapoint(
                functionName: "billing", executedVersion: "1", metric: "Errors", value: 5,
                timestamp: fixture.clock.now())
        ])
        #expect(try fixture.registry.release(release.id).status == .inProgress)
        try await fixture.engine.putMetricData([
            MetricDatapoint(
                functionName: "billing", executedVersion: "2", metric: "Errors", value: 1,
                timestamp: fixture.clock.now())
        ])
        let failed = try fixture.registry.release(release.id)
        #expect(failed.status == .failed)
        #expect(failed.machine.error?.code == "ALARM_ACTIVE")
        #expect(
            failed.machine.error?.message.contains("Alarm billing-errors is in ALARM at 20% on every member") == true,
            "\(failed.machine.error?.message ?? "")")
        #expect(try fixture.aliases() == [AliasTarget(functionVersion: 1), AliasTarget(functionVersion: 1)])
        #expect(failed.members.allSatisfy { $0.aliasWeight == 0 })
        let orders = try fixture.releaseMoves("orders")
        let billing = try fixture.releaseMoves("billing")
        #expect(
            orders.count == 3 && orders == billing,
            "10%, 20%, then restored, both at the same instants: \(orders) vs \(billing)")
        let rollback = try #require(
            try fixture.registry.releaseEvents(id: release.id).last { $0.event.kind == "Rollback" })
        #expect(
            rollback.event.message.hasPrefix(
                "Every member restored to its original version (orders:live → 1, billing:live → 1)"))
        // The aliases are free again: a new release (or deployment) may take them.
        _ = try await fixture.release(policy: "AllAtOnce", to: "3")
        #expect(try fixture.aliases() == [AliasTarget(functionVersion: 3), AliasTarget(functionVersion: 3)])
    }

    @Test func anAliasOwnedByADeploymentOrAReleaseIsRefused() async throws {
        let fixture = try ReleaseFixture()
        let deployment = try await fixture.rollout.deploy("Canary10Percent30Minutes")
        let refused = await expectRelctlErrorAsync(.resourceConflict) { try await fixture.release(policy: "AllAtOnce") }
        #expect(refused?.message.contains(deployment.id) == true)
        #expect(
            try fixture.alias("billing") == AliasTarget(functionVersion: 1),
            "nothing of the refused release was applied")
        _ = try await fixture.engine.stop(id: deployment.id)

        let release = try await fixture.release(policy: "Canary10Percent30Minutes")
        let expected =
            "Alias orders:live belongs to release checkout (\(release.id)), which is InProgress; stop it (`relctl release stop checkout`) or wait for it to finish."
        await expectRelctlErrorAsync(.resourceConflict, message: expected) {
            try await fixture.rollout.deploy("AllAtOnce", to: "3")
        }
        await expectRelctlErrorAsync(
            .resourceConflict, messagePrefix: "Release checkout (\(release.id)) is already InProgress"
        ) {
            try await fixture.release(policy: "AllAtOnce", to: "3")
        }
        await expectRelctlErrorAsync(.resourceConflict, messagePrefix: "Alias orders:live belongs to release checkout")
        {
            try await fixture.engine.createRelease(
                ReleaseRequest(
                    name: "other", members: [.init(function: "orders", alias: "live", version: "3")],
                    policy: try RolloutFixture.catalog.policy(named: "AllAtOnce")))
        }
        await expectRelctlErrorAsync(.resourceConflict, messagePrefix: "Alias billing:live belongs to release checkout")
        {
            try await fixture.engine.rollback(function: "billing", alias: "live")
        }
        await expectRelctlErrorAsync(.invalidParameterValue, messagePrefix: "--member orders:live is given twice") {
            try await fixture.engine.createRelease(
                ReleaseRequest(
                    name: "twice",
                    members: [
                        .init(function: "orders", alias: "live", version: "3"),
                        .init(function: "orders", alias: "live", version: "2"),
                    ],
                    policy: try RolloutFixture.catalog.policy(named: "AllAtOnce")))
        }
        await expectRelctlErrorAsync(.invalidParameterValue, messagePrefix: "Release name 'no spaces' is not allowed") {
            try await fixture.release("no spaces", policy: "AllAtOnce")
        }
    }

    @Test func stopPromotePauseAndResumeActOnTheWholeGroup() async throws {
        let fixture = try ReleaseFixture()
        let first = try await fixture.release(policy: "Canary10Percent30Minutes")
        let paused = try await fixture.engine.pauseRelease("checkout")
        #expect(paused.status == .paused)
        fixture.clock.advance(3600)
        try await fixture.engine.tickReleases()
        #expect(try fixture.aliases().allSatisfy { $0.additional?.weight == 0.1 }, "a paused release holds")
        _ = try await fixture.engine.resumeRelease(first.id)
        let promoted = try await fixture.engine.promoteRelease("checkout")
        #expect(promoted.status == .succeeded)
        #expect(try fixture.aliases() == [AliasTarget(functionVersion: 2), AliasTarget(functionVersion: 2)])
        await expectRelctlErrorAsync(
            .resourceConflict, messagePrefix: "Release checkout (\(first.id)) is already Succeeded"
        ) {
            try await fixture.engine.stopRelease(first.id)
        }

        let second = try await fixture.release(policy: "Linear10PercentEvery10Minutes", to: "3")
        #expect(second.members.map(\.currentVersion) == [2, 2])
        fixture.clock.advance(600)
        try await fixture.engine.tickReleases()
        let stopped = try await fixture.engine.stopRelease("checkout")
        #expect(stopped.id == second.id, "a name means the newest release of that name")
        #expect(stopped.status == .stopped)
        #expect(stopped.machine.error?.code == "MANUAL_STOP")
        #expect(try fixture.aliases() == [AliasTarget(functionVersion: 2), AliasTarget(functionVersion: 2)])
        #expect(try fixture.registry.listReleases().map(\.id) == [second.id, first.id])
    }

    /// A post-traffic hook reporting Failed after 100% restores every member.
    @Test func aFailedHookRollsBackEveryMember() async throws {
        let fixture = try ReleaseFixture()
        let release = try await fixture.release(policy: "AllAtOnce", post: "orders")
        #expect(try fixture.aliases() == [AliasTarget(functionVersion: 2), AliasTarget(functionVersion: 2)])
        let claimed = try await fixture.engine.claimFunctionHooks(runner: "test")
        let hook = try #require(claimed.first { $0.deploymentId == release.id })
        #expect(hook.payload["ReleaseName"] == "checkout")
        #expect(hook.payload["Members"] == "orders:live=1->2,billing:live=1->2")
        let reported = try await fixture.engine.reportHook(
            deploymentId: release.id, executionId: hook.execution.executionId, status: .failed,
            output: "smoke test failed")
        #expect(reported.status == .failed)
        let failed = try fixture.registry.release(release.id)
        #expect(failed.machine.error?.code == "HOOK_EXECUTION_FAILURE")
        #expect(try fixture.aliases() == [AliasTarget(functionVersion: 1), AliasTarget(functionVersion: 1)])
    }

    /// While a release holds an alias, hand moves (UpdateAlias, DeleteAlias) are refused and name the release.
    @Test func aMemberCannotBeMovedByHandMidRelease() async throws {
        let fixture = try ReleaseFixture()
        let release = try await fixture.release(policy: "Linear10PercentEvery10Minutes")
        let expected =
            "Release checkout (\(release.id)) is shifting traffic on orders:live; cannot move the alias by hand now (`relctl release stop checkout` restores every member)."
        await expectRelctlErrorAsync(.resourceConflict, message: expected) {
            try fixture.registry.updateAlias(
                function: "orders", name: "live", functionVersion: "3", additionalVersionWeights: [:])
        }
        await expectRelctlErrorAsync(.resourceConflict, messagePrefix: "Release checkout") {
            try fixture.registry.deleteAlias(function: "billing", name: "live")
        }
        // The versions a release shifts between are protected from cleanup as a deployment's are.
        let plan = try fixture.registry.cleanup(CleanupRequest(keep: 0), dryRun: true)
        #expect(plan.Protected["billing:2"]?.contains("release \(release.id)") == true, "\(plan.Protected)")
        #expect(plan.Protected["orders:1"]?.contains("release \(release.id)") == true)
        fixture.clock.advance(600)
        try await fixture.engine.tickReleases()
        #expect(try fixture.aliases().allSatisfy { $0.additional?.weight == 0.2 })
    }

    /// Two engines (two processes' registries on one data directory) ticking the same release at
    /// once: each step is applied exactly once, and no member is ever on a different step.
    @Test func concurrentEnginesApplyEachStepOnce() async throws {
        let fixture = try ReleaseFixture()
        let clock = fixture.clock
        let other = RolloutEngine(store: try fixture.rollout.sandbox.openAnotherRegistry(clock: { clock.now() }))
        let release = try await fixture.release(policy: "Linear10PercentEvery1Minute")
        for _ in 0..<10 {
            fixture.clock.advance(60)
            async let mine = fixture.engine.tickReleases()
            async let theirs = other.tickReleases()
            _ = try await (mine, theirs)
            let aliases = try fixture.aliases()
            #expect(aliases[0] == aliases[1])
        }
        #expect(try fixture.registry.release(release.id).status == .succeeded)
        #expect(try fixture.releaseMoves("orders").count == 10)
        #expect(try fixture.releaseMoves("billing").count == 10)
        #expect(try fixture.registry.releaseEvents(id: release.id).filter { $0.event.kind == "Shift" }.count == 10)
    }
}
