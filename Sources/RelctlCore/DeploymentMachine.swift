/// CodeDeploy's deployment statuses (plus `Paused`, relctl's operator hold).
public enum DeploymentStatus: String, Sendable, Codable, CaseIterable {
    case created = "Created"
    case inProgress = "InProgress"
    case paused = "Paused"
    case succeeded = "Succeeded"
    case failed = "Failed"
    case stopped = "Stopped"

    /// Created, InProgress or Paused: the deployment still owns its alias.
    public var isActive: Bool { self == .created || self == .inProgress || self == .paused }

    public static func parse(_ text: String) throws(RelctlError) -> DeploymentStatus {
        guard let status = allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw RelctlError(
                .invalidParameterValue,
                "Unknown status '\(text)': use one of \(allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return status
    }
}

/// The lifecycle events of a Lambda deployment, in order.
public enum LifecycleEvent: String, Sendable, Codable {
    case beforeAllowTraffic = "BeforeAllowTraffic"
    case allowTraffic = "AllowTraffic"
    case afterAllowTraffic = "AfterAllowTraffic"
}

public enum HookStatus: String, Sendable, Codable {
    /// Waiting for someone to report (a registry function hook).
    case pending = "Pending"
    /// An `exec:` hook whose command is running.
    case inProgress = "InProgress"
    case succeeded = "Succeeded"
    case failed = "Failed"

    public var isFinal: Bool { self == .succeeded || self == .failed }
}

/// One run of a pre- or post-traffic hook.
public struct HookExecution: Sendable, Codable, Equatable {
    public var executionId: String
    public var event: LifecycleEvent
    /// A registry function name, or `exec:COMMAND`.
    public var hook: String
    public var status: HookStatus
    public var startedAt: Double
    public var finishedAt: Double?
    /// Captured output of an `exec:` hook (its tail), or the reporter's note.
    public var output: String?
    /// Which controller runs an `exec:` hook and when it last said it is alive.
    public var runner: String?
    public var heartbeatAt: Double?
    public var attempt: Int

    public var isExec: Bool { hook.hasPrefix("exec:") }
    public var command: String? { isExec ? String(hook.dropFirst(5)) : nil }
}

public struct DeploymentError: Sendable, Codable, Equatable {
    /// CodeDeploy's `ErrorCode`: ALARM_ACTIVE, HOOK_EXECUTION_FAILURE, TIMEOUT, MANUAL_STOP, INVALID_LAMBDA_CONFIGURATION.
    public var code: String
    public var message: String
}

/// A decision or observation, written to the deployment's event log with the values behind it.
public struct DeploymentEvent: Sendable, Codable, Equatable {
    public var at: Double
    public var kind: String
    public var message: String
    public var details: [String: String]

    public init(at: Double, kind: String, message: String, details: [String: String] = [:]) {
        self.at = at
        self.kind = kind
        self.message = message
        self.details = details
    }
}

/// What an alarm looked like when the controller asked.
public struct AlarmObservation: Sendable, Equatable {
    public var state: AlarmState
    public var reason: String
    public init(state: AlarmState, reason: String) {
        self.state = state
        self.reason = reason
    }
}

/// What the machine asks the world to do, in order.
public enum DeploymentAction: Sendable, Equatable {
    /// Route `percent` of the alias's traffic to the target version (100: the target alone).
    case setWeight(Double)
    /// Point the alias back at the original version with routing cleared.
    case restoreOriginal
    /// Start (or re-start) a hook execution.
    case startHook(HookExecution)
    case record(DeploymentEvent)
}

/// The persisted state of one deployment and the pure rules that advance it. Every method is a
/// transition: given the time (and the alarms and hooks as they are), it mutates the state and
/// returns the actions to apply in the same transaction. No I/O, no clock.
public struct Deployment: Sendable, Codable, Equatable {
    public var id: String
    public var functionName: String
    public var alias: String
    public var currentVersion: Int
    public var targetVersion: Int
    public var policy: DeploymentPolicy
    public var preTrafficHook: String?
    public var postTrafficHook: String?
    public var alarms: [String]
    public var hookTimeout: Double
    /// Restore the alias when the deployment fails or is stopped.
    public var autoRollback: Bool
    public var creator: String

