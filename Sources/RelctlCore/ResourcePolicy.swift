import Foundation

// Resource-based policies (AddPermission, AddLayerVersionPermission): the statements, their JSON as
// AWS writes it, the request's validation and the errors. Pure, so that every engine (SQLite's
// Registry, PostgreSQL's store) answers with the same bytes and the same messages; each engine only
// stores a policy's statements (JSON) and its RevisionId.

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

    /// AddPermission's members against botocore's patterns.
    public func validate() throws(RelctlError) {
        try ResourcePolicy.validateStatementId(statementId, pattern: "([a-zA-Z0-9-_]+)", allowed: \.isNameCharacter)
        let lambdaAction =
            action.hasPrefix("lambda:")
            && {
                let rest = action.dropFirst("lambda:".count)
                return rest == "*" || (!rest.isEmpty && rest.allSatisfy { $0.isASCII && $0.isLetter })
            }()
        guard action == "*" || lambdaAction else {
            throw .validation(
                value: action, field: "action",
                constraint: "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
        }
        guard !principal.isEmpty, !principal.contains(where: \.isWhitespace) else {
            throw .validation(
                value: principal, field: "principal",
                constraint: "Member must satisfy regular expression pattern: [^\\s]+")
        }
        if let account = sourceAccount, !(account.count == 12 && account.allSatisfy(\.isASCIIDigit)) {
            throw .validation(
                value: account, field: "sourceAccount",
                constraint: "Member must satisfy regular expression pattern: \\d{12}")
        }
        if let source = sourceArn,
            !source.hasPrefix("arn:") || source.split(separator: ":", omittingEmptySubsequences: false).count < 6
        {
            throw .validation(
                value: source, field: "sourceArn",
                constraint:
                    "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)"
            )
        }
        if let authType = functionUrlAuthType, !["NONE", "AWS_IAM"].contains(authType) {
            throw .validation(
                value: authType, field: "functionUrlAuthType",
                constraint: "Member must satisfy enum value set: [NONE, AWS_IAM]")
        }
    }

    /// The statement this grant adds to the policy of `resource`, with AWS's condition blocks:
    /// StringEquals (SourceAccount, PrincipalOrgID, EventSourceToken, FunctionUrlAuthType) before ArnLike (SourceArn).
    public func statement(resource: String) -> PolicyStatement {
        var equals: [(String, String)] = []
        if let sourceAccount { equals.append(("AWS:SourceAccount", sourceAccount)) }
        if let principalOrgID { equals.append(("aws:PrincipalOrgID", principalOrgID)) }
        if let eventSourceToken { equals.append(("lambda:EventSourceToken", eventSourceToken)) }
        if let functionUrlAuthType { equals.append(("lambda:FunctionUrlAuthType", functionUrlAuthType)) }
        var condition: [(String, [(String, String)])] = []
        if !equals.isEmpty { condition.append(("StringEquals", equals)) }
        if let sourceArn { condition.append(("ArnLike", [("AWS:SourceArn", sourceArn)])) }
        return PolicyStatement(
            Sid: statementId, Principal: ResourcePolicy.principal(principal), Action: action, Resource: resource,
            Condition: condition.isEmpty ? nil : .init(entries: condition))
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

        public init(entries: [(String, [(String, String)])]) { self.entries = entries }

        /// Reads operators and keys back in the order they are written (a decoder's keys come in no set order).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            entries = try container.allKeys.sorted(by: Self.writtenBefore).map { key in
                let inner = try container.nestedContainer(keyedBy: Key.self, forKey: key)
                return (
                    key.stringValue,
                    try inner.allKeys.sorted(by: Self.writtenBefore).map {
                        ($0.stringValue, try inner.decode(String.self, forKey: $0))
                    }
                )
            }
        }

        /// The operators and keys `PermissionGrant.statement` writes, in its order; others after them, by name.
        static let writtenOrder = [
            "StringEquals", "ArnLike", "AWS:SourceAccount", "aws:PrincipalOrgID", "lambda:EventSourceToken",
            "lambda:FunctionUrlAuthType", "AWS:SourceArn",
        ]

        static func writtenBefore(_ lhs: Key, _ rhs: Key) -> Bool {
            func rank(_ key: Key) -> (Int, String) {
                (writtenOrder.firstIndex(of: key.stringValue) ?? writtenOrder.count, key.stringValue)
            }
            return rank(lhs) < rank(rhs)
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

    public init(
        Sid: String, Effect: String = "Allow", Principal: PrincipalValue, Action: String, Resource: String,
        Condition: ConditionBlock? = nil
    ) {
        self.Sid = Sid
        self.Effect = Effect
        self.Principal = Principal
        self.Action = Action
        self.Resource = Resource
        self.Condition = Condition
    }
}

extension PolicyStatement {
    /// The statement as AWS writes it: keys in AWS's order (Sid, Effect, Principal, Action, Resource,
    /// Condition; a condition's operators and keys as added), `/` unescaped. Written by hand because
    /// `JSONEncoder` on Linux orders keys by their hashes, which differ from one process to the next.
    public var jsonText: String {
        var text = ""
        append(to: &text)
        return text
    }

