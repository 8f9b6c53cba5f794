import Foundation
import HTTPTypes
import Hummingbird
import RelctlCore
import RelctlRuntime
import RelctlStorage
import RelctlStore

/// The Lambda operations release tooling calls around functions: resource policies (function and
/// layer version), tags, provisioned concurrency; and an explicit 501 for the configurations relctl
/// does not implement, so that a client never mistakes them for AWS's "not found".
struct LambdaResourceRoutes: Sendable {
    let services: ServerServices

    var routes: [Route] {
        let function = "/{apiVersion}/functions/{function}"
        let layerVersion = "/{apiVersion}/layers/{layer}/versions/{number}"
        let provisioned = function + "/provisioned-concurrency"
        var routes = [
            route(.post, function + "/policy", "AddPermission", addPermission),
            route(.get, function + "/policy", "GetPolicy") { call in
                let reference = try call.functionReference()
                let (policy, revision) = try await call.records.getPolicy(reference)
                return .awsJSON(PolicyResponse(Policy: policy, RevisionId: revision))
            },
            route(.delete, function + "/policy/{statement}", "RemovePermission") { call in
                let (reference, statement, revision) = (
                    try call.functionReference(), call.parameter("statement"), call.query["RevisionId"]
                )
                try ResourcePolicy.validateStatementId(
                    statement, pattern: "([a-zA-Z0-9-_.]+)", allowed: { $0.isNameCharacter || $0 == "." })
                try await call.records.removePermission(
                    reference, statementId: statement, expectedRevisionId: revision)
                return Response(status: .noContent)
            },
            route(.post, layerVersion + "/policy", "AddLayerVersionPermission", addLayerVersionPermission),
            route(.get, layerVersion + "/policy", "GetLayerVersionPolicy") { call in
                let (name, number) = (
                    call.parameter("layer"), try LambdaRoutes.layerVersionNumber(call.parameter("number"))
                )
                let (policy, revision) = try await call.records.getLayerVersionPolicy(layer: name, version: number)
                return .awsJSON(PolicyResponse(Policy: policy, RevisionId: revision))
            },
            route(.delete, layerVersion + "/policy/{statement}", "RemoveLayerVersionPermission") { call in
                let (name, number) = (
                    call.parameter("layer"), try LambdaRoutes.layerVersionNumber(call.parameter("number"))
                )
                let (statement, revision) = (call.parameter("statement"), call.query["RevisionId"])
                try await call.records.removeLayerVersionPermission(
                    layer: name, version: number, statementId: statement, expectedRevisionId: revision)
                return Response(status: .noContent)
            },
            route(.post, "/{apiVersion}/tags/{resource}", "TagResource") { call in
                let name = try Self.taggedFunction(call)
                guard let tags = try call.json().stringMap("Tags") else {
                    throw RelctlError.validation(value: "null", field: "tags", constraint: "Member must not be null")
                }
                try await call.records.tagFunction(name, tags)
                return Response(status: .noContent)
            },
            route(.delete, "/{apiVersion}/tags/{resource}", "UntagResource") { call in
                let name = try Self.taggedFunction(call)
                let keys = call.queryPairs.filter { $0.0 == "tagKeys" }.map(\.1)
                guard !keys.isEmpty else {
                    throw RelctlError.validation(value: "null", field: "tagKeys", constraint: "Member must not be null")
                }
                try await call.records.untagFunction(name, keys: keys)
                return Response(status: .noContent)
            },
            route(.get, "/{apiVersion}/tags/{resource}", "ListTags") { call in
                let name = try Self.taggedFunction(call)
                return .awsJSON(TagList(Tags: try await call.records.tags(of: name)))
            },
            route(.put, provisioned, "PutProvisionedConcurrencyConfig", putProvisionedConcurrency),
            Route(
                .get, .init(stringLiteral: provisioned),
                operation: { request in
                    LambdaRoutes.operation(
                        request.uri.queryParameters.get("List") == "ALL"
                            ? "ListProvisionedConcurrencyConfigs" : "GetProvisionedConcurrencyConfig")
                }
            ) { request, context in
                let call = try LambdaCall(request, context)
                return try await call.operation == "ListProvisionedConcurrencyConfigs"
                    ? listProvisionedConcurrency(call) : getProvisionedConcurrency(call)
            },
            route(.delete, provisioned, "DeleteProvisionedConcurrencyConfig") { call in
                let (name, qualifier) = try Self.provisionedTarget(call)
                try await call.records.deleteProvisionedConcurrency(name, qualifier: qualifier)
                // Its instances are released before the answer.
                try await services.pool.reconcileProvisionedConcurrency()
                return Response(status: .noContent)
            },
        ]
        routes += Self.unsupported.map { method, path, name in
            route(method, path, name) { call in
                throw RelctlError(
                    .unsupportedOperation,
                    "\(call.operation) is not supported by relctl: it does not implement \(Self.unsupportedFeature(name)). See the README's table of Lambda operations."
                )
            }
        }
        return routes
    }