    public var status: DeploymentStatus = .created
    public var phase: LifecycleEvent?
    /// Index into `policy.stages`; `stages.count` is the final 100%.
    public var stageIndex = 0
    public var stageStartedAt: Double?
    public var pausedAt: Double?
    /// Percent of traffic the machine wants on the target.
    public var weight = 0.0
    /// Percent of traffic the alias was last set to by this deployment (kept by the store, which
    /// checks the alias still looks like this before every shift).
    public var aliasWeight = 0.0
    public var hooks: [HookExecution] = []
    public var createTime: Double
    public var startTime: Double?
    public var completeTime: Double?
    public var error: DeploymentError?
    public var rolledBack = false
    public var rollbackMessage: String?
    /// When each stage began (index → time), for the record and the ETA.
    public var stageTimes: [Double] = []

    public init(
        id: String, functionName: String, alias: String, currentVersion: Int, targetVersion: Int,
        policy: DeploymentPolicy,
        preTrafficHook: String? = nil, postTrafficHook: String? = nil, alarms: [String] = [],
        hookTimeout: Double = 3600,
        autoRollback: Bool = true, creator: String = "", createTime: Double
    ) {
        self.id = id
        self.functionName = functionName
        self.alias = alias
        self.currentVersion = currentVersion
        self.targetVersion = targetVersion
        self.policy = policy
        self.preTrafficHook = preTrafficHook
        self.postTrafficHook = postTrafficHook
        self.alarms = alarms
        self.hookTimeout = hookTimeout
        self.autoRollback = autoRollback
        self.creator = creator
        self.createTime = createTime
    }

    // MARK: - Ticks

    /// Advances as far as the time, alarms and hook results allow.
    public mutating func tick(
        now: Double, alarms observed: [String: AlarmObservation], newExecutionId: () -> String
    ) -> [DeploymentAction] {
        guard status.isActive else { return [] }
        var actions: [DeploymentAction] = []
        // Alarms are checked on every tick, in every phase, paused or not.
        for name in alarms {
            guard let observation = observed[name] else {
                actions += fail(
                    now: now, code: "ALARM_ACTIVE",
                    message: "Alarm \(name) could not be read (it was deleted?); failing safe.",
                    details: ["alarm": name])
                return actions
            }
            if observation.state == .alarm {
                actions += fail(
                    now: now, code: "ALARM_ACTIVE",
                    message:
                        "Alarm \(name) is in ALARM\(weight == 0 && phase != .allowTraffic ? " before traffic shifted" : " at \(DeploymentPolicy.percentText(weight)) to version \(targetVersion)"): \(observation.reason)",
                    details: [
                        "alarm": name, "reason": observation.reason, "weight": DeploymentPolicy.percentText(weight),
                    ])
                return actions
            }
        }
        if status == .paused { return actions }
        if status == .created {
            status = .inProgress
            startTime = now
            phase = .beforeAllowTraffic
            actions.append(
                .record(
                    .init(
                        at: now, kind: "Start",
                        message:
                            "Deployment started: \(functionName):\(alias) \(currentVersion) → \(targetVersion) with \(policy.name)",
                        details: [
                            "policy": policy.name, "currentVersion": String(currentVersion),
                            "targetVersion": String(targetVersion),
                        ])))
        }
        // Several transitions may be due at once (AllAtOnce without hooks finishes in one tick).
        for _ in 0..<(policy.stages.count + 8) {
            let before = (phase, stageIndex, status)
            switch phase {
            case .beforeAllowTraffic?:
                actions += hookStep(.beforeAllowTraffic, hook: preTrafficHook, now: now, newExecutionId: newExecutionId)
                {
                    $0.enterTraffic(now: now)
                }
            case .allowTraffic?:
                actions += trafficStep(now: now)
            case .afterAllowTraffic?:
                actions += hookStep(.afterAllowTraffic, hook: postTrafficHook, now: now, newExecutionId: newExecutionId)
                {
                    $0.succeed(now: now)
                }
            case nil:
                break
            }
            if !status.isActive || (phase, stageIndex, status) == before { break }
        }
        return actions
    }

