import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import RelctlCore
import RelctlPackages
import RelctlSAM
import RelctlStacks
import RelctlStorage
import RelctlStore

/// The CloudFormation API subset the real `sam deploy` / `sam delete` (aws-sam-cli) call, in AWS's
/// query protocol (`POST /`, form-encoded `Action=…&Version=2010-05-15`, XML answers), over the same
/// stack engine as `relctl sam deploy`: change sets hold the untransformed SAM template and are
/// planned by RelctlSAM; executing one applies it and starts its gradual deployments.
struct CloudFormationRoutes: Sendable {
    let services: ServerServices

    static let namespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
    /// The action is in the body, read after authentication; until then the request is "CloudFormation".
    static let operation = APIOperation(name: "CloudFormation", api: .cloudFormation)

    /// A query-protocol request: a form-encoded POST without CodeDeploy's `X-Amz-Target`.
    static func isQuery(_ request: Request) -> Bool {
        request.method == .post && request.headers[.amzTarget] == nil
            && request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
    }

    /// `POST /` is CodeDeploy's (JSON 1.1 with `X-Amz-Target`) and CloudFormation's (form-encoded):
    /// the CodeDeploy routes with their `POST /` answering both.
    func sharingRoot(with routes: [Route]) -> [Route] {
        routes.map { route in
            guard route.method == .post, route.path.description == "/" else { return route }
            return Route(
                .post, "/", operation: { request in Self.isQuery(request) ? Self.operation : route.operation(request) }
            ) { request, context in
                guard context.operation.api == .cloudFormation else { return try await route.handler(request, context) }
                return try await handle(context)
            }
        }
    }

    func handle(_ context: AppRequestContext) async throws -> Response {
        let query = AWSQueryRequest(body: context.body)
        guard let action = query.action, !action.isEmpty else {
            throw CloudFormationError(code: "MissingAction", message: "The request must contain the parameter Action.")
        }
        if query["Version"].map({ $0 != "2010-05-15" }) == true {
            throw CloudFormationError(
                code: "InvalidParameterValue",
                message: "Version \(query["Version"]!) is not 2010-05-15, the CloudFormation API relctl speaks.")
        }
        if context.caller?.readOnly == true,
            !["Describe", "List", "Get", "Validate", "Estimate"].contains(where: action.hasPrefix)
        {
            throw CloudFormationError(
                code: "AccessDenied",
                message:
                    "User: \(context.caller?.actor ?? "anonymous") is not authorized to perform: cloudformation:\(action) because the key is read-only",
                status: .forbidden)
        }
        guard let scope = context.scope else {
            throw RelctlError(.service, "No registry for \(context.operation.name): the request was not authenticated.")
        }
        // The stack engine over the engine this server answers from (SQLite or a shared database).
        let operations = CloudFormationOperations(
            applier: StackApplier(
                records: scope.records, stacks: scope.stacks, rollout: scope.codeDeploy, arn: scope.registry.arn,
                policiesFolder: services.registry.dataDirectory.appendingPathComponent("policies", isDirectory: true)),
            objects: scope.s3Objects)
        let result = try await operations.perform(action, query)
        return QueryXML.response(
            action: action, namespace: Self.namespace, result: result.map { AnyEncodable($0) },
            requestId: context.requestId)
    }
}

/// An error in CloudFormation's XML shape (`ValidationError`, `AlreadyExistsException`, …), 400 unless said.
struct CloudFormationError: HTTPResponseError {
    var code: String
    var message: String
    var status: HTTPResponse.Status = .badRequest

    static func validation(_ message: String) -> CloudFormationError {
        CloudFormationError(code: "ValidationError", message: message)
    }

    /// A `RelctlError` in CloudFormation's words: what was wrong with the request is a ValidationError.
    init(_ error: RelctlError) {
        switch error.code {
        case .service: self.init(code: "InternalFailure", message: error.message, status: .internalServerError)
        case .tooManyRequests: self.init(code: "Throttling", message: error.message)
        case .unrecognizedClient, .invalidSignature:
            self.init(code: error.code.awsErrorType, message: error.message, status: .forbidden)
        case .accessDenied: self.init(code: "AccessDenied", message: error.message, status: .forbidden)
        case .requestEntityTooLarge, .requestTooLarge:
            self.init(code: "RequestEntityTooLarge", message: error.message, status: .contentTooLarge)
        default: self.init(code: "ValidationError", message: error.message)
        }
    }