    /// Operations relctl answers with 501 (botocore's paths).
    static let unsupported: [(HTTPRequest.Method, String, String)] = [
        (.put, "/{apiVersion}/functions/{function}/event-invoke-config", "PutFunctionEventInvokeConfig"),
        (.post, "/{apiVersion}/functions/{function}/event-invoke-config", "UpdateFunctionEventInvokeConfig"),
        (.get, "/{apiVersion}/functions/{function}/event-invoke-config", "GetFunctionEventInvokeConfig"),
        (.delete, "/{apiVersion}/functions/{function}/event-invoke-config", "DeleteFunctionEventInvokeConfig"),
        (.get, "/{apiVersion}/functions/{function}/event-invoke-config/list", "ListFunctionEventInvokeConfigs"),
        (.post, "/{apiVersion}/functions/{function}/url", "CreateFunctionUrlConfig"),
        (.put, "/{apiVersion}/functions/{function}/url", "UpdateFunctionUrlConfig"),
        (.get, "/{apiVersion}/functions/{function}/url", "GetFunctionUrlConfig"),
        (.delete, "/{apiVersion}/functions/{function}/url", "DeleteFunctionUrlConfig"),
        (.get, "/{apiVersion}/functions/{function}/urls", "ListFunctionUrlConfigs"),
        (.get, "/{apiVersion}/functions/{function}/runtime-management-config", "GetRuntimeManagementConfig"),
        (.put, "/{apiVersion}/functions/{function}/runtime-management-config", "PutRuntimeManagementConfig"),
        (.get, "/{apiVersion}/functions/{function}/recursion-config", "GetFunctionRecursionConfig"),
        (.put, "/{apiVersion}/functions/{function}/recursion-config", "PutFunctionRecursionConfig"),
        (.get, "/{apiVersion}/functions/{function}/code-signing-config", "GetFunctionCodeSigningConfig"),
        (.put, "/{apiVersion}/functions/{function}/code-signing-config", "PutFunctionCodeSigningConfig"),
        (.delete, "/{apiVersion}/functions/{function}/code-signing-config", "DeleteFunctionCodeSigningConfig"),
        (.post, "/{apiVersion}/event-source-mappings", "CreateEventSourceMapping"),
        (.get, "/{apiVersion}/event-source-mappings", "ListEventSourceMappings"),
        (.get, "/{apiVersion}/event-source-mappings/{uuid}", "GetEventSourceMapping"),
        (.put, "/{apiVersion}/event-source-mappings/{uuid}", "UpdateEventSourceMapping"),
        (.delete, "/{apiVersion}/event-source-mappings/{uuid}", "DeleteEventSourceMapping"),
    ]

    static func unsupportedFeature(_ operation: String) -> String {
        if operation.contains("EventInvokeConfig") { return "asynchronous invocation settings (retries, destinations)" }
        if operation.contains("Url") { return "function URLs" }
        if operation.contains("RuntimeManagement") { return "runtime version management" }
        if operation.contains("Recursion") { return "recursive loop detection settings" }
        if operation.contains("CodeSigning") { return "code signing" }
        return "event source mappings"
    }