    /// True when `tick(now:alarms:)` would change nothing and return no action: a paused deployment, or
    /// one holding traffic at a stage whose time has not come, while every alarm it watches was read and
    /// is not in ALARM (`relctl promote|resume` and hook reports change the state itself). False means
    /// "ask `tick`" (hooks, a deployment not started yet, a due stage). A tick that finds most
    /// deployments waiting asks this first instead of ticking a copy of each.
    public func isQuiet(now: Double, alarms observed: [String: AlarmObservation]) -> Bool {
        isQuiet(now: now) { observed[$0] }
    }

    /// The same, reading each alarm only when the clock alone does not decide (a tick's alarms are read lazily,
    /// and not at all for a deployment whose stage is due).
    public func isQuiet(now: Double, alarm observe: (String) throws -> AlarmObservation?) rethrows -> Bool {
        guard waitsOnTheClock(now: now) else { return false }
        for name in alarms {
            guard let observation = try observe(name), observation.state != .alarm else { return false }
        }
        return true
    }

    /// `isQuiet` without the alarms: paused, or holding at a stage whose time has not come.
    private func waitsOnTheClock(now: Double) -> Bool {
        switch status {
        case .paused:
            return true
        case .inProgress where phase == .allowTraffic:
            if let started = stageStartedAt, case .weight(_, let hold)? = policy.stage(at: stageIndex),
                now - started >= hold
            {
                return false  // the same test as `trafficStep`'s, so the two never disagree by a rounding
            }
            return true
        default:
            return false
        }
    }

    private mutating func hookStep(
        _ event: LifecycleEvent, hook: String?, now: Double, newExecutionId: () -> String,
        next: (inout Deployment) -> [DeploymentAction]
    ) -> [DeploymentAction] {
        guard let hook else { return next(&self) }
        guard let index = hooks.lastIndex(where: { $0.event == event }) else {
            let execution = HookExecution(
                executionId: newExecutionId(), event: event, hook: hook,
                status: hook.hasPrefix("exec:") ? .inProgress : .pending,
                startedAt: now, finishedAt: nil, output: nil, runner: nil, heartbeatAt: nil, attempt: 1)
            hooks.append(execution)
            return [
                .startHook(execution),
                .record(
                    .init(
                        at: now, kind: event.rawValue,
                        message: "\(event.rawValue) hook \(hook) started (execution \(execution.executionId))",
                        details: ["hook": hook, "executionId": execution.executionId])),
            ]
        }
        let execution = hooks[index]
        switch execution.status {
        case .succeeded:
            return [
                .record(
                    .init(
                        at: now, kind: event.rawValue, message: "\(event.rawValue) hook \(hook) succeeded",
                        details: ["hook": hook, "executionId": execution.executionId]))
            ] + next(&self)
        case .failed:
            return fail(
                now: now, code: "HOOK_EXECUTION_FAILURE",
                message:
                    "\(event.rawValue) hook \(hook) failed\(execution.output.map { ": \(Self.lastLine($0))" } ?? "")",
                details: ["hook": hook, "executionId": execution.executionId])
        case .pending, .inProgress:
            if now - execution.startedAt >= hookTimeout {
                hooks[index].status = .failed
                hooks[index].finishedAt = now
                return fail(
                    now: now, code: "TIMEOUT",
                    message: "\(event.rawValue) hook \(hook) did not report within \(DurationText.format(hookTimeout))",
                    details: [
                        "hook": hook, "executionId": execution.executionId,
                        "hookTimeout": DurationText.format(hookTimeout),
                    ])
            }
            return []
        }
    }

    private mutating func enterTraffic(now: Double) -> [DeploymentAction] {
        phase = .allowTraffic
        stageIndex = 0
        return enterStage(now: now)
    }

