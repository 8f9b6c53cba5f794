import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// AddPermission, GetPolicy and RemovePermission on PostgreSQL, with SQLite's answers and messages
// (Registry's Policies.swift; the statements, their JSON and the errors are RelctlCore's ResourcePolicy,
// shared by both engines). One row of `function_policies` per function ('' qualifier), version or alias;
// a version's or alias's row goes with it (the schema's triggers), the function's rows with the function.
extension PostgresStore {
    public func addPermission(
        _ function: FunctionReference, _ grant: PermissionGrant, expectedRevisionId: String?
    ) async throws(RelctlError) -> String {
        try grant.validate()
        try requireAccount(function)
        return try await write(records: true) { db in
            let target = try db.policyTarget(function)
            let policy = try db.functionPolicy(function.name, target.qualifier)
            try ResourcePolicy.requireRevision(expectedRevisionId, of: policy?.revisionId, readBy: "GetPolicy")
            let statement = grant.statement(resource: target.resource)
            try db.saveFunctionPolicy(
                function.name, target.qualifier, try ResourcePolicy.adding(statement, to: policy?.statements))
            try db.audit(
                "AddPermission", function: function.name, resource: target.resource, before: nil as String?,
                after: statement)
            return statement.jsonText
        }
    }

    public func getPolicy(
        _ function: FunctionReference
    ) async throws(RelctlError) -> (policy: String, revisionId: String) {
        // `$LATEST` answers "no policy" once its function exists, before any account check (as on SQLite).
        if function.qualifier != .latest { try requireAccount(function) }
        let policy = try await readRecords { db in
            if function.qualifier == .latest {
                try db.requireFunction(function.name)
                throw ResourcePolicy.resourceDoesNotExist
            }
            guard let policy = try db.functionPolicy(function.name, try db.policyTarget(function).qualifier) else {
                throw ResourcePolicy.resourceDoesNotExist
            }
            return policy
        }
        return (ResourcePolicy.document(policy.statements), policy.revisionId)
    }

    public func removePermission(
        _ function: FunctionReference, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError) {
        if function.qualifier != .latest { try requireAccount(function) }
        try await write(records: true) { db in
            if function.qualifier == .latest {
                try db.requireFunction(function.name)
                throw ResourcePolicy.noPolicy
            }
            let target = try db.policyTarget(function)
            guard let policy = try db.functionPolicy(function.name, target.qualifier) else {
                throw ResourcePolicy.noPolicy
            }
            try ResourcePolicy.requireRevision(expectedRevisionId, of: policy.revisionId, readBy: "GetPolicy")
            let (remaining, removed) = try ResourcePolicy.removing(statementId, from: policy.statements)
            try db.saveFunctionPolicy(function.name, target.qualifier, remaining)
            try db.audit(
                "RemovePermission", function: function.name, resource: target.resource, before: removed,
                after: nil as String?)
        }
    }
}

extension PostgresRecords {
    public func addPermission(
        _ function: FunctionReference, _ grant: PermissionGrant, expectedRevisionId: String?
    ) async throws(RelctlError) -> String {
        try await store.addPermission(function, grant, expectedRevisionId: expectedRevisionId)
    }

    public func getPolicy(
        _ function: FunctionReference
    ) async throws(RelctlError) -> (policy: String, revisionId: String) {
        try await store.getPolicy(function)
    }

    public func removePermission(
        _ function: FunctionReference, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError) {
        try await store.removePermission(function, statementId: statementId, expectedRevisionId: expectedRevisionId)
    }
}

/// A `function_policies` row: the statements (JSON) and the RevisionId.
struct FunctionPolicyRow: Sendable {
    var statements: String
    var revisionId: String
}

extension PostgresTransaction {
    /// The policy key ('' for the function, a version number or an alias name) and the resource ARN of a
    /// function, version or alias; checks that it exists (SQLite's `policyTarget`).
    func policyTarget(_ function: FunctionReference) throws -> (qualifier: String, resource: String) {
        try requireFunction(function.name)
        return try ResourcePolicy.target(of: function, arn: arn) { qualifier in
            switch qualifier {
            case .latest: false
            case .version(let number): try versionExists(function: function.name, version: number)
            case .alias(let name): try aliasRow(function.name, name) != nil
            }
        }
    }

    func functionPolicy(_ function: String, _ qualifier: String) throws -> FunctionPolicyRow? {
        try db.rows(
            """
            SELECT statements, revision_id FROM function_policies
            WHERE function_name = \(function) AND qualifier = \(qualifier)
            """
        ).first.map {
            let (statements, revisionId) = try $0.decode((String, String).self)
            return FunctionPolicyRow(statements: statements, revisionId: revisionId)
        }
    }

    /// Saves the statements with a new RevisionId, or deletes the policy when none is left (SQLite's `save`).
    func saveFunctionPolicy(_ function: String, _ qualifier: String, _ statements: [PolicyStatement]) throws {
        guard !statements.isEmpty else {
            try db.execute(
                "DELETE FROM function_policies WHERE function_name = \(function) AND qualifier = \(qualifier)")
            return
        }
        try db.execute(
            """
            INSERT INTO function_policies (function_name, qualifier, statements, revision_id)
            VALUES (\(function), \(qualifier), \(ResourcePolicy.json(statements)), \(PostgresStore.newRevisionId()))
            ON CONFLICT (function_name, qualifier) DO UPDATE
              SET statements = excluded.statements, revision_id = excluded.revision_id
            """)
    }
}
