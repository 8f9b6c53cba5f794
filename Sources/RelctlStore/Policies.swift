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

/// What AddPermission / AddLayerVersionPermission grant, as the request names it.
public struct PermissionGrant: Sendable, Equatable {
    public var statementId: String
    public var action: String
    public var principal: String
    public var sourceArn: String?
    public var sourceAccount: String?
    public var principalOrgID: String?
    public var eventSourceToken: String?
    public var functionUrlAuthType: String?

    public init(
        statementId: String, action: String, principal: String, sourceArn: String? = nil, sourceAccount: String? = nil,
        principalOrgID: String? = nil, eventSourceToken: String? = nil, functionUrlAuthType: String? = nil
    ) {
        self.statementId = statementId
        self.action = action
        self.principal = principal
        self.sourceArn = sourceArn
        self.sourceAccount = sourceAccount
        self.principalOrgID = principalOrgID
        self.eventSourceToken = eventSourceToken
        self.functionUrlAuthType = functionUrlAuthType
    }
}

/// A policy statement in AWS's key order (Sid, Effect, Principal, Action, Resource, Condition).
public struct PolicyStatement: Codable, Sendable, Equatable {
    public enum PrincipalValue: Codable, Sendable, Equatable {
        case anyone
        case service(String)
        case aws(String)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = text == "*" ? .anyone : .aws(text)
                return
            }
            let object = try container.decode([String: String].self)
            if let service = object["Service"] { self = .service(service) } else { self = .aws(object["AWS"] ?? "") }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .anyone: try container.encode("*")
            case .service(let name): try container.encode(["Service": name])
            case .aws(let arn): try container.encode(["AWS": arn])
            }
        }
    }

    /// Operator → (key → value), in the order AWS writes them (StringEquals before ArnLike).
    public struct ConditionBlock: Codable, Sendable, Equatable {
        public var entries: [(String, [(String, String)])]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ text: String) { stringValue = text }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(entries: [(String, [(String, String)])]) { self.entries = entries }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            entries = try container.allKeys.map { key in
                let inner = try container.nestedContainer(keyedBy: Key.self, forKey: key)
                return (
                    key.stringValue,
                    try inner.allKeys.map { ($0.stringValue, try inner.decode(String.self, forKey: $0)) }
                )
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for (op, pairs) in entries {
                var inner = container.nestedContainer(keyedBy: Key.self, forKey: Key(op))
                for (key, value) in pairs { try inner.encode(value, forKey: Key(key)) }
            }
        }

        public static func == (lhs: ConditionBlock, rhs: ConditionBlock) -> Bool {
            lhs.entries.map { [$0.0] + $0.1.flatMap { [$0.0, $0.1] } }
                == rhs.entries.map { [$0.0] + $0.1.flatMap { [$0.0, $0.1] } }
        }
    }

    public var Sid: String
    public var Effect = "Allow"
    public var Principal: PrincipalValue
    public var Action: String
    public var Resource: String
    public var Condition: ConditionBlock?
}

/// `{"Version": "2012-10-17", "Id": "default", "Statement": [...]}`.
struct PolicyDocument: Encodable {
    var Version = "2012-10-17"
    var Id = "default"
    var Statement: [PolicyStatement]
}