    func route(
        _ method: HTTPRequest.Method, _ path: String, _ name: String,
        _ handler: @escaping @Sendable (LambdaCall) async throws -> Response
    ) -> Route {
        Route(method, .init(stringLiteral: path), LambdaRoutes.operation(name)) { request, context in
            try await handler(try LambdaCall(request, context))
        }
    }

    // MARK: - Policies

    @Sendable func addPermission(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        let reference = try call.functionReference()
        let grant = PermissionGrant(
            statementId: try body.requiredString("StatementId"), action: try body.requiredString("Action"),
            principal: try body.requiredString("Principal"), sourceArn: try body.string("SourceArn"),
            sourceAccount: try body.string("SourceAccount"), principalOrgID: try body.string("PrincipalOrgID"),
            eventSourceToken: try body.string("EventSourceToken"),
            functionUrlAuthType: try body.string("FunctionUrlAuthType"))
        let revision = try body.string("RevisionId")
        let statement = try await call.records.addPermission(reference, grant, expectedRevisionId: revision)
        return .awsJSON(StatementResponse(Statement: statement), status: .created)
    }

    @Sendable func addLayerVersionPermission(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        let (name, number) = (call.parameter("layer"), try LambdaRoutes.layerVersionNumber(call.parameter("number")))
        let (statementId, action, principal) = (
            try body.requiredString("StatementId"), try body.requiredString("Action"),
            try body.requiredString("Principal")
        )
        try ResourcePolicy.validateStatementId(statementId, pattern: "([a-zA-Z0-9-_]+)", allowed: \.isNameCharacter)
        guard action == "lambda:GetLayerVersion" else {
            throw RelctlError.validation(
                value: action, field: "action",
                constraint: "Member must satisfy regular expression pattern: lambda:GetLayerVersion")
        }
        let isAccountRoot =
            principal.hasPrefix("arn:aws") && principal.hasSuffix(":root") && principal.contains(":iam::")
        guard principal == "*" || (principal.count == 12 && principal.allSatisfy(\.isASCIIDigit)) || isAccountRoot
        else {
            throw RelctlError.validation(
                value: principal, field: "principal",
                constraint:
                    "Member must satisfy regular expression pattern: \\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root")
        }
        let (organization, revision) = (try body.string("OrganizationId"), call.query["RevisionId"])
        let (statement, newRevision) = try await call.records.addLayerVersionPermission(
            layer: name, version: number, statementId: statementId, action: action, principal: principal,
            organizationId: organization, expectedRevisionId: revision)
        return .awsJSON(StatementResponse(Statement: statement, RevisionId: newRevision), status: .created)
    }

    // MARK: - Tags

    /// TaggableResource: a function ARN of this region and account; versions and aliases carry no tags.
    static func taggedFunction(_ call: LambdaCall) throws(RelctlError) -> String {
        let text = call.parameter("resource")
        let pattern =
            "arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})"
        let invalid = RelctlError.validation(
            value: text, field: "resource", constraint: "Member must satisfy regular expression pattern: \(pattern)")
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 7, parts[0] == "arn", parts[2] == "lambda", parts[5] == "function",
            FunctionReference.isRegionName(String(parts[3])),
            let reference = try? FunctionReference(parsing: text)
        else { throw invalid }
        try call.registry.arn.requireReachable(
            reference, named: text, shape: .functionName, action: call.operation, caller: call.registry.actor)
        guard reference.qualifier == nil else {
            throw RelctlError(
                .invalidParameterValue,
                "Tags on function aliases and versions are not supported. Please specify a function ARN.")
        }
        return reference.name
    }

    // MARK: - Provisioned concurrency

