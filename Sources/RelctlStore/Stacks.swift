import Foundation
import GRDB
import RelctlCore
import RelctlStorage

struct StackRecord: SnakeCaseRecord {
    static let databaseTableName = "stacks"
    var name: String
    var templateHash: String
    var parameters: String
    var status: String
    var statusReason: String?
    var deployments: String
    var createTime: Double
    var updateTime: Double

    init(_ stack: Stack) throws {
        name = stack.name
        templateHash = stack.templateHash
        parameters = String(decoding: try JSONEncoder.sorted.encode(stack.parameters), as: UTF8.self)
        status = stack.status
        statusReason = stack.statusReason
        deployments = String(decoding: try JSONEncoder.sorted.encode(stack.deployments), as: UTF8.self)
        createTime = stack.createTime
        updateTime = stack.updateTime
    }

    func decoded() throws -> Stack {
        Stack(
            name: name, templateHash: templateHash,
            parameters: try JSONDecoder().decode([String: String].self, from: Data(parameters.utf8)),
            status: status, statusReason: statusReason,
            deployments: try JSONDecoder().decode([String].self, from: Data(deployments.utf8)),
            createTime: createTime, updateTime: updateTime)
    }
}

struct StackResourceRecord: SnakeCaseRecord {
    static let databaseTableName = "stack_resources"
    var stackName: String
    var logicalId: String
    var resourceType: String
    var physicalId: String
    var state: String
}

struct StackEventRecord: SnakeCaseRecord {
    static let databaseTableName = "stack_events"
    var id: Int64?
    var stackName: String
    var time: Double
    var logicalId: String
    var resourceType: String
    var physicalId: String?
    var status: String
    var reason: String?
}

extension Registry {
    public func stack(_ name: String) throws(RelctlError) -> Stack? {
        try read { db in try StackRecord.fetchOne(db, key: name)?.decoded() }
    }

    public func stacks() throws(RelctlError) -> [Stack] {
        try read { db in try StackRecord.order(Column("name")).fetchAll(db).map { try $0.decoded() } }
    }

    public func stackResources(_ name: String) throws(RelctlError) -> [StackResource] {
        try read { db in
            try StackResourceRecord.filter(Column("stack_name") == name).order(Column("logical_id")).fetchAll(db).map {
                StackResource(
                    logicalId: $0.logicalId, resourceType: $0.resourceType, physicalId: $0.physicalId, state: $0.state)
            }
        }
    }

    /// Events oldest first.
    public func stackEvents(_ name: String) throws(RelctlError) -> [StackEvent] {
        try read { db in
            try StackEventRecord.filter(Column("stack_name") == name).order(Column("id")).fetchAll(db).map {
                StackEvent(
                    time: $0.time, logicalId: $0.logicalId, resourceType: $0.resourceType, physicalId: $0.physicalId,
                    status: $0.status, reason: $0.reason)
            }
        }
    }

    /// Records a deploy in one transaction: the stack row, the resources it now owns (replacing the
    /// previous list) and its events.
    public func saveStack(_ stack: Stack, resources: [StackResource], events: [StackEvent]) throws(RelctlError) {
        try write { db, _ in
            try StackRecord(stack).save(db)
            try StackResourceRecord.filter(Column("stack_name") == stack.name).deleteAll(db)
            for resource in resources {
                try StackResourceRecord(
                    stackName: stack.name, logicalId: resource.logicalId, resourceType: resource.resourceType,
                    physicalId: resource.physicalId, state: resource.state
                ).insert(db)
            }
            try insertStackEvents(db, stack.name, events)
            try audit(db, "SaveStack", function: nil, resource: "stack:\(stack.name)")
        }
    }

    /// The outcome of a deploy's deployments: status, reason, and the events that explain it, recorded
    /// only while the stack is still `inProgress` with exactly `deployments` (false otherwise: another
    /// process recorded it first). `resourceStates` replaces the state of those resources (a function
    /// whose deployment failed records the version its alias went back to).
    @discardableResult
    public func finishStack(
        _ name: String, from inProgress: String, deployments: [String], status: String, reason: String?,
        resourceStates: [String: String] = [:], events: [StackEvent]
    ) throws(RelctlError) -> Bool {
        try write { db, _ in
            guard var record = try StackRecord.fetchOne(db, key: name) else {
                throw RelctlError(.resourceNotFound, "Stack \(name) does not exist.")
            }
            guard record.status == inProgress, try record.decoded().deployments == deployments else { return false }
            record.status = status
            record.statusReason = reason
            record.updateTime = clock().timeIntervalSince1970
            try record.update(db)
            for (logicalId, state) in resourceStates {
                try db.execute(
                    sql: "UPDATE stack_resources SET state = ? WHERE stack_name = ? AND logical_id = ?",
                    arguments: [state, name, logicalId])
            }
            try insertStackEvents(db, name, events)
            return true
        }
    }

    /// Forgets a stack (its events stay). The resources themselves are deleted by the caller first.
    public func deleteStackRecord(_ name: String, events: [StackEvent]) throws(RelctlError) {
        try write { db, _ in
            _ = try StackRecord.deleteOne(db, key: name)
            try insertStackEvents(db, name, events)
            try audit(db, "DeleteStack", function: nil, resource: "stack:\(name)")
        }
    }

    /// The highest version a function ever published (0: none; nil: no such function): the next is one more.
    public func highestFunctionVersion(_ name: String) throws(RelctlError) -> Int? {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT highest_version FROM functions WHERE name = ?", arguments: [name])
        }
    }

    /// The highest version a layer ever had (0 for a new layer): its next version is one more.
    public func highestLayerVersion(_ name: String) throws(RelctlError) -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT highest_version FROM layers WHERE name = ?", arguments: [name]) ?? 0
        }
    }

    /// Removes a deployment config a stack created (CodeDeploy's DeleteDeploymentConfig).
    @discardableResult
    public func deleteCodeDeployConfig(_ name: String) throws(RelctlError) -> Bool {
        try write { db, _ in
            try db.execute(sql: "DELETE FROM codedeploy_configs WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { return false }
            try audit(db, "DeleteDeploymentConfig", function: nil, resource: "codedeploy:deploymentconfig:\(name)")
            return true
        }
    }

    private func insertStackEvents(_ db: Database, _ name: String, _ events: [StackEvent]) throws {
        for event in events {
            try StackEventRecord(
                id: nil, stackName: name, time: event.time, logicalId: event.logicalId,
                resourceType: event.resourceType,
                physicalId: event.physicalId, status: event.status, reason: event.reason
            ).insert(db)
        }
    }
}

// The stack engine's store protocol: the registry's synchronous methods (here and in CloudFormation.swift)
// answer its async requirements.
extension Registry: StackStore {
    public func scopedStacks(region: String, actor: String) -> any StackStore {
        scoped(region: region, actor: actor)
    }
}
