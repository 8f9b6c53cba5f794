import Foundation
import GRDB
import RelctlCore

/// A CloudFormation change set as the server's CloudFormation subset keeps it: the template as sent,
/// its parameters, and the planned changes (JSON) DescribeChangeSet shows.
public struct ChangeSetRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "cloudformation_change_sets"
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
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
public struct CloudFormationStackRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "cloudformation_stacks"
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
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

extension Registry {
    /// Records a new change set; a change set of the same name on the stack is replaced only if it was never executed.
    public func saveChangeSet(_ changeSet: ChangeSetRecord) throws(RelctlError) {
        try write { db, _ in
            if let existing = try ChangeSetRecord.filter(
                Column("stack_name") == changeSet.stackName && Column("name") == changeSet.name
            ).fetchOne(db) {
                guard existing.executionStatus != "EXECUTE_COMPLETE" else {
                    throw RelctlError(
                        .resourceConflict,
                        "ChangeSet \(changeSet.name) already exists for stack \(changeSet.stackName).")
                }
                try existing.delete(db)
            }
            try changeSet.insert(db)
            try audit(
                db, "CreateChangeSet", function: nil,
                resource: "stack:\(changeSet.stackName) changeset:\(changeSet.name)")
        }
    }

    /// A change set by its ARN, or by its name on a stack (given by name or id).
    public func changeSet(_ nameOrId: String, stack: String?) throws(RelctlError) -> ChangeSetRecord? {
        try read { db in
            if let found = try ChangeSetRecord.fetchOne(db, key: nameOrId) { return found }
            guard let stack else { return nil }
            return try ChangeSetRecord.filter(
                Column("name") == nameOrId && (Column("stack_name") == stack || Column("stack_id") == stack)
            ).fetchOne(db)
        }
    }

    /// A stack's change sets, newest first.
    public func changeSets(stack: String) throws(RelctlError) -> [ChangeSetRecord] {
        try read { db in
            try ChangeSetRecord.filter(Column("stack_name") == stack || Column("stack_id") == stack).order(
                Column("create_time").desc
            ).fetchAll(db)
        }
    }

    public func updateChangeSetExecution(_ id: String, executionStatus: String) throws(RelctlError) {
        try write { db, _ in
            try db.execute(
                sql: "UPDATE cloudformation_change_sets SET execution_status = ? WHERE id = ?",
                arguments: [executionStatus, id])
        }
    }

    public func deleteChangeSet(_ id: String) throws(RelctlError) -> Bool {
        try write { db, _ in try ChangeSetRecord.deleteOne(db, key: id) }
    }

    /// Forgets a stack's change sets (after the stack is deleted).
    public func deleteChangeSets(stack: String) throws(RelctlError) {
        try write { db, _ in _ = try ChangeSetRecord.filter(Column("stack_name") == stack).deleteAll(db) }
    }

    /// Adds an event to a stack's log without touching its record (a stack awaiting its first change
    /// set is `REVIEW_IN_PROGRESS`, as CloudFormation logs it, before relctl has a record of it).
    public func appendStackEvent(_ name: String, _ event: StackEvent) throws(RelctlError) {
        try write { db, _ in
            try StackEventRecord(
                id: nil, stackName: name, time: event.time, logicalId: event.logicalId,
                resourceType: event.resourceType,
                physicalId: event.physicalId, status: event.status, reason: event.reason
            ).insert(db)
        }
    }

    public func cloudFormationStack(_ name: String) throws(RelctlError) -> CloudFormationStackRecord? {
        try read { db in
            if let found = try CloudFormationStackRecord.fetchOne(db, key: name) { return found }
            return try CloudFormationStackRecord.filter(Column("stack_id") == name).fetchOne(db)
        }
    }

    /// Records the template a stack executed (the stack's own record must exist: it goes with it).
    public func saveCloudFormationStack(_ record: CloudFormationStackRecord) throws(RelctlError) {
        try write { db, _ in try record.save(db) }
    }
}
