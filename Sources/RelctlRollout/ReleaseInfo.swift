import Foundation
import RelctlCore
import RelctlStorage

/// A release group as `relctl release … --output json` and the `Relctl.*Release` actions render
/// it: the group's status and timing (the fields a deployment has, from its timing machine) and a
/// row per member with the weight the release has set on its target.
public struct ReleaseInfo: Encodable, Sendable {
    public struct Member: Encodable, Sendable {
        public var functionName: String
        public var alias: String
        public var currentVersion: String
        public var targetVersion: String
        /// Percent of the alias's traffic on the target, as the release last set it.
        public var weight: Double
    }

    public var releaseId: String
    public var name: String
    public var status: String
    public var deploymentConfigName: String
    public var creator: String
    public var createTime: Double
    public var startTime: Double?
    public var completeTime: Double?
    public var errorInformation: DeploymentInfo.ErrorInformation?
    public var rollbackInfo: DeploymentInfo.RollbackInfo?
    public var lifecycleEvent: String?
    public var currentWeight: Double
    public var step: String?
    public var nextShiftTime: Double?
    public var estimatedCompletionTime: Double?
    public var members: [Member]
    public var steps: [DeploymentInfo.Step]?
    public var hooks: [DeploymentInfo.Hook]?
    public var alarms: [DeploymentInfo.Alarm]?
    public var events: [DeploymentInfo.Event]?

    public init(
        _ release: ReleaseGroup, alarms states: [String: AlarmStatus] = [:], events: [DeploymentEventEntry]? = nil
    ) {
        let machine = DeploymentInfo(release.machine, alarms: states, events: events)
        releaseId = release.id
        name = release.name
        status = machine.status
        deploymentConfigName = machine.deploymentConfigName
        creator = machine.creator
        createTime = machine.createTime
        startTime = machine.startTime
        completeTime = machine.completeTime
        errorInformation = machine.errorInformation
        rollbackInfo = machine.rollbackInfo
        lifecycleEvent = machine.lifecycleEvent
        currentWeight = release.machine.weight
        step = machine.step
        nextShiftTime = machine.nextShiftTime
        estimatedCompletionTime = machine.estimatedCompletionTime
        members = release.members.map {
            Member(
                functionName: $0.functionName, alias: $0.alias, currentVersion: String($0.currentVersion),
                targetVersion: String($0.targetVersion), weight: $0.aliasWeight)
        }
        steps = machine.steps
        hooks = machine.hooks
        alarms = machine.alarms
        self.events = machine.events
    }
}

extension RolloutEngine {
    /// The release's alarms evaluated now (nothing saved), each for the target of the member whose function it watches.
    public func alarmStatuses(of release: ReleaseGroup) async throws(RelctlError) -> [String: AlarmStatus] {
        var result: [String: AlarmStatus] = [:]
        for name in release.machine.alarms {
            let function = try await store.read { tx in try tx.alarm(name)?.definition.functionName }
            let target = release.members.first { $0.functionName == function }?.targetVersion
            result.merge(try await alarmStatuses(names: [name], targetVersion: target)) { _, new in new }
        }
        return result
    }
}