    func append(to text: inout String) {
        func member(_ key: String, _ value: String) {
            JSONText.appendString(key, to: &text)
            text.append(":")
            JSONText.appendString(value, to: &text)
        }
        text.append("{")
        member("Sid", Sid)
        text.append(",")
        member("Effect", Effect)
        text.append(",\"Principal\":")
        switch Principal {
        case .anyone: JSONText.appendString("*", to: &text)
        case .service(let name):
            text.append("{")
            member("Service", name)
            text.append("}")
        case .aws(let arn):
            text.append("{")
            member("AWS", arn)
            text.append("}")
        }
        text.append(",")
        member("Action", Action)
        text.append(",")
        member("Resource", Resource)
        if let Condition {
            text.append(",\"Condition\":{")
            for (index, (op, pairs)) in Condition.entries.enumerated() {
                if index > 0 { text.append(",") }
                JSONText.appendString(op, to: &text)
                text.append(":{")
                for (position, (key, value)) in pairs.enumerated() {
                    if position > 0 { text.append(",") }
                    member(key, value)
                }
                text.append("}")
            }
            text.append("}")
        }
        text.append("}")
    }
}

/// How a stored policy (its statements as JSON) is read, changed and answered, and the errors AWS
/// gives for it, the same on every engine.
public enum ResourcePolicy {
    /// The statements as a policy stores them: a JSON array, each statement as AWS writes it.
    public static func json(_ statements: [PolicyStatement]) -> String {
        var text = "["
        for (index, statement) in statements.enumerated() {
            if index > 0 { text.append(",") }
            statement.append(to: &text)
        }
        text.append("]")
        return text
    }

    /// The statements of a stored policy (none when there is no policy).
    public static func statements(_ text: String?) -> [PolicyStatement] {
        guard let text else { return [] }
        return (try? JSONDecoder().decode([PolicyStatement].self, from: Data(text.utf8))) ?? []
    }

    /// GetPolicy's / GetLayerVersionPolicy's `Policy`: the document around the stored statements (a JSON
    /// array, as `json(_:)` writes it), which go in as they were stored.
    public static func document(_ statements: String) -> String {
        #"{"Version":"2012-10-17","Id":"default","Statement":"# + statements + "}"
    }

    /// Where a function, version or alias keeps its policy: the key ('' for the function, else the version
    /// number or the alias name) and the resource ARN its statements name. `exists` looks the version or
    /// alias up in the engine; `$LATEST` has no policy.
    public static func target(
        of function: FunctionReference, arn: ArnContext, exists: (Qualifier) throws -> Bool
    ) throws -> (qualifier: String, resource: String) {
        guard let qualifier = function.qualifier else { return ("", arn.functionArn(function.name)) }
        if qualifier == .latest { throw latestHasNoPolicy }
        let resource = arn.functionArn(function.name, qualifier: qualifier.description)
        guard try exists(qualifier) else { throw RelctlError.functionNotFound(resource) }
        return (qualifier.description, resource)
    }

    /// The stored statements with `statement` appended; a statement id already there is refused.
    public static func adding(_ statement: PolicyStatement, to stored: String?) throws(RelctlError) -> [PolicyStatement]
    {
        var statements = Self.statements(stored)
        if statements.contains(where: { $0.Sid == statement.Sid }) { throw duplicateStatement(statement.Sid) }
        statements.append(statement)
        return statements
    }

    /// `statements` without the one named `statementId`, and that one.
    public static func removing(
        _ statementId: String, from statements: String
    ) throws(RelctlError) -> ([PolicyStatement], PolicyStatement) {
        var remaining = Self.statements(statements)
        guard let index = remaining.firstIndex(where: { $0.Sid == statementId }) else {
            throw RelctlError(.resourceNotFound, "Statement \(statementId) is not found in resource policy.")
        }
        let removed = remaining.remove(at: index)
        return (remaining, removed)
    }

    /// Refuses a RevisionId that is not the policy's (a RevisionId given for no policy is refused too).
    public static func requireRevision(
        _ expected: String?, of current: String?, readBy api: String
    ) throws(RelctlError) {
        if let expected, expected != current { throw revisionMismatch(api) }
    }

    public static let noPolicy = RelctlError(.resourceNotFound, "No policy is associated with the given resource.")
    public static let resourceDoesNotExist = RelctlError(
        .resourceNotFound, "The resource you requested does not exist.")
    public static let latestHasNoPolicy = RelctlError(
        .invalidParameterValue, "We currently do not support adding policies for $LATEST.")

    public static func duplicateStatement(_ id: String) -> RelctlError {
        RelctlError(
            .resourceConflict,
            "The statement id (\(id)) provided already exists. Please provide a new statement id, or remove the existing statement."
        )
    }

    public static func revisionMismatch(_ api: String) -> RelctlError {
        RelctlError(
            .preconditionFailed,
            "The Revision Id provided does not match the latest Revision Id. Call the \(api) API to retrieve the latest Revision Id"
        )
    }

    /// The principal as AWS writes it in a statement: a service, an account's root, an ARN, or anyone.
    public static func principal(_ text: String, partition: String = "aws") -> PolicyStatement.PrincipalValue {
        if text == "*" { return .anyone }
        if text.count == 12, text.allSatisfy(\.isASCIIDigit) { return .aws("arn:\(partition):iam::\(text):root") }
        if !text.hasPrefix("arn:"), text.contains(".") { return .service(text) }
        return .aws(text)
    }

    /// A statement id: 1–100 characters that `allowed` accepts (botocore's `pattern`, named in the error).
    public static func validateStatementId(
        _ id: String, pattern: String, allowed: (Character) -> Bool
    ) throws(RelctlError) {
        guard (1...100).contains(id.count) else {
            throw .validation(
                value: id, field: "statementId",
                constraint: id.isEmpty
                    ? "Member must have length greater than or equal to 1"
                    : "Member must have length less than or equal to 100")
        }
        guard id.allSatisfy(allowed) else {
            throw .validation(
                value: id, field: "statementId",
                constraint: "Member must satisfy regular expression pattern: \(pattern)")
        }
    }
}
