import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore

/// The deployment record with CodeDeploy's `DeploymentInfo` field names where they exist.
struct DeploymentInfo: Encodable {
    struct ErrorInformation: Encodable { var code: String; var message: String }
    struct RollbackInfo: Encodable { var rollbackMessage: String }
    struct Step: Encodable {
        var step: Int
        var kind: String
        var weight: Double?
        var hold: String?
        var startTime: Double?
    }
    struct Hook: Encodable {
        var lifecycleEvent: String
        var hook: String
        var lifecycleEventHookExecutionId: String
        var status: String
        var startTime: Double
        var endTime: Double?
        var attempt: Int
        var output: String?
    }
    struct Alarm: Encodable { var name: String; var state: String?; var reason: String? }
    struct Event: Encodable { var time: Double; var kind: String; var message: String; var details: [String: String] }

    var deploymentId: String
    var applicationName = "relctl"
    var deploymentGroupName: String
    var deploymentConfigName: String
    var computePlatform = "Lambda"
    var status: String
    var creator: String
    var createTime: Double
    var startTime: Double?
    var completeTime: Double?
    var errorInformation: ErrorInformation?
    var rollbackInfo: RollbackInfo?
    var functionName: String
    var alias: String
    var currentVersion: String
    var targetVersion: String
    var lifecycleEvent: String?
    var currentWeight: Double
    var step: String
    var nextShiftTime: Double?
    var estimatedCompletionTime: Double?
    var steps: [Step]
    var hooks: [Hook]
    var alarms: [Alarm]
    var events: [Event]?

    init(_ d: Deployment, alarms states: [String: AlarmStatus] = [:], events: [DeploymentEventEntry]? = nil) {
        deploymentId = d.id
        deploymentGroupName = "\(d.functionName):\(d.alias)"
        deploymentConfigName = d.policy.name
        status = d.status.rawValue
        creator = d.creator
        createTime = d.createTime
        startTime = d.startTime
        completeTime = d.completeTime
        errorInformation = d.error.map { ErrorInformation(code: $0.code, message: $0.message) }
        rollbackInfo = d.rollbackMessage.map { RollbackInfo(rollbackMessage: $0) }
        functionName = d.functionName
        alias = d.alias
        currentVersion = String(d.currentVersion)
        targetVersion = String(d.targetVersion)
        lifecycleEvent = d.phase?.rawValue
        currentWeight = d.weight
        // Steps reached so far (a failed deployment shows where it stopped).
        step = "\(d.stageTimes.isEmpty ? 0 : min(d.stageIndex, d.policy.stages.count) + 1)/\(d.policy.stages.count + 1)"
        nextShiftTime = d.nextShiftAt
        estimatedCompletionTime = d.estimatedCompletion
        steps = d.policy.stages.enumerated().map { index, stage in
            switch stage {
            case .weight(let percent, let hold):
                Step(step: index + 1, kind: "Shift", weight: percent, hold: DurationText.format(hold), startTime: d.stageTimes[safe: index])
            case .pause:
                Step(step: index + 1, kind: "Pause", weight: nil, hold: nil, startTime: d.stageTimes[safe: index])
            }
        } + [Step(step: d.policy.stages.count + 1, kind: "Shift", weight: 100, hold: nil, startTime: d.stageTimes[safe: d.policy.stages.count])]
        hooks = d.hooks.map {
            Hook(lifecycleEvent: $0.event.rawValue, hook: $0.hook, lifecycleEventHookExecutionId: $0.executionId, status: $0.status.rawValue,
                 startTime: $0.startedAt, endTime: $0.finishedAt, attempt: $0.attempt, output: $0.output)
        }
        alarms = d.alarms.map { Alarm(name: $0, state: states[$0]?.StateValue, reason: states[$0]?.StateReason) }
        self.events = events?.map { Event(time: $0.event.at, kind: $0.event.kind, message: $0.event.message, details: $0.event.details) }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

enum DeploymentText {
    static func clock(_ time: Double) -> String {
        String(LambdaTimestamp.string(from: Date(timeIntervalSince1970: time)).dropFirst(11).prefix(8))
    }

    static func weights(_ d: Deployment) -> String {
        let target = d.aliasWeight
        if target <= 0 { return "v\(d.currentVersion) 100%" }
        if target >= 100 { return "v\(d.targetVersion) 100%" }
        return "v\(d.currentVersion) \(DeploymentPolicy.percentText(100 - target)) | v\(d.targetVersion) \(DeploymentPolicy.percentText(target))"
    }

    /// The block a terminal redraws in place.
    static func panel(_ d: Deployment, alarms: [String: AlarmStatus], now: Double) -> [String] {
        let info = DeploymentInfo(d)
        var lines = ["Deployment \(d.id)  \(d.functionName):\(d.alias)  v\(d.currentVersion) → v\(d.targetVersion)  policy \(d.policy.name)  [\(d.status.rawValue)]"]
        var progress = "Step \(info.step)  traffic: \(weights(d))"
        if let next = d.nextShiftAt { progress += "  next shift in \(DurationText.format(max(0, next - now)))" }
        if let eta = d.estimatedCompletion { progress += "  ETA \(clock(eta)) (\(DurationText.format(max(0, eta - now))))" }
        if d.phase == .allowTraffic, d.nextShiftAt == nil, d.status == .inProgress { progress += "  waiting for `relctl deployments promote \(d.id)`" }
        if d.status == .paused { progress += "  paused" }
        lines.append(progress)
        for event in [LifecycleEvent.beforeAllowTraffic, .afterAllowTraffic] {
            guard let hook = event == .beforeAllowTraffic ? d.preTrafficHook : d.postTrafficHook else { continue }
            let execution = d.hooks.last { $0.event == event }
            var text = "Hook \(event.rawValue) \(hook): \(execution?.status.rawValue ?? "not started")"
            if let execution, !execution.status.isFinal { text += " for \(DurationText.format(now - execution.startedAt)) (timeout \(DurationText.format(d.hookTimeout)))" }
            lines.append(text)
        }
        for name in d.alarms {
            let status = alarms[name]
            lines.append("Alarm \(name): \(status?.StateValue ?? "?")\(status.map { " — \($0.StateReason)" } ?? "")")
        }
        return lines
    }

    static func outcome(_ d: Deployment) -> String {
        let elapsed = (d.completeTime ?? d.createTime) - (d.startTime ?? d.createTime)
        switch d.status {
        case .succeeded:
            return "Deployment \(d.id) Succeeded: \(d.functionName):\(d.alias) now runs version \(d.targetVersion) (\(DurationText.format(elapsed)))."
        case .failed, .stopped:
            var why = d.error.map { "\($0.code): \($0.message)" } ?? ""
            if !why.hasSuffix(".") { why += "." }
            let restored = d.rolledBack ? " Alias restored to version \(d.currentVersion)." : " The alias was left as it is."
            return "Deployment \(d.id) \(d.status.rawValue) after \(DurationText.format(elapsed)) — \(why)\(restored)"
        default:
            return "Deployment \(d.id) is \(d.status.rawValue)."
        }
    }
}
