import Foundation
import RelctlCore

/// A stack: what `relctl sam deploy` made from a template, recorded so the next deploy is a diff.
public struct Stack: Sendable, Codable, Equatable {
    public var name: String
    public var templateHash: String
    /// The resolved parameter values of the last deploy.
    public var parameters: [String: String]
    public var status: String
    public var statusReason: String?
    /// The deployments the last deploy started.
    public var deployments: [String]
    public var createTime: Double
    public var updateTime: Double

    public init(
        name: String, templateHash: String, parameters: [String: String], status: String, statusReason: String? = nil,
        deployments: [String] = [], createTime: Double, updateTime: Double
    ) {
        self.name = name
        self.templateHash = templateHash
        self.parameters = parameters
        self.status = status
        self.statusReason = statusReason
        self.deployments = deployments
        self.createTime = createTime
        self.updateTime = updateTime
    }
}

/// One resource a stack owns: its logical id in the template, the registry name it has, and the
/// state (as JSON) the planner compares the next template against.
public struct StackResource: Sendable, Codable, Equatable {
    public var logicalId: String
    public var resourceType: String
    public var physicalId: String
    public var state: String

    public init(logicalId: String, resourceType: String, physicalId: String, state: String) {
        self.logicalId = logicalId
        self.resourceType = resourceType
        self.physicalId = physicalId
        self.state = state
    }
}

/// One line of a stack's event log (CloudFormation's StackEvent, reduced).
public struct StackEvent: Sendable, Codable, Equatable {
    public var time: Double
    public var logicalId: String
    public var resourceType: String
    public var physicalId: String?
    public var status: String
    public var reason: String?

    public init(
        time: Double, logicalId: String, resourceType: String, physicalId: String? = nil, status: String,
        reason: String? = nil
    ) {
        self.time = time
        self.logicalId = logicalId
        self.resourceType = resourceType
        self.physicalId = physicalId
        self.status = status
        self.reason = reason
    }
}

/// A CloudFormation change set as the server's CloudFormation subset keeps it: the template as sent,
/// its parameters, and the planned changes (JSON) DescribeChangeSet shows.
public struct ChangeSetRecord: Codable, Sendable, Equatable {
    /// The change set's ARN.
    public var id: String
    public var name: String
    public var stackName: String
    public var stackId: String
    /// CREATE or UPDATE.
    public var changeSetType: String
    public var template: String
    /// The parameter values as a JSON object.
    public var parameters: String
    public var description: String?
    /// The capabilities given, as a JSON array.
    public var capabilities: String
    /// CREATE_COMPLETE or FAILED.
    public var status: String
    public var statusReason: String?
    /// AVAILABLE, UNAVAILABLE, EXECUTE_COMPLETE or OBSOLETE.
    public var executionStatus: String
    /// The planned changes as JSON.
    public var changes: String
    public var createTime: Double

    public init(
        id: String, name: String, stackName: String, stackId: String, changeSetType: String, template: String,
        parameters: String,
        description: String?, capabilities: String, status: String, statusReason: String?, executionStatus: String,
        changes: String,
        createTime: Double
    ) {
        self.id = id
        self.name = name
        self.stackName = stackName
        self.stackId = stackId
        self.changeSetType = changeSetType
        self.template = template
        self.parameters = parameters
        self.description = description
        self.capabilities = capabilities
        self.status = status
        self.statusReason = statusReason
        self.executionStatus = executionStatus
        self.changes = changes
        self.createTime = createTime
    }
}

/// What CloudFormation remembers of a stack beyond relctl's own stack record: its id (an ARN) and
/// the template it last executed.
public struct CloudFormationStackRecord: Codable, Sendable, Equatable {
    public var stackName: String
    public var stackId: String
    public var template: String
    public var changeSetId: String?
    public var description: String?

    public init(stackName: String, stackId: String, template: String, changeSetId: String?, description: String?) {
        self.stackName = stackName
        self.stackId = stackId
        self.template = template
        self.changeSetId = changeSetId
        self.description = description
    }
}

/// The stack engine's own records (what `sam deploy` made, through `relctl sam deploy` or the server's
/// CloudFormation API) on any engine: stacks, the resources each owns, their event logs, CloudFormation's
/// change sets and templates, and the few registry reads and deletes the stack engine needs beyond
/// `RegistryRecords`. Each call is one transaction.
public protocol StackStore: Sendable {
    /// The same store recording another actor in its audit rows (one per request).
    func scopedStacks(region: String, actor: String) -> any StackStore

    func stack(_ name: String) async throws(RelctlError) -> Stack?
    /// Every stack, by name.
    func stacks() async throws(RelctlError) -> [Stack]
    /// A stack's resources, by logical id.
    func stackResources(_ name: String) async throws(RelctlError) -> [StackResource]
    /// A stack's events, oldest first.
    func stackEvents(_ name: String) async throws(RelctlError) -> [StackEvent]
    /// Records a deploy: the stack row, the resources it now owns (replacing the previous list) and its events.
    func saveStack(_ stack: Stack, resources: [StackResource], events: [StackEvent]) async throws(RelctlError)
    /// The outcome of a deploy's deployments, recorded only while the stack is still `inProgress` with
    /// exactly `deployments` (compare-and-set in one write: of several writers settling it at once, one
    /// records the outcome and its events); false when it was not. ResourceNotFound when the stack is gone;
    /// `resourceStates` replaces those resources' states.
    @discardableResult
    func finishStack(
        _ name: String, from inProgress: String, deployments: [String], status: String, reason: String?,
        resourceStates: [String: String], events: [StackEvent]
    ) async throws(RelctlError) -> Bool
    /// Forgets a stack (its events stay); the caller has deleted its resources first.
    func deleteStackRecord(_ name: String, events: [StackEvent]) async throws(RelctlError)
    /// Adds an event to a stack's log without touching its record.
    func appendStackEvent(_ name: String, _ event: StackEvent) async throws(RelctlError)

    /// The highest version a function ever published (0: none; nil: no such function).
    func highestFunctionVersion(_ name: String) async throws(RelctlError) -> Int?
    /// The highest version a layer ever had (0 for a new layer).
    func highestLayerVersion(_ name: String) async throws(RelctlError) -> Int
    /// Removes a deployment config a stack created; false when there was none.
    @discardableResult
    func deleteCodeDeployConfig(_ name: String) async throws(RelctlError) -> Bool

    /// Records a change set; one of the same name on the stack is replaced only if it was never executed.
    func saveChangeSet(_ changeSet: ChangeSetRecord) async throws(RelctlError)
    /// A change set by its ARN, or by its name on a stack (given by name or id).
    func changeSet(_ nameOrId: String, stack: String?) async throws(RelctlError) -> ChangeSetRecord?
    /// A stack's change sets (by its name or id), newest first.
    func changeSets(stack: String) async throws(RelctlError) -> [ChangeSetRecord]
    func updateChangeSetExecution(_ id: String, executionStatus: String) async throws(RelctlError)
    func deleteChangeSet(_ id: String) async throws(RelctlError) -> Bool
    /// Forgets a stack's change sets (after the stack is deleted).
    func deleteChangeSets(stack: String) async throws(RelctlError)
    /// The CloudFormation record of a stack, by its name or its id.
    func cloudFormationStack(_ name: String) async throws(RelctlError) -> CloudFormationStackRecord?
    /// Records the template a stack executed (the stack's own record must exist: it goes with it).
    func saveCloudFormationStack(_ record: CloudFormationStackRecord) async throws(RelctlError)
}
