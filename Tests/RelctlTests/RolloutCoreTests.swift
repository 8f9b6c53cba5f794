import Foundation
import RelctlCore
import RelctlRollout
import Testing

// The rollout controller's pure parts: policies and their timing, CloudWatch's alarm rules, and
// the deployment state machine driven by hand-fed times (no clock, no database).

@Suite("Deployment policies")
struct PolicyTests {
    static let catalog = try! PolicyCatalog(customFolder: nil)

    /// Expected shifts (percent, seconds after t0) for each of CodeDeploy's presets, as relctl pins them.
    static let presets: [(String, [(Double, Double)])] = [
        ("AllAtOnce", [(100, 0)]),
        ("Canary10Percent5Minutes", [(10, 0), (100, 300)]),
        ("Canary10Percent10Minutes", [(10, 0), (100, 600)]),
        ("Canary10Percent15Minutes", [(10, 0), (100, 900)]),
        ("Canary10Percent30Minutes", [(10, 0), (100, 1800)]),
        ("Linear10PercentEvery1Minute", (1...10).map { (Double($0 * 10), Double(($0 - 1) * 60)) }),
        ("Linear10PercentEvery2Minutes", (1...10).map { (Double($0 * 10), Double(($0 - 1) * 120)) }),
        ("Linear10PercentEvery3Minutes", (1...10).map { (Double($0 * 10), Double(($0 - 1) * 180)) }),
        ("Linear10PercentEvery10Minutes", (1...10).map { (Double($0 * 10), Double(($0 - 1) * 600)) }),
    ]

