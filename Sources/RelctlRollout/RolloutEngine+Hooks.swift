import Foundation
import RelctlCore
import RelctlStorage

extension RolloutEngine: HookStatusReporter {
    public func reportHookStatus(
        deploymentId: String, executionId: String, status: HookStatus, output: String?
    ) async throws(RelctlError) {
        try await reportHook(deploymentId: deploymentId, executionId: executionId, status: status, output: output)
    }

    /// Takes on `exec:` hook executions nobody runs: new ones, and those whose runner stopped
    /// sending heartbeats for `staleAfter` seconds (it crashed; the hook runs again, as a new attempt).
    public func claimExecHooks(
        runner: String, only id: String? = nil, staleAfter: Double = 15
    ) async throws(RelctlError) -> [ClaimedHook] {
        try await store.write { tx in
            let now = tx.now
            var claimed: [ClaimedHook] = []
            for var deployment in try tx.activeDeployments() where id == nil || deployment.id == id {
                let (executions, events) = Self.claimExec(&deployment, runner: runner, now: now, staleAfter: staleAfter)
                guard !executions.isEmpty else { continue }
                if !events.isEmpty { try tx.appendEvents(events, to: deployment.id) }
                try tx.updateDeployment(deployment)
                claimed += executions.map { Self.claim(deployment, $0) }
            }
            return claimed
                + (try Self.claimReleaseHooks(tx, exec: true, runner: runner, only: id, staleAfter: staleAfter))
        }
    }

    /// The `exec:` executions of one machine that nobody runs, now marked as `runner`'s, and the log entries for retries.
    static func claimExec(
        _ machine: inout Deployment, runner: String, now: Double, staleAfter: Double
    ) -> ([HookExecution], [DeploymentEvent]) {
        var claimed: [HookExecution] = []
        var events: [DeploymentEvent] = []
        for index in machine.hooks.indices {
            var execution = machine.hooks[index]
            guard execution.isExec, execution.status == .inProgress else { continue }
            if let owner = execution.runner, let beat = execution.heartbeatAt,
                now - beat < staleAfter || owner == runner
            {
                continue
            }
            if let previous = execution.runner {
                execution.attempt += 1
                events.append(
                    .init(
                        at: now, kind: "HookRetry",
                        message:
                            "Runner \(previous) went quiet; \(runner) runs \(execution.hook) again (attempt \(execution.attempt))",
                        details: ["executionId": execution.executionId, "previousRunner": previous]))
            }
            execution.runner = runner
            execution.heartbeatAt = now
            machine.hooks[index] = execution
            claimed.append(execution)
        }
        return (claimed, events)
    }

    /// Takes on function hooks nobody has invoked yet (each is invoked once; the function then
    /// reports its result, as a CodeDeploy hook calls PutLifecycleEventHookExecutionStatus).
    public func claimFunctionHooks(runner: String, only id: String? = nil) async throws(RelctlError) -> [ClaimedHook] {
        try await store.write { tx in
            let now = tx.now
            var claimed: [ClaimedHook] = []
            for var deployment in try tx.activeDeployments() where id == nil || deployment.id == id {
                let (executions, events) = Self.claimFunction(&deployment, runner: runner, now: now)
                guard !executions.isEmpty else { continue }
                try tx.appendEvents(events, to: deployment.id)
                try tx.updateDeployment(deployment)
                claimed += executions.map { Self.claim(deployment, $0) }
            }
            return claimed + (try Self.claimReleaseHooks(tx, exec: false, runner: runner, only: id, staleAfter: 0))
        }
    }

    /// The function-hook executions of one machine nobody has invoked, now marked as `runner`'s, and their log entries.
    static func claimFunction(
        _ machine: inout Deployment, runner: String, now: Double
    ) -> ([HookExecution], [DeploymentEvent]) {
        var claimed: [HookExecution] = []
        for index in machine.hooks.indices {
            let execution = machine.hooks[index]
            guard !execution.isExec, execution.status == .pending, execution.runner == nil else { continue }
            machine.hooks[index].runner = runner
            machine.hooks[index].heartbeatAt = now
            claimed.append(machine.hooks[index])
        }
        return (
            claimed,
            claimed.map {
                .init(
                    at: now, kind: "HookInvoke",
                    message:
                        "Invoking \($0.hook) for \($0.event.rawValue) (execution \($0.executionId)); waiting for its report",
                    details: ["executionId": $0.executionId, "runner": runner])
            }
        )
    }

    /// Tells the store a runner is still running these executions. Returns the ones that are
    /// no longer wanted (the deployment ended or the hook timed out), whose processes should stop.
    public func heartbeatHooks(
        runner: String, executions: [(deploymentId: String, executionId: String)]
    ) async throws(RelctlError) -> Set<String> {
        guard !executions.isEmpty else { return [] }
        let groups = Dictionary(
            grouping: executions.map { HookRef(deploymentId: $0.deploymentId, executionId: $0.executionId) },
            by: \.deploymentId)
        return try await store.write { tx in
            let now = tx.now
            var unwanted = Set<String>()
            for (deploymentId, group) in groups {
                guard var deployment = try Self.hookHolder(tx, deploymentId) else {
                    group.forEach { unwanted.insert($0.executionId) }
                    continue
                }
                for item in group {
                    guard let index = deployment.hooks.firstIndex(where: { $0.executionId == item.executionId }),
                        deployment.status.isActive, deployment.hooks[index].status == .inProgress,
                        deployment.hooks[index].runner == runner
                    else {
                        unwanted.insert(item.executionId)
                        continue
                    }
                    deployment.hooks[index].heartbeatAt = now
                }
                try Self.saveHookHolder(tx, deployment)
            }
            return unwanted
        }
    }

    static func claim(_ deployment: Deployment, _ execution: HookExecution) -> ClaimedHook {
        ClaimedHook(
            deploymentId: deployment.id, execution: execution,
            payload: [
                "DeploymentId": deployment.id, "LifecycleEventHookExecutionId": execution.executionId,
                "FunctionName": deployment.functionName, "Alias": deployment.alias,
                "CurrentVersion": String(deployment.currentVersion), "TargetVersion": String(deployment.targetVersion),
            ])
    }
}

private struct HookRef: Sendable {
    var deploymentId: String
    var executionId: String
}
