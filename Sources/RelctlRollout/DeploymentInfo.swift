import Foundation
import RelctlCore
import RelctlStorage

/// A deployment in CodeDeploy's `DeploymentInfo` shape: the one type the CodeDeploy API
/// (`GetDeployment`, `BatchGetDeployments`) and the CLI's `--output json` render. Each fills the
/// fields that are its own — the API CodeDeploy's overview, style, revision and description; the
/// CLI relctl's view of the rollout (function, alias, steps, hooks, alarms, events) — and leaves
/// the others out of the JSON.
public struct DeploymentInfo: Encodable, Sendable {
    public struct ErrorInformation: Encodable, Sendable { public var code: String; public var message: String }
    public struct RollbackInfo: Encodable, Sendable { public var rollbackMessage: String }
    public struct DeploymentStyle: Encodable, Sendable {
        public var deploymentType = "BLUE_GREEN"
        public var deploymentOption = "WITH_TRAFFIC_CONTROL"
    }
    public struct DeploymentOverview: Encodable, Sendable {
        public var Pending = 0, InProgress = 0, Succeeded = 0, Failed = 0, Skipped = 0, Ready = 0
    }
    public struct Step: Encodable, Sendable {
        public var step: Int
        public var kind: String
        public var weight: Double?
        public var hold: String?
        public var startTime: Double?
    }
    public struct Hook: Encodable, Sendable {
        public var lifecycleEvent: String
        public var hook: String
        public var lifecycleEventHookExecutionId: String
        public var status: String
        public var startTime: Double
        public var endTime: Double?
        public var attempt: Int
        public var output: String?
    }
    public struct Alarm: Encodable, Sendable {
        public var name: String; public var state: String?; public var reason: String?
    }
    public struct Event: Encodable, Sendable {
        public var time: Double; public var kind: String; public var message: String;
        public var details: [String: String]
    }
    /// The canary judge: its verdict now and the evidence behind it.
    public struct JudgeView: Encodable, Sendable {
        public var verdict: String
        public var reason: String?
        public var needMore: Int?
        /// Every second before this (seconds since 1970) has been judged.
        public var judgedThrough: Double
        public var evidence: JudgeEvidence
        /// The evidence as the text view shows it.
        public var lines: [String]

        public init(_ judge: DeploymentJudge) {
            let evidence = judge.judge.evidence
            verdict = evidence.verdict.word
            switch evidence.verdict {
            case .abort(let why), .pause(let why): reason = why
            default: reason = nil
            }
            needMore = evidence.needMore
            judgedThrough = judge.judgedThrough
            self.evidence = evidence
            lines = evidence.lines
        }
    }

    // CodeDeploy's fields, both renderings.
    public var deploymentId: String
    public var applicationName = "relctl"
    public var deploymentGroupName: String
    public var deploymentConfigName: String
    public var computePlatform = "Lambda"
    public var status: String
    public var creator: String
    public var createTime: Double
    public var startTime: Double?
    public var completeTime: Double?
    public var errorInformation: ErrorInformation?
    public var rollbackInfo: RollbackInfo?
    // CodeDeploy API only.
    public var description: String?
    public var revision: JSONValue?
    public var deploymentStyle: DeploymentStyle?
    public var deploymentOverview: DeploymentOverview?
    // relctl's view of the rollout (the CLI).
    public var functionName: String?
    public var alias: String?
    public var currentVersion: String?
    public var targetVersion: String?
    public var lifecycleEvent: String?
    public var currentWeight: Double?
    public var step: String?
    public var nextShiftTime: Double?
    public var estimatedCompletionTime: Double?
    public var steps: [Step]?
    public var hooks: [Hook]?
    public var alarms: [Alarm]?
    public var events: [Event]?
    public var judge: JudgeView?