    init(code: String, message: String, status: HTTPResponse.Status = .badRequest) {
        self.code = code
        self.message = message
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestId = (context as? AppRequestContext)?.requestId ?? ""
        let body = QueryErrorBody(
            Error: .init(Type: status.code >= 500 ? "Receiver" : "Sender", Code: code, Message: message),
            RequestId: requestId)
        return QueryXML.document(body, root: "ErrorResponse", namespace: CloudFormationRoutes.namespace, status: status)
    }
}

/// `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…`
struct QueryErrorBody: Encodable {
    struct Detail: Encodable {
        var `Type`: String
        var Code: String
        var Message: String
    }
    var Error: Detail
    var RequestId: String
}

/// The CloudFormation operations over one scoped engine's stores.
struct CloudFormationOperations {
    let applier: StackApplier
    /// Where TemplateURLs and CodeUris point: the S3 subset of the same engine.
    let objects: any S3ObjectStore
    var stacks: any StackStore { applier.stacks }
    var arn: ArnContext { applier.arn }

    /// Stacks whose outcome this process is writing: settling one whose deployments ended writes its
    /// outcome once, whoever asks first (a second asker answers the stack as it still is).
    static let settling = NIOLockedValueBox(Set<String>())

    func perform(_ action: String, _ query: AWSQueryRequest) async throws -> (any Encodable & Sendable)? {
        switch action {
        case "CreateChangeSet": return try await createChangeSet(query)
        case "DescribeChangeSet": return try await describeChangeSet(query)
        case "ExecuteChangeSet": try await executeChangeSet(query); return nil
        case "DeleteChangeSet":
            let changeSet = try await requireChangeSet(query)
            guard changeSet.executionStatus != "EXECUTE_IN_PROGRESS" else {
                throw CloudFormationError(
                    code: "InvalidChangeSetStatus",
                    message: "ChangeSet [\(changeSet.id)] cannot be deleted while it executes.")
            }
            _ = try await stacks.deleteChangeSet(changeSet.id)
            return nil
        case "ListChangeSets":
            let name = try await stackName(query)
            return ListChangeSetsResult(
                Summaries: Members(
                    try await stacks.changeSets(stack: name).map {
                        CFNChangeSetSummary(
                            StackId: $0.stackId, StackName: $0.stackName, ChangeSetId: $0.id, ChangeSetName: $0.name,
                            ExecutionStatus: $0.executionStatus, Status: $0.status, StatusReason: $0.statusReason,
                            CreationTime: QueryXML.timestamp($0.createTime), Description: $0.description)
                    }))
        case "DescribeStacks":
            if let name = query["StackName"] {
                return DescribeStacksResult(Stacks: Members([try await describe(try await requireStack(name))]))
            }
            return DescribeStacksResult(Stacks: Members(try await describeAll()))
        case "ListStacks":
            let filter = Set(query.list("StackStatusFilter"))
            let summaries = try await describeAll().filter { filter.isEmpty || filter.contains($0.StackStatus) }
            return ListStacksResult(
                StackSummaries: Members(
                    summaries.map {
                        CFNStackSummary(
                            StackId: $0.StackId, StackName: $0.StackName, CreationTime: $0.CreationTime,
                            LastUpdatedTime: $0.LastUpdatedTime,
                            StackStatus: $0.StackStatus, StackStatusReason: $0.StackStatusReason)
                    }))
        case "DescribeStackEvents":
            return try await describeStackEvents(query)
        case "DescribeStackResources", "ListStackResources", "DescribeStackResource":
            return try await stackResources(action, query)
        case "GetTemplate":
            let stack = try await requireStack(try await stackName(query))
            guard let record = try await stacks.cloudFormationStack(stack.name) else {
                throw CloudFormationError.validation(
                    "Stack \(stack.name) was deployed by `relctl sam deploy`, not through CloudFormation: relctl keeps no copy of its template."
                )
            }
            return GetTemplateResult(TemplateBody: record.template)
        case "GetTemplateSummary", "ValidateTemplate":
            return try await summarize(action, query)
        case "DeleteStack":
            try await deleteStack(query)
            return nil
        default:
            throw CloudFormationError(
                code: "InvalidAction",
                message:
                    "relctl's CloudFormation does not offer \(action). It offers CreateChangeSet, DescribeChangeSet, ExecuteChangeSet, DeleteChangeSet, ListChangeSets, DescribeStacks, ListStacks, DescribeStackEvents, DescribeStackResource(s), ListStackResources, GetTemplate, GetTemplateSummary, ValidateTemplate and DeleteStack."
            )
        }
    }

