import Foundation
import RelctlCore
import RelctlPackages
import RelctlRollout
import RelctlRuntime
import RelctlStorage

/// `relctl demo`: a real canary that fails, from one command, on either database.
struct DemoScenario {
    /// The function, its versions, alias and alarm.
    let records: any RegistryRecords
    /// The ARNs the demo's role is named in.
    let arn: ArnContext
    /// The runtime the traffic runs on (its metrics trip the alarm) and the rollout engine on the same store.
    let runtime: RuntimeParts
    /// How the canary advances. nil (the data directory's SQLite): this process ticks a controller scoped
    /// to it. On a shared database it takes part in the leader election for the demo's duration, as
    /// `relctl controller run --database` does: where no other controller runs it leads and advances the
    /// canary itself, so the demo finishes on its own; where one leads, that leader advances it and the
    /// demo follows. A controller of its own beside a leader would step the canary unfenced, twice.
    let leadership: (any ControllerLeadership)?
    let source: URL
    let failRate: Double
    let policies: PolicyCatalog
    static let function = "relctl-demo"

    static func locateSource(_ explicit: String?) throws -> URL {
        var candidates: [URL] = []
        if let explicit { candidates.append(URL(fileURLWithPath: explicit)) }
        var folder = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent("examples/demo"))
            folder.deleteLastPathComponent()
        }
        var binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(binary.appendingPathComponent("examples/demo"))
            binary.deleteLastPathComponent()
        }
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("bootstrap").path) {
            return candidate
        }
        throw RelctlError(
            .resourceNotFound, "Cannot find examples/demo (run from the repository, or pass --source FOLDER).")
    }

    func run(say: (String) -> Void) async throws -> Deployment {
        let name = Self.function
        let reference = FunctionReference(name: name, qualifier: nil)
        let engine = runtime.rollout
        // Start afresh: stop a leftover deployment, delete the function and the alarm.
        for deployment in try await engine.store.read({ try $0.activeDeployments() })
        where deployment.functionName == name {
            _ = try await engine.stop(id: deployment.id, rollback: true)
        }
        if (try? await records.getFunction(reference)) != nil {
            _ = try await records.deleteFunction(reference)
        }
        let package = try PackageBuilder.zip(directory: source)
        let settings = FunctionSettings(
            runtime: "provided.al2023", handler: "bootstrap",
            role: "arn:aws:iam::\(arn.account):role/relctl-demo",
            description: "relctl demo", timeout: 10, environment: ["FAIL_PERCENT": "0"])
        _ = try await records.createFunction(
            name: name, settings: settings, zip: package, publish: true, tags: [:], settle: nil)
        let percent = Int((failRate * 100).rounded())
        _ = try await records.updateFunctionConfiguration(
            reference, ConfigurationUpdate(environment: ["FAIL_PERCENT": String(percent)]), expectedRevisionId: nil,
            settle: nil)
        _ = try await records.publishVersion(
            reference, description: "fails \(percent)% of requests", expectedCodeSha256: nil, expectedRevisionId: nil,
            settle: nil)
        _ = try await records.createAlias(
            function: name, name: "live", functionVersion: "1", additionalVersionWeights: [:], description: "")
        say("Published \(name) v1 (healthy) and v2 (fails \(percent)% of requests); alias live → v1.")
        let alarm = AlarmDefinition(
            name: "\(name)-errors", functionName: name, resource: "\(name):live", executedVersion: "target",
            metric: "Errors",
            statistic: .sum, period: 10, evaluationPeriods: 2, datapointsToAlarm: 1, threshold: 5,
            comparisonOperator: .greaterThanOrEqualToThreshold, treatMissingData: .notBreaching)
        try await records.putAlarm(alarm)
        say("Alarm \(alarm.name): Sum(Errors) of the canary's version ≥ 5 in a 10 s period (1 of 2).")
        let policy = DeploymentPolicy(
            name: "DemoCanary", kind: .steps([.weight(percent: 20, hold: 20), .weight(percent: 50, hold: 20)]),
            source: "relctl demo")
        say("Policy DemoCanary: 20% for 20s, 50% for 20s, then 100%. Traffic: 20 invocations/s on \(name):live.\n")

        let pool = runtime.pool()
        let stopTraffic = StopFlag()
        let generator = TrafficGenerator(
            store: runtime.store, rollout: engine, function: FunctionReference(name: name, qualifier: .alias("live")),
            payload: Data("{\"demo\":true}".utf8))
        let traffic = Task {
            await generator.run(
                rate: 20, duration: 90, pool: pool, shouldStop: { stopTraffic.raised }, report: { _ in })
        }
        // On a shared database, campaign now: by the time the canary starts this process leads (unless another does).
        let leaderDone = StopFlag()
        defer {
            leaderDone.raise()
            stopTraffic.raise()
        }
        let leader = leadership.map { leadership in
            let leading = LeadingController(
                leadership: leadership,
                makeController: { Controller(engine: $0, invokeFunctionHook: pool.invokeHook) },
                log: { Output.note($0) })
            return Task { await leading.run(interval: 0.25, shouldStop: { leaderDone.raised }) }
        }
        // Give the healthy version a moment of traffic (and warm instances) before the canary starts.
        try await Task.sleep(nanoseconds: 2_000_000_000)

        let deployment = try await engine.create(
            DeploymentRequest(
                function: name, alias: "live", targetVersion: "2", policy: policy, alarms: [alarm.name]))
        if leadership != nil {
            say(
                "The leading controller on this database advances it (this process campaigns for leadership while the demo runs)."
            )
        }
        let controller =
            leadership == nil
            ? Controller(engine: engine, scope: deployment.id, invokeFunctionHook: pool.invokeHook) : nil
        var lastEvent: Int64 = 0
        var current = deployment
        let started = Date()
        var nextStatus = 2.0
        while true {
            try await controller?.tick()
            for entry in try await records.deploymentEvents(id: deployment.id, after: lastEvent) {
                lastEvent = entry.id
                say("\(DeploymentText.clock(entry.event.at))  \(entry.event.kind): \(entry.event.message)")
            }
            current = try await records.deployment(id: deployment.id)
            if !current.status.isActive { break }
            let elapsed = Date().timeIntervalSince(started)
            if elapsed >= nextStatus {
                nextStatus += 5
                let status = try await engine.alarmStatuses(names: [alarm.name], targetVersion: 2)[alarm.name]
                say("          traffic \(DeploymentText.weights(current)); alarm \(status?.StateValue ?? "?")")
            }
            if elapsed > 120 { _ = try await engine.stop(id: deployment.id); continue }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        controller?.hooks.stopAll()
        leaderDone.raise()
        await leader?.value
        stopTraffic.raise()
        let tally = await traffic.value
        await pool.shutdown()
        say("")
        for line in tally.lines() { say(line) }
        say(DeploymentText.outcome(current))
        let alias = try await records.getAlias(function: name, name: "live")
        say(
            "Alias live now → v\(alias.FunctionVersion)\(alias.RoutingConfig == nil ? " (no routing)" : ""). `relctl deployments get \(deployment.id)` has the full record."
        )
        return current
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var raised: Bool { lock.withLock { value } }
    func raise() { lock.withLock { value = true } }
}