    /// The function and its required `Qualifier` (a version or an alias).
    static func provisionedTarget(_ call: LambdaCall) throws(RelctlError) -> (String, Qualifier) {
        let reference = try call.functionReference()
        guard let qualifier = reference.qualifier else {
            throw RelctlError.validation(value: "null", field: "qualifier", constraint: "Member must not be null")
        }
        return (reference.name, qualifier)
    }

    @Sendable func putProvisionedConcurrency(_ call: LambdaCall) async throws -> Response {
        let (name, qualifier) = try Self.provisionedTarget(call)
        guard let executions = try call.json().int("ProvisionedConcurrentExecutions") else {
            throw RelctlError.validation(
                value: "null", field: "provisionedConcurrentExecutions", constraint: "Member must not be null")
        }
        let config = try await call.records.putProvisionedConcurrency(
            name, qualifier: qualifier, executions: executions)
        // The runtime starts the instances now and the answer waits for their init (each at most
        // Lambda's 10 s init limit), so that a read right after it tells how it went: READY, or
        // FAILED with the init's error. The answer itself is AWS's: 202, IN_PROGRESS.
        try await services.pool.reconcileProvisionedConcurrency(retryingFailuresOf: name)
        return .awsJSON(
            ProvisionedConcurrencyResponse(config, status: .init(state: .inProgress, allocated: 0)), status: .accepted)
    }

    func getProvisionedConcurrency(_ call: LambdaCall) async throws -> Response {
        let (name, qualifier) = try Self.provisionedTarget(call)
        let config = try await call.records.provisionedConcurrency(name, qualifier: qualifier)
        let status = try await services.pool.provisionedConcurrencyStatuses(function: name)[Self.qualifierText(config)]
        return .awsJSON(
            ProvisionedConcurrencyResponse(config, status: status ?? .init(state: .inProgress, allocated: 0)))
    }

    func listProvisionedConcurrency(_ call: LambdaCall) async throws -> Response {
        let name = try call.functionReference(qualifierAllowed: false).name
        let (marker, maxItems) = (call.query["Marker"], try call.maxItems(cap: 50, hardMax: 50))
        let page = try await call.records.provisionedConcurrencyPage(name, marker: marker, maxItems: maxItems)
        let statuses = try await services.pool.provisionedConcurrencyStatuses(function: name)
        return .awsJSON(
            ProvisionedConcurrencyList(
                ProvisionedConcurrencyConfigs: page.items.map {
                    ProvisionedConcurrencyResponse(
                        $0, status: statuses[Self.qualifierText($0)] ?? .init(state: .inProgress, allocated: 0),
                        withArn: true)
                }, NextMarker: page.nextMarker))
    }

    /// The version or alias a setting's ARN ends with.
    static func qualifierText(_ config: ProvisionedConcurrencyConfig) -> String {
        String(config.functionArn.split(separator: ":").last ?? "")
    }
}

struct StatementResponse: Encodable { var Statement: String; var RevisionId: String? }
struct PolicyResponse: Encodable { var Policy: String; var RevisionId: String }

/// Get/Put/List's shape; `FunctionArn` only in list items.
struct ProvisionedConcurrencyResponse: Encodable {
    var FunctionArn: String?
    var RequestedProvisionedConcurrentExecutions: Int
    var AvailableProvisionedConcurrentExecutions: Int
    var AllocatedProvisionedConcurrentExecutions: Int
    var Status: String
    var StatusReason: String?
    var LastModified: String

    init(_ config: ProvisionedConcurrencyConfig, status: ProvisionedConcurrencyStatus, withArn: Bool = false) {
        FunctionArn = withArn ? config.functionArn : nil
        RequestedProvisionedConcurrentExecutions = config.requested
        AvailableProvisionedConcurrentExecutions = status.allocated
        AllocatedProvisionedConcurrentExecutions = status.allocated
        Status = status.state.rawValue
        StatusReason = status.reason
        LastModified = config.lastModified
    }
}

struct ProvisionedConcurrencyList: Encodable {
    var ProvisionedConcurrencyConfigs: [ProvisionedConcurrencyResponse]
    var NextMarker: String?
}