    // MARK: - Stacks

    func stackName(_ query: AWSQueryRequest) async throws -> String {
        guard let value = query["StackName"], !value.isEmpty else {
            throw CloudFormationError.validation("StackName is required.")
        }
        // A stack id (its ARN) names the stack it was given to.
        if value.hasPrefix("arn:") { return try await stacks.cloudFormationStack(value)?.stackName ?? value }
        return value
    }

    func requireStack(_ name: String) async throws -> Stack {
        let resolved = name.hasPrefix("arn:") ? try await stacks.cloudFormationStack(name)?.stackName ?? name : name
        guard let stack = try await stacks.stack(resolved) else {
            // A stack whose first change set was not executed yet is REVIEW_IN_PROGRESS, as on AWS.
            if let pending = try await stacks.changeSets(stack: resolved).first(where: {
                $0.changeSetType == "CREATE"
            }) {
                return Stack(
                    name: pending.stackName, templateHash: "", parameters: [:], status: "REVIEW_IN_PROGRESS",
                    createTime: pending.createTime, updateTime: pending.createTime)
            }
            throw CloudFormationError.validation("Stack with id \(name) does not exist")
        }
        return try await settled(stack)
    }

    /// Every stack, settled and described, by name.
    func describeAll() async throws -> [CFNStack] {
        var described: [CFNStack] = []
        for stack in try await applier.allStacks() { described.append(try await describe(try await settled(stack))) }
        return described
    }

    /// A stack whose deployments have all ended gets its outcome (`UPDATE_COMPLETE` / `UPDATE_FAILED`),
    /// as `relctl sam deploy` writes it when it follows them in the foreground.
    func settled(_ stack: Stack) async throws -> Stack {
        guard stack.status.hasSuffix("_IN_PROGRESS"), !stack.deployments.isEmpty else { return stack }
        guard Self.settling.withLockedValue({ $0.insert(stack.name).inserted }) else { return stack }
        defer { _ = Self.settling.withLockedValue { $0.remove(stack.name) } }
        guard let current = try await stacks.stack(stack.name), current.status.hasSuffix("_IN_PROGRESS") else {
            return try await applier.stack(stack.name)
        }
        let deployments = try await applier.deployments(current.deployments)
        guard !deployments.contains(where: \.status.isActive) else { return current }
        try await applier.finish(current.name, deployments, created: current.status.hasPrefix("CREATE"))
        return try await applier.stack(current.name)
    }

    func stackId(_ name: String) async throws -> String {
        if let record = try await stacks.cloudFormationStack(name) { return record.stackId }
        if let pending = try await stacks.changeSets(stack: name).first { return pending.stackId }
        return newStackId(name)
    }

    func newStackId(_ name: String) -> String {
        "arn:aws:cloudformation:\(arn.region):\(arn.account):stack/\(name)/\(UUID().uuidString.lowercased())"
    }