    @Test(arguments: presets.map(\.0))
    func everyPresetHasItsPinnedScheduleUnderBothNames(_ name: String) throws {
        let expected = try #require(Self.presets.first { $0.0 == name }).1
        let policy = try Self.catalog.policy(named: name)
        #expect(policy.schedule.count == expected.count)
        for (shift, (percent, offset)) in zip(policy.schedule, expected) {
            #expect(abs(shift.percent - percent) < 1e-9)
            #expect(
                shift.offset.map { abs($0 - offset) < 1e-6 } == true,
                "\(name): \(shift.percent)% at \(String(describing: shift.offset)), expected \(offset)")
        }
        let full = try Self.catalog.policy(named: "CodeDeployDefault.Lambda\(name)")
        #expect(full == policy)
    }

    @Test func aStageIsTheSameWhetherAskedByIndexOrFromTheList() throws {
        var policies = try Self.presets.map { try PolicyCatalog(customFolder: nil).policy(named: $0.0) }
        policies.append(DeploymentPolicy(name: "Odd", kind: .linear(percentage: 7.3, interval: 30)))
        policies.append(DeploymentPolicy(name: "Fine", kind: .linear(percentage: 1, interval: 1)))
        policies.append(
            DeploymentPolicy(
                name: "S", kind: .steps([.weight(percent: 5, hold: 60), .pause, .weight(percent: 50, hold: 1)])))
        for policy in policies {
            let stages = policy.stages
            for index in -1...(stages.count + 2) {
                #expect(
                    policy.stage(at: index) == (stages.indices.contains(index) ? stages[index] : nil),
                    "\(policy.name) \(index)")
            }
        }
    }

    @Test func shippedFolderMatchesTheEmbeddedList() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("policies")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        #expect(files.count == 9)
        #expect(Self.catalog.entries.filter { $0.policy.source.hasPrefix("shipped") }.count == files.count)
    }

    @Test func customShapesAndStepsParseIncludingPauseAndSeveralDocuments() throws {
        let entries = try PolicyParser.parse(
            """
            name: Canary20Percent30Seconds
            type: Canary
            percentage: 20
            interval: 30s
            ---
            name: Careful
            type: Steps
            steps:
              - weight: 1
                hold: 1m
              - weight: 10
                hold: 5m
              - pause
              - weight: 50
                hold: 10m
            """, source: "test.yaml")
        #expect(entries.map(\.policy.name) == ["Canary20Percent30Seconds", "Careful"])
        #expect(entries[0].policy.schedule.map(\.offset) == [0, 30])
        let careful = entries[1].policy.schedule
        #expect(careful.map(\.percent) == [1, 10, 50, 100])
        #expect(careful.map(\.offset) == [0, 60, nil, nil])
        #expect(careful.map(\.waitsForPromote) == [false, false, true, false])
        #expect(entries[1].policy.totalDuration == nil)
    }

    @Test(arguments: [
        (
            "name: A\ntype: Steps\nsteps:\n  - weight: 20\n    hold: 1m\n  - weight: 10\n    hold: 1m\n",
            "does not increase"
        ),
        ("name: A\ntype: Steps\nsteps:\n  - weight: 120\n    hold: 1m\n", "outside (0, 100]"),
        ("name: A\ntype: Canary\npercentage: 0\ninterval: 1m\n", "outside (0, 100]"),
        ("name: A\ntype: Canary\npercentage: 10\ninterval: 5\n", "duration with a unit"),
        ("name: A\ntype: Canary\npercentage: 10\ninterval: 5 fortnights\n", "Invalid duration"),
        ("name: A\ntype: Canary\npercentage: 10\ninterval: 1m\ncolor: blue\n", "unknown field color"),
        ("name: A\ntype: Steps\nsteps:\n  - weight: 10\n    hold: 1m\n    wait: 2m\n", "unknown field wait"),
        ("name: A\ntype: Blue\n", "unknown type 'Blue'"),
        ("type: Canary\n", "`name`"),
        ("name: A\ntype: AllAtOnce\n---\nname: A\ntype: AllAtOnce\n", "duplicate policy name A"),
        ("name: [unclosed\n", "not valid YAML"),
    ])
    func invalidPoliciesAreRefusedWithAMessageThatSaysWhy(_ yaml: String, _ expected: String) {
        do {
            _ = try PolicyParser.parse(yaml, source: "p.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.code == .invalidParameterValue)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    // MARK: Bounds (a Linear 1e-300% once built 1e302 stages)

    @Test(arguments: [1e-300, 0.0001, 0.5, 0.999])
    func aLinearPercentageThatTakesMoreThanAHundredShiftsIsRefused(_ percentage: Double) {
        let policy = DeploymentPolicy(name: "Tiny", kind: .linear(percentage: percentage, interval: 60))
        let error = expectRelctlError(.invalidParameterValue) { try policy.validate() }
        #expect(
            error?.message.hasPrefix(
                "Policy Tiny: a Linear percentage of \(DeploymentPolicy.percentText(percentage)) takes ") == true)
        #expect(
            error?.message.hasSuffix(
                "shifts to reach 100%; at most 100 are allowed, so the percentage must be at least 1%.") == true,
            "\(String(describing: error?.message))")
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity, -1, 0])
    func aPercentageThatIsNotANumberInRangeIsRefused(_ percentage: Double) {
        for kind in [
            DeploymentPolicy.Kind.linear(percentage: percentage, interval: 60),
            .canary(percentage: percentage, interval: 60),
            .steps([.weight(percent: percentage, hold: 60)]),
        ] {
            let error = expectRelctlError(.invalidParameterValue) {
                try DeploymentPolicy(name: "Odd", kind: kind).validate()
            }
            #expect(error?.message.contains("is outside (0, 100]") == true, "\(String(describing: error?.message))")
        }
    }

    @Test func linearAtOnePercentIsTheFinestAllowedAndMakesExactlyAHundredShifts() throws {
        let policy = DeploymentPolicy(name: "Fine", kind: .linear(percentage: 1, interval: 60))
        try policy.validate()
        #expect(policy.schedule.count == DeploymentPolicy.maxShifts)
        #expect(policy.schedule.map(\.percent) == (1...100).map(Double.init))
        try DeploymentPolicy(name: "Odd", kind: .linear(percentage: 1.5, interval: 60)).validate()
    }

    @Test func evenAPolicyThatWasNeverValidatedExpandsToAtMostAHundredShifts() {
        for percentage in [1e-300, 0.0001, -5] {
            #expect(
                DeploymentPolicy(name: "Tiny", kind: .linear(percentage: percentage, interval: 60)).schedule.count
                    <= DeploymentPolicy.maxShifts)
        }
        #expect(DeploymentPolicy(name: "NaN", kind: .linear(percentage: .nan, interval: 60)).schedule.count == 1)
    }

    @Test func aStepsPolicyHasAtMostNinetyNineSteps() throws {
        let steps = (1...99).map { DeploymentPolicy.Stage.weight(percent: Double($0), hold: 1) }
        try DeploymentPolicy(name: "Many", kind: .steps(steps)).validate()
        let error = expectRelctlError(.invalidParameterValue) {
            try DeploymentPolicy(name: "TooMany", kind: .steps(steps + [.pause])).validate()
        }
        #expect(
            error?.message
                == "Policy TooMany: a Steps policy has at most 99 steps (the final 100% makes 100 shifts); this one has 100."
        )
    }

    @Test func aPolicyFileWithATinyLinearPercentageIsRefusedByTheParser() {
        let error = expectRelctlError(.invalidParameterValue) {
            try PolicyParser.parse(
                "name: Tiny\ntype: Linear\npercentage: 1.0e-300\ninterval: 30s\n", source: "tiny.yaml")
        }
        #expect(
            error?.message.hasPrefix(
                "tiny.yaml: Policy Tiny: a Linear percentage of 1e-300% takes more than a billion shifts") == true,
            "\(String(describing: error?.message))")
    }

    @Test func customPolicyCannotReuseAShippedName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "name: AllAtOnce\ntype: AllAtOnce\n".write(
            to: folder.appendingPathComponent("mine.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: RelctlError.self) { try PolicyCatalog(customFolder: folder) }
    }

    @Test func deploymentConfigsCreatedOverTheApiAreInTheSameCatalogue() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "name: Careful\ntype: Canary\npercentage: 5\ninterval: 30s\n".write(
            to: folder.appendingPathComponent("careful.yaml"), atomically: true, encoding: .utf8)
        let canary = #"{"timeBasedCanary":{"canaryInterval":5,"canaryPercentage":15},"type":"TimeBasedCanary"}"#
        let catalog = try PolicyCatalog(
            customFolder: folder, deploymentConfigs: [(name: "Api15Percent5Minutes", definition: canary)])
        #expect(try catalog.policy(named: "Api15Percent5Minutes").kind == .canary(percentage: 15, interval: 300))
        #expect(try catalog.policy(named: "Careful").kind == .canary(percentage: 5, interval: 30))
        #expect(try catalog.policy(named: "CodeDeployDefault.LambdaAllAtOnce").kind == .allAtOnce)
        // One name-clash rule for all three sources.
        let clash = expectRelctlError(.invalidParameterValue) {
            try PolicyCatalog(customFolder: folder, deploymentConfigs: [(name: "Careful", definition: canary)])
        }
        #expect(
            clash?.message.contains("Duplicate policy name Careful") == true, "\(String(describing: clash?.message))")
        let broken = expectRelctlError(.invalidParameterValue) {
            try PolicyCatalog(
                customFolder: nil,
                deploymentConfigs: [
                    (
                        name: "Tiny",
                        definition:
                            #"{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":1e-300,"linearInterval":1}}"#
                    )
                ])
        }
        #expect(
            broken?.message.hasPrefix(
                "Deployment config Tiny (CreateDeploymentConfig): linearPercentage must be a whole number") == true,
            "\(String(describing: broken?.message))")
    }

    @Test func durationsParseAndFormat() throws {
        #expect(try DurationText.parse("45s") == 45)
        #expect(try DurationText.parse("5m") == 300)
        #expect(try DurationText.parse("1h30m") == 5400)
        #expect(try DurationText.parse("500ms") == 0.5)
        #expect(throws: RelctlError.self) { try DurationText.parse("5") }
        #expect(throws: RelctlError.self) { try DurationText.parse("m") }
        #expect(DurationText.format(5400) == "1h30m")
        #expect(DurationText.format(540) == "9m")
    }
}

