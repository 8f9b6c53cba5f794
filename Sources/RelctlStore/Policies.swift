import Foundation
import GRDB
import RelctlCore

/// A stored policy document: its statements (JSON) and its RevisionId.
protocol StoredPolicy: SnakeCaseRecord {
    var statements: String { get set }
    var revisionId: String { get set }
}

/// A function's (or version's, or alias's) resource-based policy: AddPermission's statements.
struct FunctionPolicyRecord: StoredPolicy {
    static let databaseTableName = "function_policies"
    var functionName: String
    /// "" for the unqualified function, else a version number or an alias name.
    var qualifier: String
    var statements: String
    var revisionId: String
}

/// A layer version's policy: AddLayerVersionPermission's statements.
struct LayerVersionPolicyRecord: StoredPolicy {
    static let databaseTableName = "layer_version_policies"
    var layerName: String
    var layerVersion: Int
    var statements: String
    var revisionId: String
}

extension Registry {
    /// Saves `statements` as the policy with a new RevisionId (returned), or deletes the policy when none is left.
    @discardableResult
    static func save<Policy: StoredPolicy>(
        _ statements: [PolicyStatement], as policy: Policy, _ db: Database
    ) throws -> String {
        guard !statements.isEmpty else {
            try policy.delete(db)
            return ""
        }
        var policy = policy
        policy.statements = ResourcePolicy.json(statements)
        policy.revisionId = Registry.newRevisionId()
        try policy.save(db)
        return policy.revisionId
    }

    // MARK: - Function policies

    /// The policy key and resource ARN of a function, version or alias; checks that it exists.
    func policyTarget(_ db: Database, _ function: FunctionReference) throws -> (qualifier: String, resource: String) {
        try requireAccount(function)
        _ = try requireFunction(db, function.name)
        return try ResourcePolicy.target(of: function, arn: arn) { qualifier in
            switch qualifier {
            case .latest: false
            case .version(let number): try version(db, function.name, number) != nil
            case .alias(let name):
                try AliasRecord.fetchOne(db, key: ["function_name": function.name, "name": name]) != nil
            }
        }
    }

    /// AddPermission: a statement on the function, a version or an alias. Returns the statement's JSON.
    public func addPermission(
        _ function: FunctionReference, _ grant: PermissionGrant, expectedRevisionId: String? = nil
    ) throws(RelctlError) -> String {
        try grant.validate()
        return try write { db, _ in
            let (qualifier, resource) = try policyTarget(db, function)
            let record = try FunctionPolicyRecord.fetchOne(
                db, key: ["function_name": function.name, "qualifier": qualifier])
            try ResourcePolicy.requireRevision(expectedRevisionId, of: record?.revisionId, readBy: "GetPolicy")
            let statement = grant.statement(resource: resource)
            try Self.save(
                try ResourcePolicy.adding(statement, to: record?.statements),
                as: record
                    ?? FunctionPolicyRecord(
                        functionName: function.name, qualifier: qualifier, statements: "", revisionId: ""), db)
            try audit(db, "AddPermission", function: function.name, resource: resource, after: statement)
            return statement.jsonText
        }
    }

    /// GetPolicy: the policy document's JSON and its RevisionId.
    public func getPolicy(_ function: FunctionReference) throws(RelctlError) -> (policy: String, revisionId: String) {
        try read { db in
            if function.qualifier == .latest {
                _ = try requireFunction(db, function.name); throw ResourcePolicy.resourceDoesNotExist
            }
            let (qualifier, _) = try policyTarget(db, function)
            guard
                let record = try FunctionPolicyRecord.fetchOne(
                    db, key: ["function_name": function.name, "qualifier": qualifier])
            else {
                throw ResourcePolicy.resourceDoesNotExist
            }
            return (ResourcePolicy.document(record.statements), record.revisionId)
        }
    }