    func describe(_ stack: Stack) async throws -> CFNStack {
        let record = try await stacks.cloudFormationStack(stack.name)
        var capabilities: [String] = []
        if let changeSetId = record?.changeSetId, let changeSet = try await stacks.changeSet(changeSetId, stack: nil) {
            capabilities = Self.decodeList(changeSet.capabilities)
        }
        return CFNStack(
            StackId: try await stackId(stack.name), StackName: stack.name, ChangeSetId: record?.changeSetId,
            Description: record?.description,
            Parameters: Members(
                stack.parameters.keys.sorted().map {
                    CFNParameter(ParameterKey: $0, ParameterValue: stack.parameters[$0]!)
                }),
            CreationTime: QueryXML.timestamp(stack.createTime),
            LastUpdatedTime: stack.updateTime > stack.createTime ? QueryXML.timestamp(stack.updateTime) : nil,
            StackStatus: stack.status, StackStatusReason: stack.statusReason,
            Capabilities: capabilities.isEmpty ? nil : Members(capabilities))
    }

    func describeStackEvents(_ query: AWSQueryRequest) async throws -> DescribeStackEventsResult {
        let name = try await stackName(query)
        let events = try await applier.events(name)
        if events.isEmpty { _ = try await requireStack(name) }
        if let stack = try await stacks.stack(name) { _ = try await settled(stack) }
        let id = try await stackId(name)
        // Newest first, as CloudFormation lists them; the event's row number is its id.
        let all = try await applier.events(name)
        return DescribeStackEventsResult(
            StackEvents: Members(
                all.enumerated().reversed().map { index, event in
                    CFNStackEvent(
                        StackId: id, EventId: "\(name)-\(index + 1)", StackName: name,
                        LogicalResourceId: event.logicalId,
                        PhysicalResourceId: event.resourceType == "AWS::CloudFormation::Stack" ? id : event.physicalId,
                        ResourceType: event.resourceType, Timestamp: QueryXML.timestamp(event.time),
                        ResourceStatus: event.status,
                        ResourceStatusReason: event.reason)
                }))
    }

    func stackResources(_ action: String, _ query: AWSQueryRequest) async throws -> any Encodable & Sendable {
        let stack = try await requireStack(try await stackName(query))
        let id = try await stackId(stack.name)
        let resources = try await applier.resources(stack.name)
        let status = stack.status.hasPrefix("CREATE") ? "CREATE_COMPLETE" : "UPDATE_COMPLETE"
        let time = QueryXML.timestamp(stack.updateTime)
        func shape(_ resource: StackResource, withStack: Bool) -> CFNStackResource {
            CFNStackResource(
                StackName: withStack ? stack.name : nil, StackId: withStack ? id : nil,
                LogicalResourceId: resource.logicalId,
                PhysicalResourceId: resource.physicalId, ResourceType: resource.resourceType,
                LastUpdatedTimestamp: time,
                Timestamp: withStack && action == "DescribeStackResources" ? time : nil, ResourceStatus: status)
        }
        switch action {
        case "DescribeStackResource":
            guard let logicalId = query["LogicalResourceId"] else {
                throw CloudFormationError.validation("LogicalResourceId is required.")
            }
            guard let resource = resources.first(where: { $0.logicalId == logicalId }) else {
                throw CloudFormationError.validation("Resource \(logicalId) does not exist for stack \(stack.name)")
            }
            return DescribeStackResourceResult(StackResourceDetail: shape(resource, withStack: true))
        case "DescribeStackResources":
            let logicalId = query["LogicalResourceId"]
            return DescribeStackResourcesResult(
                StackResources: Members(
                    resources.filter { logicalId == nil || $0.logicalId == logicalId }.map {
                        shape($0, withStack: true)
                    }))
        default:
            return ListStackResourcesResult(
                StackResourceSummaries: Members(resources.map { shape($0, withStack: false) }))
        }
    }

    func deleteStack(_ query: AWSQueryRequest) async throws {
        let name = try await stackName(query)
        // Deleting a stack that does not exist succeeds, as on AWS.
        guard try await stacks.stack(name) != nil else {
            try await stacks.deleteChangeSets(stack: name)
            return
        }
        do {
            _ = try await applier.delete(name)
        } catch let error as RelctlError {
            throw CloudFormationError.validation(error.message)
        }
        try await stacks.deleteChangeSets(stack: name)
    }

