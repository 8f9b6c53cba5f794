import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore

enum DeploymentText {
    /// A deployment's or a release's decision log as `deployments get` / `release get` print it.
    static func eventTable(_ events: [DeploymentEventEntry]) {
        Output.table(
            ["Time", "Event", "Message"],
            events.map {
                [
                    LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.event.at)), $0.event.kind,
                    $0.event.message,
                ]
            })
    }

    static func clock(_ time: Double) -> String {
        String(LambdaTimestamp.string(from: Date(timeIntervalSince1970: time)).dropFirst(11).prefix(8))
    }

    static func weights(_ d: Deployment) -> String {
        let target = d.aliasWeight
        if target <= 0 { return "v\(d.currentVersion) 100%" }
        if target >= 100 { return "v\(d.targetVersion) 100%" }
        return
            "v\(d.currentVersion) \(DeploymentPolicy.percentText(100 - target)) | v\(d.targetVersion) \(DeploymentPolicy.percentText(target))"
    }

    /// The block a terminal redraws in place.
    static func panel(
        _ d: Deployment, alarms: [String: AlarmStatus], now: Double, judge: DeploymentJudge? = nil
    ) -> [String] {
        let info = DeploymentInfo(d)
        var lines = [
            "Deployment \(d.id)  \(d.functionName):\(d.alias)  v\(d.currentVersion) → v\(d.targetVersion)  policy \(d.policy.name)  [\(d.status.rawValue)]"
        ]
        var progress = "Step \(info.step ?? "")  traffic: \(weights(d))"
        if let next = d.nextShiftAt { progress += "  next shift in \(DurationText.format(max(0, next - now)))" }
        if let eta = d.estimatedCompletion {
            progress += "  ETA \(clock(eta)) (\(DurationText.format(max(0, eta - now))))"
        }
        if d.phase == .allowTraffic, d.nextShiftAt == nil, d.status == .inProgress {
            progress += "  waiting for `relctl deployments promote \(d.id)`"
        }
        if d.status == .paused { progress += "  paused" }
        lines.append(progress)
        for event in [LifecycleEvent.beforeAllowTraffic, .afterAllowTraffic] {
            guard let hook = event == .beforeAllowTraffic ? d.preTrafficHook : d.postTrafficHook else { continue }
            let execution = d.hooks.last { $0.event == event }
            var text = "Hook \(event.rawValue) \(hook): \(execution?.status.rawValue ?? "not started")"
            if let execution, !execution.status.isFinal {
                text +=
                    " for \(DurationText.format(now - execution.startedAt)) (timeout \(DurationText.format(d.hookTimeout)))"
            }
            lines.append(text)
        }
        for name in d.alarms {
            let status = alarms[name]
            lines.append("Alarm \(name): \(status?.StateValue ?? "?")\(status.map { " — \($0.StateReason)" } ?? "")")
        }
        if let judge {
            lines.append("Judge (\(judge.judge.seconds)s judged, through \(clock(judge.judgedThrough))):")
            lines += judge.judge.evidence.lines.map { "  " + $0 }
        }
        return lines
    }

    static func outcome(_ d: Deployment) -> String {
        let elapsed = (d.completeTime ?? d.createTime) - (d.startTime ?? d.createTime)
        switch d.status {
        case .succeeded:
            return
                "Deployment \(d.id) Succeeded: \(d.functionName):\(d.alias) now runs version \(d.targetVersion) (\(DurationText.format(elapsed)))."
        case .failed, .stopped:
            var why = d.error.map { "\($0.code): \($0.message)" } ?? ""
            if !why.hasSuffix(".") { why += "." }
            let restored =
                d.rolledBack ? " Alias restored to version \(d.currentVersion)." : " The alias was left as it is."
            return "Deployment \(d.id) \(d.status.rawValue) after \(DurationText.format(elapsed)) — \(why)\(restored)"
        default:
            return "Deployment \(d.id) is \(d.status.rawValue)."
        }
    }
}