    /// RemovePermission. The policy goes when its last statement does.
    public func removePermission(
        _ function: FunctionReference, statementId: String, expectedRevisionId: String? = nil
    ) throws(RelctlError) {
        try write { db, _ in
            if function.qualifier == .latest {
                _ = try requireFunction(db, function.name); throw ResourcePolicy.noPolicy
            }
            let (qualifier, resource) = try policyTarget(db, function)
            guard
                let record = try FunctionPolicyRecord.fetchOne(
                    db, key: ["function_name": function.name, "qualifier": qualifier])
            else {
                throw ResourcePolicy.noPolicy
            }
            try ResourcePolicy.requireRevision(expectedRevisionId, of: record.revisionId, readBy: "GetPolicy")
            let (remaining, removed) = try ResourcePolicy.removing(statementId, from: record.statements)
            try Self.save(remaining, as: record, db)
            try audit(db, "RemovePermission", function: function.name, resource: resource, before: removed)
        }
    }

    // MARK: - Layer version policies

    func requireLiveLayerVersion(_ db: Database, _ name: String, _ version: Int) throws {
        guard let record = try LayerVersionRecord.fetchOne(db, key: ["layer_name": name, "version": version]),
            !record.deleted
        else {
            throw ResourcePolicy.resourceDoesNotExist
        }
    }

    /// AddLayerVersionPermission. Returns the statement's JSON and the policy's new RevisionId.
    public func addLayerVersionPermission(
        layer name: String, version: Int, statementId: String, action: String, principal: String,
        organizationId: String?,
        expectedRevisionId: String? = nil
    ) throws(RelctlError) -> (statement: String, revisionId: String) {
        try write { db, _ in
            try requireLiveLayerVersion(db, name, version)
            let record = try LayerVersionPolicyRecord.fetchOne(db, key: ["layer_name": name, "layer_version": version])
            try ResourcePolicy.requireRevision(expectedRevisionId, of: record?.revisionId, readBy: "GetLayerPolicy")
            let resource = arn.layerVersionArn(name, version: version)
            let statement = PolicyStatement(
                Sid: statementId, Principal: ResourcePolicy.principal(principal), Action: action, Resource: resource,
                Condition: organizationId.map { .init(entries: [("StringEquals", [("aws:PrincipalOrgID", $0)])]) })
            let revision = try Self.save(
                try ResourcePolicy.adding(statement, to: record?.statements),
                as: record
                    ?? LayerVersionPolicyRecord(layerName: name, layerVersion: version, statements: "", revisionId: ""),
                db)
            try audit(db, "AddLayerVersionPermission", function: nil, resource: resource, after: statement)
            return (statement.jsonText, revision)
        }
    }

    public func getLayerVersionPolicy(
        layer name: String, version: Int
    ) throws(RelctlError) -> (policy: String, revisionId: String) {
        try read { db in
            try requireLiveLayerVersion(db, name, version)
            guard
                let record = try LayerVersionPolicyRecord.fetchOne(
                    db, key: ["layer_name": name, "layer_version": version])
            else {
                throw ResourcePolicy.noPolicy
            }
            return (ResourcePolicy.document(record.statements), record.revisionId)
        }
    }

    public func removeLayerVersionPermission(
        layer name: String, version: Int, statementId: String, expectedRevisionId: String? = nil
    ) throws(RelctlError) {
        try write { db, _ in
            try requireLiveLayerVersion(db, name, version)
            guard
                let record = try LayerVersionPolicyRecord.fetchOne(
                    db, key: ["layer_name": name, "layer_version": version])
            else {
                throw ResourcePolicy.noPolicy
            }
            try ResourcePolicy.requireRevision(expectedRevisionId, of: record.revisionId, readBy: "GetLayerPolicy")
            let (remaining, removed) = try ResourcePolicy.removing(statementId, from: record.statements)
            try Self.save(remaining, as: record, db)
            try audit(
                db, "RemoveLayerVersionPermission", function: nil,
                resource: arn.layerVersionArn(name, version: version), before: removed)
        }
    }
}