    // MARK: - Change sets

    /// The template a request gives: TemplateBody, a TemplateURL in the server's S3 subset, or the stack's last.
    func template(_ query: AWSQueryRequest, stack: String?) async throws -> String {
        if let body = query["TemplateBody"] { return body }
        if let url = query["TemplateURL"] { return try await S3Locations.template(url, objects: objects) }
        if query["UsePreviousTemplate"] == "true", let stack, let record = try await stacks.cloudFormationStack(stack) {
            return record.template
        }
        throw CloudFormationError.validation(
            "Either TemplateBody or TemplateURL must be specified (or UsePreviousTemplate for a stack created through CloudFormation)."
        )
    }

    func createChangeSet(_ query: AWSQueryRequest) async throws -> CreateChangeSetResult {
        let name = try await stackName(query)
        guard !name.isEmpty, name.count <= 128, name.first!.isLetter,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else {
            throw CloudFormationError.validation(
                "1 validation error detected: Value '\(name)' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
            )
        }
        guard let changeSetName = query["ChangeSetName"], !changeSetName.isEmpty else {
            throw CloudFormationError.validation("ChangeSetName is required.")
        }
        guard changeSetName.count <= 128, changeSetName.first!.isLetter,
            changeSetName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else {
            throw CloudFormationError.validation(
                "ChangeSetName \(changeSetName) must match [a-zA-Z][-a-zA-Z0-9]* and be at most 128 characters.")
        }
        let type = query["ChangeSetType"] ?? "UPDATE"
        let existing = try await stacks.stack(name)
        switch type {
        case "CREATE":
            if existing != nil {
                throw CloudFormationError(code: "AlreadyExistsException", message: "Stack [\(name)] already exists")
            }
        case "UPDATE":
            if existing == nil { throw CloudFormationError.validation("Stack [\(name)] does not exist") }
        default:
            throw CloudFormationError.validation("ChangeSetType \(type) is not supported: CREATE or UPDATE.")
        }
        let text = try await template(query, stack: name)
        var parameters: [String: String] = [:]
        for member in query.structures("Parameters") {
            guard let key = member["ParameterKey"] else {
                throw CloudFormationError.validation("Every parameter needs a ParameterKey.")
            }
            if member["UsePreviousValue"] == "true" {
                guard let previous = existing?.parameters[key] else {
                    throw CloudFormationError.validation(
                        "Invalid input for parameter key \(key). Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                    )
                }
                parameters[key] = previous
            } else {
                parameters[key] = member["ParameterValue"] ?? ""
            }
        }
        let stackId = try await stackId(name)
        let id =
            "arn:aws:cloudformation:\(arn.region):\(arn.account):changeSet/\(changeSetName)/\(UUID().uuidString.lowercased())"
        var status = "CREATE_COMPLETE"
        var reason: String?
        var changes: [StackPlan.Change] = []
        do {
            let prepared = try await prepare(text, stackName: name, parameters: parameters)
            changes = prepared.plan.changes.filter { $0.action != .none }
            if existing != nil && !prepared.plan.hasChanges {
                status = "FAILED"
                reason =
                    "The submitted information didn't contain changes. Submit different information to create a change set."
            }
        } catch let error as RelctlError {
            status = "FAILED"
            reason = error.message
        }
        let record = ChangeSetRecord(
            id: id, name: changeSetName, stackName: name, stackId: stackId, changeSetType: type, template: text,
            parameters: String(decoding: try JSONEncoder().encode(parameters), as: UTF8.self),
            description: query["Description"],
            capabilities: String(decoding: try JSONEncoder().encode(query.list("Capabilities")), as: UTF8.self),
            status: status, statusReason: reason,
            executionStatus: status == "FAILED" ? "UNAVAILABLE" : "AVAILABLE",
            changes: String(decoding: try JSONEncoder().encode(changes), as: UTF8.self),
            createTime: Date().timeIntervalSince1970)
        do { try await stacks.saveChangeSet(record) } catch {
            if error.code == .resourceConflict {
                throw CloudFormationError(code: "AlreadyExistsException", message: error.message)
            }
            throw error
        }
        if type == "CREATE", try await stacks.changeSets(stack: name).count == 1 {
            try await stacks.appendStackEvent(
                name,
                StackEvent(
                    time: record.createTime, logicalId: name, resourceType: "AWS::CloudFormation::Stack",
                    physicalId: stackId, status: "REVIEW_IN_PROGRESS", reason: "User Initiated"))
        }
        return CreateChangeSetResult(Id: id, StackId: stackId)
    }

    /// The stack engine's plan for a template whose code is in the server's S3 subset.
    func prepare(_ text: String, stackName: String, parameters: [String: String]) async throws -> StackApplier.Prepared
    {
        let objects = self.objects
        return try await applier.prepare(
            template: text, source: "template", stackName: stackName, overrides: parameters
        ) { uri, place in
            try await S3Locations.package(uri, place: place, objects: objects)
        }
    }

    func requireChangeSet(_ query: AWSQueryRequest) async throws -> ChangeSetRecord {
        guard let name = query["ChangeSetName"], !name.isEmpty else {
            throw CloudFormationError.validation("ChangeSetName is required.")
        }
        let stack = query["StackName"]
        guard name.hasPrefix("arn:") || stack != nil else {
            throw CloudFormationError.validation(
                "StackName must be specified if ChangeSetName is not specified as an ARN.")
        }
        guard let found = try await stacks.changeSet(name, stack: stack) else {
            throw CloudFormationError(
                code: "ChangeSetNotFound", message: "ChangeSet [\(name)] does not exist", status: .notFound)
        }
        return found
    }

    func describeChangeSet(_ query: AWSQueryRequest) async throws -> DescribeChangeSetResult {
        let changeSet = try await requireChangeSet(query)
        let parameters =
            (try? JSONDecoder().decode([String: String].self, from: Data(changeSet.parameters.utf8))) ?? [:]
        let changes = (try? JSONDecoder().decode([StackPlan.Change].self, from: Data(changeSet.changes.utf8))) ?? []
        return DescribeChangeSetResult(
            ChangeSetName: changeSet.name, ChangeSetId: changeSet.id, StackId: changeSet.stackId,
            StackName: changeSet.stackName,
            Description: changeSet.description,
            Parameters: Members(
                parameters.keys.sorted().map { CFNParameter(ParameterKey: $0, ParameterValue: parameters[$0]!) }),
            CreationTime: QueryXML.timestamp(changeSet.createTime), ExecutionStatus: changeSet.executionStatus,
            Status: changeSet.status,
            StatusReason: changeSet.statusReason, Capabilities: Members(Self.decodeList(changeSet.capabilities)),
            Changes: Members(
                changes.map { change in
                    CFNChange(
                        ResourceChange: .init(
                            Action: change.action.rawValue, LogicalResourceId: change.logicalId,
                            PhysicalResourceId: change.action == .add ? nil : change.physicalId,
                            ResourceType: change.resourceType,
                            Replacement: change.action == .modify ? "False" : nil,
                            Scope: change.action == .modify ? Members(["Properties"]) : nil))
                }))
    }

    func executeChangeSet(_ query: AWSQueryRequest) async throws {
        let changeSet = try await requireChangeSet(query)
        guard changeSet.status == "CREATE_COMPLETE", changeSet.executionStatus == "AVAILABLE" else {
            throw CloudFormationError(
                code: "InvalidChangeSetStatus",
                message:
                    "ChangeSet [\(changeSet.id)] cannot be executed in its current status of [\(changeSet.status == "CREATE_COMPLETE" ? changeSet.executionStatus : changeSet.status)]"
            )
        }
        let existing = try await stacks.stack(changeSet.stackName)
        if changeSet.changeSetType == "CREATE", existing != nil {
            throw CloudFormationError(
                code: "AlreadyExistsException", message: "Stack [\(changeSet.stackName)] already exists")
        }
        if let existing, existing.status.hasSuffix("_IN_PROGRESS"),
            try await settled(existing).status.hasSuffix("_IN_PROGRESS")
        {
            throw CloudFormationError.validation(
                "Stack:\(changeSet.stackId) is in \(existing.status) state and can not be updated.")
        }
        let parameters =
            (try? JSONDecoder().decode([String: String].self, from: Data(changeSet.parameters.utf8))) ?? [:]
        // Planned again: the registry may have moved since the change set was made.
        let prepared: StackApplier.Prepared
        do {
            prepared = try await prepare(changeSet.template, stackName: changeSet.stackName, parameters: parameters)
        } catch let error as RelctlError {
            throw CloudFormationError.validation(error.message)
        }
        try await stacks.updateChangeSetExecution(changeSet.id, executionStatus: "EXECUTE_IN_PROGRESS")
        var failure: (any Error)?
        do {
            _ = try await applier.execute(prepared)
        } catch {
            // The stack's record says what failed (CREATE_FAILED / UPDATE_FAILED with the reason), as CloudFormation's would.
            failure = error
        }
        try await stacks.updateChangeSetExecution(
            changeSet.id, executionStatus: failure == nil ? "EXECUTE_COMPLETE" : "EXECUTE_FAILED")
        guard try await stacks.stack(changeSet.stackName) != nil else {
            throw CloudFormationError.validation(
                (failure as? RelctlError)?.message
                    ?? "Executing change set \(changeSet.name) failed: \(failure.map { "\($0)" } ?? "")")
        }
        try await stacks.saveCloudFormationStack(
            CloudFormationStackRecord(
                stackName: changeSet.stackName, stackId: changeSet.stackId, template: changeSet.template,
                changeSetId: changeSet.id,
                description: try? TemplateLoader.load(changeSet.template)["Description"]?.string))
        for other in try await stacks.changeSets(stack: changeSet.stackName)
        where other.id != changeSet.id && other.executionStatus == "AVAILABLE" {
            try await stacks.updateChangeSetExecution(other.id, executionStatus: "OBSOLETE")
        }
    }

    // MARK: - Templates

    func summarize(_ action: String, _ query: AWSQueryRequest) async throws -> any Encodable & Sendable {
        let text: String
        if query["TemplateBody"] == nil, query["TemplateURL"] == nil, let stack = query["StackName"] {
            guard let record = try await stacks.cloudFormationStack(try await stackName(query)) else {
                throw CloudFormationError.validation("Stack with id \(stack) does not exist")
            }
            text = record.template
        } else {
            text = try await template(query, stack: nil)
        }
        let root: TemplateNode
        do { root = try TemplateLoader.load(text) } catch {
            throw CloudFormationError.validation("Template format error: \(error.description)")
        }
        let parameters = (root["Parameters"]?.entries ?? []).map { entry in
            (
                key: entry.key, defaultValue: entry.value["Default"]?.string,
                type: entry.value["Type"]?.string ?? "String",
                noEcho: entry.value["NoEcho"]?.string == "true", description: entry.value["Description"]?.string
            )
        }
        let transforms =
            root["Transform"].map { node in node.items?.compactMap(\.string) ?? [node.string].compactMap { $0 } } ?? []
        let description = root["Description"]?.string
        if action == "ValidateTemplate" {
            return ValidateTemplateResult(
                Parameters: Members(
                    parameters.map {
                        .init(
                            ParameterKey: $0.key, DefaultValue: $0.defaultValue, NoEcho: $0.noEcho,
                            Description: $0.description)
                    }),
                Description: description, DeclaredTransforms: Members(transforms))
        }
        let types = Set((root["Resources"]?.entries ?? []).compactMap { $0.value["Type"]?.string }).sorted()
        return GetTemplateSummaryResult(
            Parameters: Members(
                parameters.map {
                    CFNParameterDeclaration(
                        ParameterKey: $0.key, DefaultValue: $0.defaultValue, ParameterType: $0.type, NoEcho: $0.noEcho,
                        Description: $0.description)
                }),
            Description: description, ResourceTypes: Members(types), Version: root["AWSTemplateFormatVersion"]?.string,
            DeclaredTransforms: Members(transforms))
    }

    static func decodeList(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }
}