    private mutating func enterStage(now: Double) -> [DeploymentAction] {
        stageStartedAt = now
        if stageTimes.count <= stageIndex { stageTimes.append(now) } else { stageTimes[stageIndex] = now }
        let stages = policy.stages
        if stageIndex >= stages.count {
            weight = 100
            phase = .afterAllowTraffic
            return [
                .setWeight(100),
                .record(
                    .init(
                        at: now, kind: "Shift", message: "Shifted 100% of \(alias) to version \(targetVersion)",
                        details: ["weight": "100%", "step": "\(stages.count + 1)/\(stages.count + 1)"])),
            ]
        }
        switch stages[stageIndex] {
        case .weight(let percent, let hold):
            weight = percent
            return [
                .setWeight(percent),
                .record(
                    .init(
                        at: now, kind: "Shift",
                        message:
                            "Shifted \(DeploymentPolicy.percentText(percent)) of \(alias) to version \(targetVersion); holding \(DurationText.format(hold))",
                        details: [
                            "weight": DeploymentPolicy.percentText(percent), "hold": DurationText.format(hold),
                            "step": "\(stageIndex + 1)/\(stages.count + 1)",
                        ])),
            ]
        case .pause:
            return [
                .record(
                    .init(
                        at: now, kind: "Pause",
                        message:
                            "Waiting for `relctl deployments promote \(id)` at \(DeploymentPolicy.percentText(weight))",
                        details: ["step": "\(stageIndex + 1)/\(stages.count + 1)"]))
            ]
        }
    }

    private mutating func trafficStep(now: Double) -> [DeploymentAction] {
        let stages = policy.stages
        guard stageIndex < stages.count, let started = stageStartedAt else { return [] }
        switch stages[stageIndex] {
        case .weight(_, let hold):
            guard now - started >= hold else { return [] }
            stageIndex += 1
            return enterStage(now: now)
        case .pause:
            return []
        }
    }

    private mutating func succeed(now: Double) -> [DeploymentAction] {
        status = .succeeded
        completeTime = now
        phase = nil
        return [
            .record(
                .init(at: now, kind: "Succeeded", message: "Deployment succeeded: \(alias) → version \(targetVersion)"))
        ]
    }

    /// Ends the deployment as Failed and, if enabled, restores the original version at once.
    public mutating func fail(
        now: Double, code: String, message: String, details: [String: String] = [:], rollback: Bool? = nil
    ) -> [DeploymentAction] {
        guard status.isActive else { return [] }
        status = .failed
        error = DeploymentError(code: code, message: message)
        completeTime = now
        var actions: [DeploymentAction] = [
            .record(
                .init(at: now, kind: "Failed", message: message, details: details.merging(["code": code]) { a, _ in a })
            )
        ]
        if rollback ?? autoRollback { actions += restore(now: now, because: message) }
        phase = nil
        return actions
    }

    private mutating func restore(now: Double, because reason: String) -> [DeploymentAction] {
        rolledBack = true
        rollbackMessage = "Alias \(alias) restored to version \(currentVersion): \(reason)"
        let shifted = weight
        weight = 0
        return [
            .restoreOriginal,
            .record(
                .init(
                    at: now, kind: "Rollback", message: rollbackMessage!,
                    details: [
                        "from": DeploymentPolicy.percentText(shifted) + " on version \(targetVersion)",
                        "to": "version \(currentVersion)",
                    ])),
        ]
    }

    // MARK: - Operator commands

    /// `deployments stop`: Stopped, with the alias restored unless `rollback` is false.
    public mutating func stop(now: Double, rollback: Bool, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        try requireActive("stop")
        status = .stopped
        completeTime = now
        let message = "Stopped by \(actor)\(rollback ? "" : " without rollback (the alias stays where it is)")"
        error = DeploymentError(code: "MANUAL_STOP", message: message)
        var actions: [DeploymentAction] = [
            .record(.init(at: now, kind: "Stopped", message: message, details: ["actor": actor]))
        ]
        if rollback { actions += restore(now: now, because: "stopped by \(actor)") }
        phase = nil
        return actions
    }

