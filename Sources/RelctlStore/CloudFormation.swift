import Foundation
import GRDB
import RelctlCore
import RelctlStorage

// The records' GRDB conformances (the records themselves are RelctlStorage's, shared by every engine).
extension ChangeSetRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "cloudformation_change_sets"
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

extension CloudFormationStackRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "cloudformation_stacks"
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
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
