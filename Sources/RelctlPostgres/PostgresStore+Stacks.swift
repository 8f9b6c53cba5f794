import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// The stack engine's records on PostgreSQL (`sam deploy` through the server's CloudFormation API), with
// SQLite's answers and errors (RelctlStore/Stacks.swift, CloudFormation.swift): stacks, their resources
// and events, change sets and CloudFormation's templates, in the tables of schema 5. Names list in byte
// order (`COLLATE "C"`), as SQLite lists them. Writes hold the store's one write lock like every other.

extension PostgresStore: StackStore {
    public func scopedStacks(region: String, actor: String) -> any StackStore {
        scoped(region: region, actor: actor)
    }

    public func stack(_ name: String) async throws(RelctlError) -> Stack? {
        try await readRecords { db in try db.stacks(where: "WHERE name = \(name)").first }
    }

    public func stacks() async throws(RelctlError) -> [Stack] {
        try await readRecords { db in try db.stacks(where: #"ORDER BY name COLLATE "C""#) }
    }

    public func stackResources(_ name: String) async throws(RelctlError) -> [StackResource] {
        try await readRecords { db in try db.stackResources(name) }
    }

    public func stackEvents(_ name: String) async throws(RelctlError) -> [StackEvent] {
        try await readRecords { db in
            try db.db.rows(
                """
                SELECT time, logical_id, resource_type, physical_id, status, reason FROM stack_events
                WHERE stack_name = \(name) ORDER BY id
                """
            ).map { row in
                let (time, logicalId, resourceType, physicalId, status, reason) = try row.decode(
                    (Double, String, String, String?, String, String?).self)
                return StackEvent(
                    time: time, logicalId: logicalId, resourceType: resourceType, physicalId: physicalId,
                    status: status, reason: reason)
            }
        }
    }

    public func saveStack(_ stack: Stack, resources: [StackResource], events: [StackEvent]) async throws(RelctlError) {
        try await quietWrite { db in
            let (parameters, deployments) = (try JSON.encode(stack.parameters), try JSON.encode(stack.deployments))
            try db.db.execute(
                """
                INSERT INTO stacks (name, template_hash, parameters, status, status_reason, deployments, create_time, update_time)
                VALUES (\(stack.name), \(stack.templateHash), \(parameters), \(stack.status), \(stack.statusReason),
                        \(deployments), \(stack.createTime), \(stack.updateTime))
                ON CONFLICT (name) DO UPDATE SET template_hash = excluded.template_hash,
                    parameters = excluded.parameters, status = excluded.status, status_reason = excluded.status_reason,
                    deployments = excluded.deployments, create_time = excluded.create_time,
                    update_time = excluded.update_time
                """)
            try db.db.execute("DELETE FROM stack_resources WHERE stack_name = \(stack.name)")
            for resource in resources {
                try db.db.execute(
                    """
                    INSERT INTO stack_resources (stack_name, logical_id, resource_type, physical_id, state)
                    VALUES (\(stack.name), \(resource.logicalId), \(resource.resourceType), \(resource.physicalId),
                            \(resource.state))
                    """)
            }
            try db.insertStackEvents(stack.name, events)
            try db.audit(
                "SaveStack", function: nil, resource: "stack:\(stack.name)", before: nil as String?,
                after: nil as String?)
        }
    }

    /// Compare-and-set on the stack's status and deployments inside the one write lock every writer
    /// holds: servers (and a foreground `sam deploy`) settling the same stack at once read it in turn,
    /// and only the first still finds it in progress, so its outcome events are recorded once.
    @discardableResult
    public func finishStack(
        _ name: String, from inProgress: String, deployments: [String], status: String, reason: String?,
        resourceStates: [String: String], events: [StackEvent]
    ) async throws(RelctlError) -> Bool {
        try await quietWrite { db in
            guard let current = try db.stacks(where: "WHERE name = \(name)").first else {
                throw RelctlError(.resourceNotFound, "Stack \(name) does not exist.")
            }
            guard current.status == inProgress, current.deployments == deployments else { return false }
            try db.db.execute(
                """
                UPDATE stacks SET status = \(status), status_reason = \(reason), update_time = \(db.now)
                WHERE name = \(name)
                """)
            for (logicalId, state) in resourceStates {
                try db.db.execute(
                    "UPDATE stack_resources SET state = \(state) WHERE stack_name = \(name) AND logical_id = \(logicalId)"
                )
            }
            try db.insertStackEvents(name, events)
            return true
        }
    }

    public func deleteStackRecord(_ name: String, events: [StackEvent]) async throws(RelctlError) {
        try await quietWrite { db in
            try db.db.execute("DELETE FROM stacks WHERE name = \(name)")
            try db.insertStackEvents(name, events)
            try db.audit(
                "DeleteStack", function: nil, resource: "stack:\(name)", before: nil as String?, after: nil as String?)
        }
    }

    public func appendStackEvent(_ name: String, _ event: StackEvent) async throws(RelctlError) {
        try await quietWrite { db in try db.insertStackEvents(name, [event]) }
    }

    public func highestFunctionVersion(_ name: String) async throws(RelctlError) -> Int? {
        try await readRecords { db in
            try db.db.rows("SELECT highest_version FROM functions WHERE name = \(name)").first?.decode(Int.self)
        }
    }

    public func highestLayerVersion(_ name: String) async throws(RelctlError) -> Int {
        try await readRecords { db in
            try db.db.rows("SELECT highest_version FROM layers WHERE name = \(name)").first?.decode(Int.self) ?? 0
        }
    }

    @discardableResult
    public func deleteCodeDeployConfig(_ name: String) async throws(RelctlError) -> Bool {
        try await quietWrite { db in
            guard try db.db.execute("DELETE FROM codedeploy_configs WHERE name = \(name)") > 0 else { return false }
            try db.audit(
                "DeleteDeploymentConfig", function: nil, resource: "codedeploy:deploymentconfig:\(name)",
                before: nil as String?, after: nil as String?)
            return true
        }
    }

    // MARK: CloudFormation's change sets and templates

    public func saveChangeSet(_ changeSet: ChangeSetRecord) async throws(RelctlError) {
        try await quietWrite { db in
            if let existing = try db.changeSets(
                "WHERE stack_name = \(changeSet.stackName) AND name = \(changeSet.name)"
            ).first {
                guard existing.executionStatus != "EXECUTE_COMPLETE" else {
                    throw RelctlError(
                        .resourceConflict,
                        "ChangeSet \(changeSet.name) already exists for stack \(changeSet.stackName).")
                }
                try db.db.execute("DELETE FROM cloudformation_change_sets WHERE id = \(existing.id)")
            }
            try db.db.execute(
                """
                INSERT INTO cloudformation_change_sets (id, name, stack_name, stack_id, change_set_type, template,
                    parameters, description, capabilities, status, status_reason, execution_status, changes, create_time)
                VALUES (\(changeSet.id), \(changeSet.name), \(changeSet.stackName), \(changeSet.stackId),
                        \(changeSet.changeSetType), \(changeSet.template), \(changeSet.parameters), \(changeSet.description),
                        \(changeSet.capabilities), \(changeSet.status), \(changeSet.statusReason),
                        \(changeSet.executionStatus), \(changeSet.changes), \(changeSet.createTime))
                """)
            try db.audit(
                "CreateChangeSet", function: nil, resource: "stack:\(changeSet.stackName) changeset:\(changeSet.name)",
                before: nil as String?, after: nil as String?)
        }
    }

    public func changeSet(_ nameOrId: String, stack: String?) async throws(RelctlError) -> ChangeSetRecord? {
        try await readRecords { db in
            if let found = try db.changeSets("WHERE id = \(nameOrId)").first { return found }
            guard let stack else { return nil }
            return try db.changeSets(
                "WHERE name = \(nameOrId) AND (stack_name = \(stack) OR stack_id = \(stack)) LIMIT 1"
            ).first
        }
    }

    public func changeSets(stack: String) async throws(RelctlError) -> [ChangeSetRecord] {
        try await readRecords { db in
            try db.changeSets("WHERE stack_name = \(stack) OR stack_id = \(stack) ORDER BY create_time DESC")
        }
    }

    public func updateChangeSetExecution(_ id: String, executionStatus: String) async throws(RelctlError) {
        try await quietWrite { db in
            try db.db.execute(
                "UPDATE cloudformation_change_sets SET execution_status = \(executionStatus) WHERE id = \(id)")
        }
    }

    public func deleteChangeSet(_ id: String) async throws(RelctlError) -> Bool {
        try await quietWrite { db in
            try db.db.execute("DELETE FROM cloudformation_change_sets WHERE id = \(id)") > 0
        }
    }

    public func deleteChangeSets(stack: String) async throws(RelctlError) {
        try await quietWrite { db in
            try db.db.execute("DELETE FROM cloudformation_change_sets WHERE stack_name = \(stack)")
        }
    }

    public func cloudFormationStack(_ name: String) async throws(RelctlError) -> CloudFormationStackRecord? {
        try await readRecords { db in
            let query: PostgresQuery = """
                SELECT stack_name, stack_id, template, change_set_id, description FROM cloudformation_stacks
                WHERE stack_name = \(name) OR stack_id = \(name) ORDER BY stack_name = \(name) DESC LIMIT 1
                """
            return try db.db.rows(query).first.map { row in
                let (stackName, stackId, template, changeSetId, description) = try row.decode(
                    (String, String, String, String?, String?).self)
                return CloudFormationStackRecord(
                    stackName: stackName, stackId: stackId, template: template, changeSetId: changeSetId,
                    description: description)
            }
        }
    }

    public func saveCloudFormationStack(_ record: CloudFormationStackRecord) async throws(RelctlError) {
        try await quietWrite { db in
            try db.db.execute(
                """
                INSERT INTO cloudformation_stacks (stack_name, stack_id, template, change_set_id, description)
                VALUES (\(record.stackName), \(record.stackId), \(record.template), \(record.changeSetId), \(record.description))
                ON CONFLICT (stack_name) DO UPDATE SET stack_id = excluded.stack_id, template = excluded.template,
                    change_set_id = excluded.change_set_id, description = excluded.description
                """)
        }
    }
}

extension PostgresTransaction {
    /// Stacks, decoded, after `clause` (a WHERE and / or ORDER BY).
    func stacks(where clause: PostgresQuery) throws -> [Stack] {
        var query: PostgresQuery = """
            SELECT name, template_hash, parameters, status, status_reason, deployments, create_time, update_time
            FROM stacks
            """
        query.sql += " " + clause.sql
        query.binds = clause.binds
        return try db.rows(query).map { row in
            let (name, templateHash, parameters, status, reason, deployments, createTime, updateTime) = try row.decode(
                (String, String, String, String, String?, String, Double, Double).self)
            return Stack(
                name: name, templateHash: templateHash, parameters: try JSON.decode([String: String].self, parameters),
                status: status, statusReason: reason, deployments: try JSON.decode([String].self, deployments),
                createTime: createTime, updateTime: updateTime)
        }
    }

    func stackResources(_ name: String) throws -> [StackResource] {
        try db.rows(
            #"""
            SELECT logical_id, resource_type, physical_id, state FROM stack_resources
            WHERE stack_name = \#(name) ORDER BY logical_id COLLATE "C"
            """#
        ).map { row in
            let (logicalId, resourceType, physicalId, state) = try row.decode((String, String, String, String).self)
            return StackResource(logicalId: logicalId, resourceType: resourceType, physicalId: physicalId, state: state)
        }
    }

    func insertStackEvents(_ name: String, _ events: [StackEvent]) throws {
        for event in events {
            try db.execute(
                """
                INSERT INTO stack_events (stack_name, time, logical_id, resource_type, physical_id, status, reason)
                VALUES (\(name), \(event.time), \(event.logicalId), \(event.resourceType), \(event.physicalId),
                        \(event.status), \(event.reason))
                """)
        }
    }

    /// Change sets, decoded, after `clause`.
    func changeSets(_ clause: PostgresQuery) throws -> [ChangeSetRecord] {
        var query: PostgresQuery = """
            SELECT id, name, stack_name, stack_id, change_set_type, template, parameters, description, capabilities,
                   status, status_reason, execution_status, changes, create_time
            FROM cloudformation_change_sets
            """
        query.sql += " " + clause.sql
        query.binds = clause.binds
        return try db.rows(query).map { row in
            let columns = try row.decode(
                (
                    String, String, String, String, String, String, String, String?, String, String, String?, String,
                    String, Double
                ).self)
            let (id, name, stackName, stackId, type, template, parameters) = (
                columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6
            )
            let (description, capabilities, status, reason, execution, changes, createTime) = (
                columns.7, columns.8, columns.9, columns.10, columns.11, columns.12, columns.13
            )
            return ChangeSetRecord(
                id: id, name: name, stackName: stackName, stackId: stackId, changeSetType: type, template: template,
                parameters: parameters, description: description, capabilities: capabilities, status: status,
                statusReason: reason, executionStatus: execution, changes: changes, createTime: createTime)
        }
    }
}