    /// `deployments promote`: end the current wait now, or (`full`) go straight to 100%.
    public mutating func promote(now: Double, full: Bool, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        try requireActive("promote")
        guard status != .paused else {
            throw RelctlError(.resourceConflict, "Deployment \(id) is paused; resume it before promoting.")
        }
        guard phase == .allowTraffic || (status == .created && full) else {
            let waiting = phase.map { "its \($0.rawValue) hook" } ?? "its start"
            throw RelctlError(
                .resourceConflict, "Deployment \(id) is waiting for \(waiting); only traffic shifting can be promoted.")
        }
        if status == .created { _ = tick(now: now, alarms: [:], newExecutionId: { "" }) }
        let record = DeploymentAction.record(
            .init(
                at: now, kind: "Promote",
                message: "\(full ? "Full promote" : "Promote") by \(actor) at step \(stageIndex + 1)",
                details: ["actor": actor, "full": String(full)]))
        stageIndex = full ? policy.stages.count : stageIndex + 1
        return [record] + enterStage(now: now)
    }

    /// `deployments pause`: freezes the stage timers (alarms keep being checked).
    public mutating func pause(now: Double, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        try requireActive("pause")
        guard status != .paused else { throw RelctlError(.resourceConflict, "Deployment \(id) is already paused.") }
        status = .paused
        pausedAt = now
        return [.record(.init(at: now, kind: "Paused", message: "Paused by \(actor)", details: ["actor": actor]))]
    }

    /// `deployments resume`: the current hold continues with the time it had left.
    public mutating func resume(now: Double, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        guard status == .paused, let pausedAt else {
            throw RelctlError(.resourceConflict, "Deployment \(id) is not paused.")
        }
        status = startTime == nil ? .created : .inProgress
        stageStartedAt = stageStartedAt.map { $0 + (now - pausedAt) }
        self.pausedAt = nil
        return [
            .record(
                .init(
                    at: now, kind: "Resumed",
                    message: "Resumed by \(actor) after \(DurationText.format(now - pausedAt))",
                    details: ["actor": actor]))
        ]
    }

    /// A hook's outcome, reported by `hook-status` or by the `exec:` runner.
    public mutating func reportHook(
        executionId: String, status reported: HookStatus, output: String?, now: Double
    ) throws(RelctlError) -> [DeploymentAction] {
        guard let index = hooks.firstIndex(where: { $0.executionId == executionId }) else {
            throw RelctlError(
                .resourceNotFound, "Deployment \(id) has no lifecycle event hook execution \(executionId).")
        }
        guard reported.isFinal else {
            throw RelctlError(.invalidParameterValue, "A hook's status can be reported as Succeeded or Failed only.")
        }
        guard !hooks[index].status.isFinal else {
            throw RelctlError(
                .resourceConflict, "Hook execution \(executionId) already reported \(hooks[index].status.rawValue).")
        }
        hooks[index].status = reported
        hooks[index].finishedAt = now
        if let output { hooks[index].output = output }
        return [
            .record(
                .init(
                    at: now, kind: "HookStatus",
                    message: "\(hooks[index].event.rawValue) hook \(hooks[index].hook) reported \(reported.rawValue)",
                    details: ["executionId": executionId, "status": reported.rawValue]))
        ]
    }

    private func requireActive(_ verb: String) throws(RelctlError) {
        guard status.isActive else {
            throw RelctlError(
                .resourceConflict, "Deployment \(id) is already \(status.rawValue); there is nothing to \(verb).")
        }
    }

    // MARK: - Progress

    /// When the current stage's hold ends (nil while waiting on a hook, a pause step or an operator).
    public var nextShiftAt: Double? {
        guard status == .inProgress, phase == .allowTraffic, let started = stageStartedAt,
            stageIndex < policy.stages.count, case .weight(_, let hold) = policy.stages[stageIndex]
        else { return nil }
        return started + hold
    }

    /// When 100% is expected, if nothing waits for a person.
    public var estimatedCompletion: Double? {
        guard status == .inProgress, phase == .allowTraffic, let next = nextShiftAt else { return nil }
        var time = next
        for stage in policy.stages.dropFirst(stageIndex + 1) {
            switch stage {
            case .weight(_, let hold): time += hold
            case .pause: return nil
            }
        }
        return time
    }

    static func lastLine(_ text: String) -> String {
        text.split(separator: "\n").last.map(String.init) ?? text
    }
}