    private init(common d: Deployment, status: String, creator: String) {
        deploymentId = d.id
        deploymentGroupName = "\(d.functionName):\(d.alias)"
        deploymentConfigName = d.policy.name
        self.status = status
        self.creator = creator
        createTime = d.createTime
        startTime = d.startTime
        completeTime = d.completeTime
        errorInformation = d.error.map { ErrorInformation(code: $0.code, message: $0.message) }
        rollbackInfo = d.rollbackMessage.map { RollbackInfo(rollbackMessage: $0) }
    }

    /// As the CodeDeploy API answers it: a paused deployment is InProgress there; the application,
    /// group, description and revision are those CreateDeployment named (`link`), if it made it.
    public init(
        codeDeploy d: Deployment, application: String?, group: String?, description: String?, revision: JSONValue?
    ) {
        self.init(common: d, status: Self.codeDeployStatus(d), creator: "user")
        applicationName = application ?? "relctl"
        deploymentGroupName = group ?? deploymentGroupName
        self.description = description
        self.revision = revision
        deploymentStyle = DeploymentStyle()
        deploymentOverview = DeploymentOverview(
            InProgress: d.status.isActive ? 1 : 0, Succeeded: d.status == .succeeded ? 1 : 0,
            Failed: d.status == .failed ? 1 : 0)
    }

    /// CodeDeploy has no Paused: a paused deployment is still InProgress there.
    public static func codeDeployStatus(_ deployment: Deployment) -> String {
        switch deployment.status {
        case .paused: "InProgress"
        default: deployment.status.rawValue
        }
    }

    /// As the CLI shows it: relctl's own status (Paused included), the step, the hooks, the alarms' states and the event log.
    public init(
        _ d: Deployment, alarms states: [String: AlarmStatus] = [:], events: [DeploymentEventEntry]? = nil,
        judge: DeploymentJudge? = nil
    ) {
        self.init(common: d, status: d.status.rawValue, creator: d.creator)
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
        steps =
            d.policy.stages.enumerated().map { index, stage in
                switch stage {
                case .weight(let percent, let hold):
                    Step(
                        step: index + 1, kind: "Shift", weight: percent, hold: DurationText.format(hold),
                        startTime: d.stageTimes[safe: index])
                case .pause:
                    Step(step: index + 1, kind: "Pause", weight: nil, hold: nil, startTime: d.stageTimes[safe: index])
                }
            } + [
                Step(
                    step: d.policy.stages.count + 1, kind: "Shift", weight: 100, hold: nil,
                    startTime: d.stageTimes[safe: d.policy.stages.count])
            ]
        hooks = d.hooks.map {
            Hook(
                lifecycleEvent: $0.event.rawValue, hook: $0.hook, lifecycleEventHookExecutionId: $0.executionId,
                status: $0.status.rawValue,
                startTime: $0.startedAt, endTime: $0.finishedAt, attempt: $0.attempt, output: $0.output)
        }
        alarms = d.alarms.map { Alarm(name: $0, state: states[$0]?.StateValue, reason: states[$0]?.StateReason) }
        self.events = events?.map {
            Event(time: $0.event.at, kind: $0.event.kind, message: $0.event.message, details: $0.event.details)
        }
        self.judge = judge.map(JudgeView.init)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// Any JSON value, for the parts of an AWS shape that are passed through as the client sent them
/// (a CodeDeploy revision, a deployment group's definition).
public enum JSONValue: Encodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A value `JSONSerialization` produced (numbers keep their integer or floating-point kind, booleans stay booleans).
    public init(_ any: Any) {
        switch any {
        case let value as String: self = .string(value)
        case let value as [Any]: self = .array(value.map(JSONValue.init))
        case let value as [String: Any]: self = .object(value.mapValues(JSONValue.init))
        case let number as NSNumber:
            switch String(cString: number.objCType) {
            case "c", "B": self = .bool(number.boolValue)
            case "d", "f": self = .double(number.doubleValue)
            default: self = .int(number.intValue)
            }
        default: self = .null
        }
    }

    /// The JSON text `text`, or nil when it is not JSON.
    public init?(json text: String) {
        guard let any = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return nil
        }
        self.init(any)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
}