extension Registry {
    static let policyJSON: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ value: some Encodable) -> String {
        String(decoding: (try? policyJSON.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func statements(_ text: String) -> [PolicyStatement] {
        (try? JSONDecoder().decode([PolicyStatement].self, from: Data(text.utf8))) ?? []
    }

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
        policy.statements = json(statements)
        policy.revisionId = Registry.newRevisionId()
        try policy.save(db)
        return policy.revisionId
    }

    /// `statements` without the one named `statementId`, and that one.
    static func removing(
        _ statementId: String, from statements: String
    ) throws(RelctlError) -> ([PolicyStatement], PolicyStatement) {
        var remaining = Self.statements(statements)
        guard let index = remaining.firstIndex(where: { $0.Sid == statementId }) else {
            throw RelctlError(.resourceNotFound, "Statement \(statementId) is not found in resource policy.")
        }
        let removed = remaining.remove(at: index)
        return (remaining, removed)
    }

    static let noPolicy = RelctlError(.resourceNotFound, "No policy is associated with the given resource.")
    static let resourceDoesNotExist = RelctlError(.resourceNotFound, "The resource you requested does not exist.")

    static func duplicateStatement(_ id: String) -> RelctlError {
        RelctlError(
            .resourceConflict,
            "The statement id (\(id)) provided already exists. Please provide a new statement id, or remove the existing statement."
        )
    }

    static func policyRevisionMismatch(_ api: String) -> RelctlError {
        RelctlError(
            .preconditionFailed,
            "The Revision Id provided does not match the latest Revision Id. Call the \(api) API to retrieve the latest Revision Id"
        )
    }

    /// The principal as AWS writes it in a statement: a service, an account's root, an ARN, or anyone.
    static func principal(_ text: String, partition: String = "aws") -> PolicyStatement.PrincipalValue {
        if text == "*" { return .anyone }
        if text.count == 12, text.allSatisfy(\.isASCIIDigit) { return .aws("arn:\(partition):iam::\(text):root") }
        if !text.hasPrefix("arn:"), text.contains(".") { return .service(text) }
        return .aws(text)
    }

    // MARK: - Function policies

    /// The policy key and resource ARN of a function, version or alias; checks that it exists.
    func policyTarget(_ db: Database, _ function: FunctionReference) throws -> (qualifier: String, resource: String) {
        try requireAccount(function)
        _ = try requireFunction(db, function.name)
        switch function.qualifier {
        case nil:
            return ("", arn.functionArn(function.name))
        case .latest:
            throw RelctlError(.invalidParameterValue, "We currently do not support adding policies for $LATEST.")
        case .version(let number):
            guard try version(db, function.name, number) != nil else {
                throw RelctlError.functionNotFound(arn.functionArn(function.name, qualifier: String(number)))
            }
            return (String(number), arn.functionArn(function.name, qualifier: String(number)))
        case .alias(let name):
            guard try AliasRecord.fetchOne(db, key: ["function_name": function.name, "name": name]) != nil else {
                throw RelctlError.functionNotFound(arn.functionArn(function.name, qualifier: name))
            }
            return (name, arn.functionArn(function.name, qualifier: name))
        }
    }

    /// AddPermission: a statement on the function, a version or an alias. Returns the statement's JSON.
    public func addPermission(
        _ function: FunctionReference, _ grant: PermissionGrant, expectedRevisionId: String? = nil
    ) throws(RelctlError) -> String {
        try write { db, _ in
            let (qualifier, resource) = try policyTarget(db, function)
            let record = try FunctionPolicyRecord.fetchOne(
                db, key: ["function_name": function.name, "qualifier": qualifier])
            if let expectedRevisionId, expectedRevisionId != record?.revisionId {
                throw Self.policyRevisionMismatch("GetPolicy")
            }
            var statements = record.map { Self.statements($0.statements) } ?? []
            if statements.contains(where: { $0.Sid == grant.statementId }) {
                throw Self.duplicateStatement(grant.statementId)
            }
            var equals: [(String, String)] = []
            if let account = grant.sourceAccount { equals.append(("AWS:SourceAccount", account)) }
            if let organization = grant.principalOrgID { equals.append(("aws:PrincipalOrgID", organization)) }
            if let token = grant.eventSourceToken { equals.append(("lambda:EventSourceToken", token)) }
            if let authType = grant.functionUrlAuthType { equals.append(("lambda:FunctionUrlAuthType", authType)) }
            var condition: [(String, [(String, String)])] = []
            if !equals.isEmpty { condition.append(("StringEquals", equals)) }
            if let source = grant.sourceArn { condition.append(("ArnLike", [("AWS:SourceArn", source)])) }
            let statement = PolicyStatement(
                Sid: grant.statementId, Principal: Self.principal(grant.principal), Action: grant.action,
                Resource: resource,
                Condition: condition.isEmpty ? nil : .init(entries: condition))
            statements.append(statement)
            try Self.save(
                statements,
                as: record
                    ?? FunctionPolicyRecord(
                        functionName: function.name, qualifier: qualifier, statements: "", revisionId: ""), db)
            try audit(db, "AddPermission", function: function.name, resource: resource, after: statement)
            return Self.json(statement)
        }
    }

    /// GetPolicy: the policy document's JSON and its RevisionId.
    public func getPolicy(_ function: FunctionReference) throws(RelctlError) -> (policy: String, revisionId: String) {
        try read { db in
            if function.qualifier == .latest {
                _ = try requireFunction(db, function.name); throw Self.resourceDoesNotExist
            }
            let (qualifier, _) = try policyTarget(db, function)
            guard
                let record = try FunctionPolicyRecord.fetchOne(
                    db, key: ["function_name": function.name, "qualifier": qualifier])
            else {
                throw Self.resourceDoesNotExist
            }
            return (Self.json(PolicyDocument(Statement: Self.statements(record.statements))), record.revisionId)
        }
    }

    /// RemovePermission. The policy goes when its last statement does.
    public func removePermission(
        _ function: FunctionReference, statementId: String, expectedRevisionId: String? = nil
    ) throws(RelctlError) {
        try write { db, _ in
            if function.qualifier == .latest { _ = try requireFunction(db, function.name); throw Self.noPolicy }
            let (qualifier, resource) = try policyTarget(db, function)
            guard
                let record = try FunctionPolicyRecord.fetchOne(
                    db, key: ["function_name": function.name, "qualifier": qualifier])
            else {
                throw Self.noPolicy
            }
            if let expectedRevisionId, expectedRevisionId != record.revisionId {
                throw Self.policyRevisionMismatch("GetPolicy")
            }
            let (remaining, removed) = try Self.removing(statementId, from: record.statements)
            try Self.save(remaining, as: record, db)
            try audit(db, "RemovePermission", function: function.name, resource: resource, before: removed)
        }
    }

    // MARK: - Layer version policies

    func requireLiveLayerVersion(_ db: Database, _ name: String, _ version: Int) throws {
        guard let record = try LayerVersionRecord.fetchOne(db, key: ["layer_name": name, "version": version]),
            !record.deleted
        else {
            throw Self.resourceDoesNotExist
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
            if let expectedRevisionId, expectedRevisionId != record?.revisionId {
                throw Self.policyRevisionMismatch("GetLayerPolicy")
            }
            var statements = record.map { Self.statements($0.statements) } ?? []
            if statements.contains(where: { $0.Sid == statementId }) { throw Self.duplicateStatement(statementId) }
            let resource = arn.layerVersionArn(name, version: version)
            let statement = PolicyStatement(
                Sid: statementId, Principal: Self.principal(principal), Action: action, Resource: resource,
                Condition: organizationId.map { .init(entries: [("StringEquals", [("aws:PrincipalOrgID", $0)])]) })
            statements.append(statement)
            let revision = try Self.save(
                statements,
                as: record
                    ?? LayerVersionPolicyRecord(layerName: name, layerVersion: version, statements: "", revisionId: ""),
                db)
            try audit(db, "AddLayerVersionPermission", function: nil, resource: resource, after: statement)
            return (Self.json(statement), revision)
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
                throw Self.noPolicy
            }
            return (Self.json(PolicyDocument(Statement: Self.statements(record.statements))), record.revisionId)
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
                throw Self.noPolicy
            }
            if let expectedRevisionId, expectedRevisionId != record.revisionId {
                throw Self.policyRevisionMismatch("GetLayerPolicy")
            }
            let (remaining, removed) = try Self.removing(statementId, from: record.statements)
            try Self.save(remaining, as: record, db)
            try audit(
                db, "RemoveLayerVersionPermission", function: nil,
                resource: arn.layerVersionArn(name, version: version), before: removed)
        }
    }
}