@Suite("CloudWatch alarm evaluation")
struct AlarmEvaluationTests {
    static func periods(_ pattern: String) -> [AlarmEvaluation.Datapoint] {
        // 0 = not breaching (0.0), X = breaching (5.0), - = missing; threshold 3, >=.
        pattern.split(separator: " ").enumerated().map { index, cell in
            AlarmEvaluation.Datapoint(periodStart: Double(index) * 60, value: cell == "-" ? nil : (cell == "X" ? 5 : 0))
        }
    }

    static func alarm(m: Int, n: Int, missing: TreatMissingData) -> AlarmDefinition {
        AlarmDefinition(
            name: "a", functionName: "f", metric: "Errors", statistic: .sum, period: 60, evaluationPeriods: n,
            datapointsToAlarm: m, threshold: 3, comparisonOperator: .greaterThanOrEqualToThreshold,
            treatMissingData: missing)
    }

    /// CloudWatch's documented table for 3 out of 3 (MISSING, IGNORE, BREACHING, NOT BREACHING); "keep" = retain state.
    static let threeOfThree: [(String, [String])] = [
        ("0 - X - X", ["OK", "OK", "OK", "OK"]),
        ("0 - - - -", ["OK", "OK", "OK", "OK"]),
        ("- - - - -", ["INSUFFICIENT_DATA", "keep", "ALARM", "OK"]),
        ("0 X X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
        ("- - - - X", ["INSUFFICIENT_DATA", "keep", "ALARM", "OK"]),
        ("X - - - -", ["ALARM", "keep", "ALARM", "OK"]),
    ]

    /// The documented table for 2 out of 3.
    static let twoOfThree: [(String, [String])] = [
        ("0 - X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
        ("0 0 X 0 X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
        ("0 - X - -", ["OK", "OK", "ALARM", "OK"]),
        ("- - - - 0", ["OK", "OK", "ALARM", "OK"]),
        ("- - - - X", ["INSUFFICIENT_DATA", "keep", "ALARM", "OK"]),
    ]

    static func check(_ rows: [(String, [String])], m: Int) {
        let policies: [TreatMissingData] = [.missing, .ignore, .breaching, .notBreaching]
        for (pattern, expected) in rows {
            for (policy, want) in zip(policies, expected) {
                for previous in [AlarmState.ok, .alarm] {
                    let result = AlarmEvaluator.evaluate(
                        alarm(m: m, n: 3, missing: policy), periods: periods(pattern), previous: previous)
                    let wanted = want == "keep" ? previous.rawValue : want
                    #expect(
                        result.state.rawValue == wanted,
                        "\(m)/3 \(pattern) \(policy) (was \(previous)): \(result.state) — \(result.reason)")
                }
            }
        }
    }

    @Test func threeOutOfThreeMatchesCloudWatchsTable() { Self.check(Self.threeOfThree, m: 3) }
    @Test func twoOutOfThreeMatchesCloudWatchsTable() { Self.check(Self.twoOfThree, m: 2) }

    @Test func statisticsAggregateOnePeriod() throws {
        let samples = (1...10_000).map(Double.init).shuffled()
        #expect(Statistic.sum.aggregate([1, 2, 3]) == 6)
        #expect(Statistic.average.aggregate([1, 2, 3]) == 2)
        #expect(Statistic.sampleCount.aggregate([1, 2, 3]) == 3)
        #expect(Statistic.minimum.aggregate([4, 2, 3]) == 2)
        #expect(Statistic.maximum.aggregate([4, 2, 3]) == 4)
        #expect(Statistic.percentile(99).aggregate(samples) == 9900)
        #expect(Statistic.percentile(50).aggregate(samples) == 5000)
        #expect(Statistic.sum.aggregate([]) == nil)
        #expect(try Statistic(parsing: "p99.9") == .percentile(99.9))
        #expect(throws: RelctlError.self) { try Statistic(parsing: "p100") }
        #expect(throws: RelctlError.self) { try Statistic(parsing: "Median") }
    }

    @Test func alarmDefinitionsFollowPutMetricAlarmsRules() {
        var definition = Self.alarm(m: 1, n: 1, missing: .missing)
        #expect(throws: Never.self) { try definition.validate() }
        definition.period = 45
        #expect(throws: RelctlError.self) { try definition.validate() }
        definition.period = 60
        definition.datapointsToAlarm = 2
        #expect(throws: RelctlError.self) { try definition.validate() }
        definition.datapointsToAlarm = 1
        definition.evaluationPeriods = 1441
        #expect(throws: RelctlError.self) { try definition.validate() }
    }
}

/// Drives the pure state machine with explicit times.
struct MachineDriver {
    var deployment: Deployment
    var alarms: [String: AlarmObservation] = [:]
    var weights: [Double] = []
    var restored = 0
    var events: [DeploymentEvent] = []
    var started: [HookExecution] = []
    var counter = 0

    init(
        _ policy: DeploymentPolicy, pre: String? = nil, post: String? = nil, alarms: [String] = [],
        hookTimeout: Double = 3600, autoRollback: Bool = true
    ) {
        deployment = Deployment(
            id: "d-TEST", functionName: "orders", alias: "live", currentVersion: 1, targetVersion: 2, policy: policy,
            preTrafficHook: pre, postTrafficHook: post, alarms: alarms, hookTimeout: hookTimeout,
            autoRollback: autoRollback,
            createTime: 0)
        for name in alarms { self.alarms[name] = AlarmObservation(state: .ok, reason: "fine") }
    }

    mutating func absorb(_ actions: [DeploymentAction]) {
        for action in actions {
            switch action {
            case .setWeight(let percent): weights.append(percent)
            case .restoreOriginal: restored += 1
            case .startHook(let execution): started.append(execution)
            case .record(let event): events.append(event)
            }
        }
    }

    mutating func tick(_ now: Double) {
        var counter = self.counter
        let actions = deployment.tick(
            now: now, alarms: alarms,
            newExecutionId: {
                counter += 1; return "exec-\(counter)"
            })
        self.counter = counter
        absorb(actions)
    }
}

@Suite("Deployment state machine")
struct DeploymentMachineTests {
    static let canary = DeploymentPolicy(name: "C", kind: .canary(percentage: 10, interval: 300))
    static let linear = DeploymentPolicy(name: "L", kind: .linear(percentage: 10, interval: 60))

    @Test func canaryShiftsTenPercentThenAllAtFiveMinutes() {
        var driver = MachineDriver(Self.canary)
        driver.tick(0)
        #expect(driver.weights == [10])
        #expect(driver.deployment.nextShiftAt == 300)
        driver.tick(299.9)
        #expect(driver.weights == [10])
        driver.tick(300)
        #expect(driver.weights == [10, 100])
        #expect(driver.deployment.status == .succeeded)
        #expect(driver.deployment.completeTime == 300)
    }

    @Test func linearReachesOneHundredAtNineIntervalsAndEachShiftOnce() {
        var driver = MachineDriver(Self.linear)
        for second in stride(from: 0.0, through: 600, by: 0.5) { driver.tick(second) }
        #expect(driver.weights == (1...10).map { Double($0 * 10) })
        #expect(driver.deployment.completeTime == 540)
    }

    @Test func allAtOnceWithoutHooksFinishesInOneTick() {
        var driver = MachineDriver(DeploymentPolicy(name: "A", kind: .allAtOnce))
        driver.tick(5)
        #expect(driver.weights == [100])
        #expect(driver.deployment.status == .succeeded)
    }

    @Test func preTrafficHookGatesTrafficAndItsFailureLeavesTheAliasAlone() throws {
        var driver = MachineDriver(Self.canary, pre: "checkFn")
        driver.tick(0)
        #expect(driver.weights.isEmpty)
        let execution = try #require(driver.started.first)
        #expect(execution.event == .beforeAllowTraffic && execution.status == .pending)
        driver.tick(100)
        #expect(driver.weights.isEmpty, "still waiting for the hook")
        driver.absorb(
            try driver.deployment.reportHook(
                executionId: execution.executionId, status: .failed, output: "nope", now: 101))
        driver.tick(101)
        #expect(driver.deployment.status == .failed)
        #expect(driver.deployment.error?.code == "HOOK_EXECUTION_FAILURE")
        #expect(driver.weights.isEmpty)
    }

    @Test func postTrafficHookFailureRollsBackFromOneHundredPercent() throws {
        var driver = MachineDriver(DeploymentPolicy(name: "A", kind: .allAtOnce), post: "smokeFn")
        driver.tick(0)
        #expect(driver.weights == [100])
        let execution = try #require(driver.started.first { $0.event == .afterAllowTraffic })
        driver.absorb(
            try driver.deployment.reportHook(executionId: execution.executionId, status: .failed, output: nil, now: 3))
        driver.tick(3)
        #expect(driver.deployment.status == .failed)
        #expect(driver.restored == 1)
        #expect(driver.deployment.rolledBack)
    }

    @Test func hookThatNeverReportsTimesOut() {
        var driver = MachineDriver(Self.canary, pre: "checkFn", hookTimeout: 600)
        driver.tick(0)
        driver.tick(599)
        #expect(driver.deployment.status == .inProgress)
        driver.tick(600)
        #expect(driver.deployment.status == .failed)
        #expect(driver.deployment.error?.code == "TIMEOUT")
    }

    @Test func alarmMidStepRollsBackAtOnce() {
        var driver = MachineDriver(Self.linear, alarms: ["errors"])
        driver.tick(0)
        driver.tick(60)
        #expect(driver.weights == [10, 20])
        driver.alarms["errors"] = AlarmObservation(state: .alarm, reason: "3 errors")
        driver.tick(75)
        #expect(driver.deployment.status == .failed)
        #expect(driver.deployment.error?.code == "ALARM_ACTIVE")
        #expect(driver.restored == 1)
        #expect(
            driver.events.contains {
                $0.kind == "Failed" && $0.details["weight"] == "20%" && $0.details["reason"] == "3 errors"
            })
    }

    @Test func alarmAlreadyInAlarmAtStartFailsBeforeAnyTrafficMoves() {
        var driver = MachineDriver(Self.canary, alarms: ["errors"])
        driver.alarms["errors"] = AlarmObservation(state: .alarm, reason: "already bad")
        driver.tick(0)
        #expect(driver.deployment.status == .failed)
        #expect(driver.weights.isEmpty)
    }

    @Test func insufficientDataDoesNotFailADeployment() {
        var driver = MachineDriver(Self.canary, alarms: ["errors"])
        driver.alarms["errors"] = AlarmObservation(state: .insufficientData, reason: "no data")
        driver.tick(0)
        driver.tick(300)
        #expect(driver.deployment.status == .succeeded)
    }

    @Test func stopWithAndWithoutRollback() throws {
        var rolled = MachineDriver(Self.canary)
        rolled.tick(0)
        rolled.absorb(try rolled.deployment.stop(now: 10, rollback: true, by: "me"))
        #expect(rolled.deployment.status == .stopped && rolled.restored == 1)
        #expect(rolled.deployment.error?.code == "MANUAL_STOP")

        var kept = MachineDriver(Self.canary)
        kept.tick(0)
        kept.absorb(try kept.deployment.stop(now: 10, rollback: false, by: "me"))
        #expect(kept.deployment.status == .stopped && kept.restored == 0)
        #expect(throws: RelctlError.self) { _ = try kept.deployment.stop(now: 11, rollback: true, by: "me") }
    }

    @Test func pauseStepWaitsForPromoteAndFullPromoteSkipsTheRest() throws {
        let careful = DeploymentPolicy(
            name: "Careful", kind: .steps([.weight(percent: 1, hold: 60), .pause, .weight(percent: 50, hold: 600)]))
        var driver = MachineDriver(careful)
        driver.tick(0)
        driver.tick(10_000)
        #expect(driver.weights == [1], "the pause step holds until promoted, however long")
        driver.absorb(try driver.deployment.promote(now: 10_001, full: false, by: "me"))
        #expect(driver.weights == [1, 50])
        driver.absorb(try driver.deployment.promote(now: 10_002, full: true, by: "me"))
        #expect(driver.weights == [1, 50, 100])
        driver.tick(10_003)
        #expect(driver.deployment.status == .succeeded)
    }

    @Test func operatorPauseFreezesTheHoldAndResumeKeepsTheRemainingTime() throws {
        var driver = MachineDriver(Self.canary)
        driver.tick(0)
        driver.absorb(try driver.deployment.pause(now: 100, by: "me"))
        driver.tick(1000)
        #expect(driver.weights == [10], "no shift while paused")
        driver.absorb(try driver.deployment.resume(now: 1000, by: "me"))
        #expect(driver.deployment.nextShiftAt == 1200, "200 s of the 300 s hold were left")
        driver.tick(1199)
        #expect(driver.weights == [10])
        driver.tick(1200)
        #expect(driver.weights == [10, 100])
    }

    @Test func alarmsAreCheckedWhilePaused() throws {
        var driver = MachineDriver(Self.canary, alarms: ["errors"])
        driver.tick(0)
        driver.absorb(try driver.deployment.pause(now: 1, by: "me"))
        driver.alarms["errors"] = AlarmObservation(state: .alarm, reason: "bad")
        driver.tick(2)
        #expect(driver.deployment.status == .failed && driver.restored == 1)
    }

    /// `isQuiet` lets a tick skip most deployments: wherever it says "quiet", `tick` must change nothing and
    /// return no action — checked before every tick of many runs (boundaries hit exactly, alarms flipping,
    /// hooks, pause steps, operator pauses), and it must say so often enough to matter.
    @Test(arguments: [
        DeploymentPolicy(name: "C", kind: .canary(percentage: 10, interval: 300)),
        DeploymentPolicy(name: "L", kind: .linear(percentage: 10, interval: 60)),
        DeploymentPolicy(name: "A", kind: .allAtOnce),
        DeploymentPolicy(
            name: "S", kind: .steps([.weight(percent: 1, hold: 60), .pause, .weight(percent: 50, hold: 0.25)])),
    ])
    func aQuietDeploymentIsOneATickWouldNotChange(_ policy: DeploymentPolicy) throws {
        var quietTicks = 0
        for (pre, alarmFlip, operatorPause) in [
            (nil, false, false), ("check", false, false), (nil, true, false),
            (nil, false, true), ("check", true, true),
        ] as [(String?, Bool, Bool)] {
            var driver = MachineDriver(policy, pre: pre, alarms: ["errors"], hookTimeout: 400)
            for step in 0...2_000 {
                let now = Double(step) * 0.25
                if let execution = driver.started.first, step == 40, execution.status == .pending {
                    driver.absorb(
                        try driver.deployment.reportHook(
                            executionId: execution.executionId, status: .succeeded, output: nil, now: now))
                }
                if operatorPause, step == 500, driver.deployment.status == .inProgress {
                    driver.absorb(try driver.deployment.pause(now: now, by: "me"))
                }
                if operatorPause, step == 900, driver.deployment.status == .paused {
                    driver.absorb(try driver.deployment.resume(now: now, by: "me"))
                }
                if step == 1_200, driver.deployment.status == .inProgress, case .pause = policy.stages.dropFirst().first
                {
                    driver.absorb(try driver.deployment.promote(now: now, full: false, by: "me"))
                }
                if alarmFlip, step == 1_500 { driver.alarms["errors"] = AlarmObservation(state: .alarm, reason: "bad") }
                let quiet = driver.deployment.isQuiet(now: now, alarms: driver.alarms)
                let before = driver.deployment
                let actions = driver.deployment.tick(now: now, alarms: driver.alarms, newExecutionId: { "x" })
                driver.absorb(actions)
                if quiet {
                    quietTicks += 1
                    #expect(actions.isEmpty && driver.deployment == before, "quiet at \(now) but the tick moved it")
                }
            }
        }
        // AllAtOnce never waits on the clock; every other shape spends most of its ticks waiting.
        #expect(policy.name == "A" ? quietTicks == 0 : quietTicks > 1_000, "quiet ticks: \(quietTicks)")
        var missing = MachineDriver(policy, alarms: ["errors"])
        missing.tick(0)
        missing.alarms = [:]
        #expect(!missing.deployment.isQuiet(now: 1, alarms: missing.alarms), "an alarm that was not read is not quiet")
    }

    @Test func etaAndNextShiftFollowThePolicy() {
        var driver = MachineDriver(Self.linear)
        driver.tick(0)
        #expect(driver.deployment.nextShiftAt == 60)
        #expect(driver.deployment.estimatedCompletion == 540)
    }
}
