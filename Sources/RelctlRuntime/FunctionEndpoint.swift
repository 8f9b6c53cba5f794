import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RelctlCore
import RelctlSigV4

/// The right a deployment hook's instance has: to report its own hook execution's status, and to
/// invoke the function whose deployment it guards (as the hook role of SAM's examples allows, so a
/// hook can validate the new version before traffic moves).
public struct HookGrant: Sendable, Equatable {
    public var deploymentId: String
    public var executionId: String
    public var functionName: String

    public init(deploymentId: String, executionId: String, functionName: String) {
        self.deploymentId = deploymentId
        self.executionId = executionId
        self.functionName = functionName
    }
}

/// The AWS endpoint a function's instance sees (`AWS_ENDPOINT_URL`, also for CodeDeploy): its own
/// Runtime API server, with an access key of its own that is good for nothing but what `grant`
/// allows. A function therefore never holds relctl's keys nor reaches its data directory: an
/// ordinary function's calls are refused, a hook's report and its invoke of the guarded function are
/// carried out — with or without a `relctl serve` running.
struct FunctionEndpoint: Sendable {
    var accessKeyId: String
    var secretAccessKey: String
    var grant: HookGrant?
    var report: @Sendable (_ grant: HookGrant, _ status: HookStatus) async throws(RelctlError) -> Void
    var invoke: @Sendable (_ function: FunctionReference, _ payload: Data) async throws(RelctlError) -> InvocationResult

    static let none = FunctionEndpoint(
        grant: nil, report: { _, _ in },
        invoke: { _, _ throws(RelctlError) in
            throw RelctlError(.accessDenied, "No invocations through this endpoint.")
        })

    init(
        grant: HookGrant?, report: @escaping @Sendable (HookGrant, HookStatus) async throws(RelctlError) -> Void,
        invoke: @escaping @Sendable (FunctionReference, Data) async throws(RelctlError) -> InvocationResult
    ) {
        accessKeyId = "ASIA" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16)).uppercased()
        secretAccessKey = UUID().uuidString + UUID().uuidString
        self.grant = grant
        self.report = report
        self.invoke = invoke
    }

    func environment(port: Int) -> [String: String] {
        let url = "http://127.0.0.1:\(port)"
        return [
            "AWS_ACCESS_KEY_ID": accessKeyId, "AWS_SECRET_ACCESS_KEY": secretAccessKey, "AWS_SESSION_TOKEN": "",
            "AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_CODEDEPLOY": url, "AWS_ENDPOINT_URL_LAMBDA": url,
        ]
    }

    /// The routes, beside the Runtime API's: CodeDeploy's PutLifecycleEventHookExecutionStatus,
    /// Lambda's Invoke, and a refusal for everything else.
    func addRoutes(to router: Router<BasicRequestContext>) {
        let endpoint = self
        router.post("/") { request, _ in await endpoint.codeDeploy(request) }
        router.post("/2015-03-31/functions/:name/invocations") { request, context in
            await endpoint.invokeFunction(request, name: context.parameters.get("name") ?? "")
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .head] {
            router.on("**", method: method) { request, _ in
                Self.lambdaError(
                    .accessDenied,
                    "relctl: a function's credentials allow only a deployment hook's report of its own status (and its invoke of the function it guards), not \(request.method) \(request.uri.path)."
                )
            }
        }
    }

    private func codeDeploy(_ request: Request) async -> Response {
        let target = request.headers[HTTPField.Name("X-Amz-Target")!] ?? ""
        let body: Data
        do {
            body = try await authenticated(request, limit: 64 * 1024)
        } catch {
            return Self.codeDeployError(
                error.code == .accessDenied ? "AccessDeniedException" : error.code.awsErrorType, error.message)
        }
        guard target == "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus" else {
            return Self.codeDeployError(
                "AccessDeniedException",
                "relctl: a function's credentials allow only PutLifecycleEventHookExecutionStatus for its own hook execution, not \(target)."
            )
        }
        let fields = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let deploymentId = fields["deploymentId"] as? String ?? ""
        let executionId = fields["lifecycleEventHookExecutionId"] as? String ?? ""
        guard let grant, grant.deploymentId == deploymentId, grant.executionId == executionId else {
            return Self.codeDeployError(
                "AccessDeniedException",
                "relctl: this function may report only its own hook execution, not \(executionId) of \(deploymentId).")
        }
        guard let raw = fields["status"] as? String, let status = HookStatus(rawValue: raw), status.isFinal else {
            return Self.codeDeployError(
                "InvalidLifecycleEventHookExecutionStatusException", "The status must be Succeeded or Failed.")
        }
        do {
            try await report(grant, status)
        } catch {
            return Self.codeDeployError(
                error.code == .resourceConflict ? "LifecycleEventAlreadyCompletedException" : error.code.awsErrorType,
                error.message)
        }
        return Self.json(
            ["lifecycleEventHookExecutionId": executionId], status: .ok, contentType: "application/x-amz-json-1.1")
    }

    private func invokeFunction(_ request: Request, name: String) async -> Response {
        do throws(RelctlError) {
            let payload = try await authenticated(request, limit: 6 * 1024 * 1024)
            var reference = try FunctionReference(parsing: name.removingPercentEncoding ?? name)
            if let qualifier = request.uri.queryParameters.get("Qualifier") {
                reference.qualifier = try Qualifier(parsing: qualifier)
            }
            guard let grant, grant.functionName == reference.name else {
                throw RelctlError(
                    .accessDenied,
                    "relctl: this function may not invoke \(reference.name); a deployment hook may invoke only the function it guards."
                )
            }
            let result = try await invoke(reference, payload)
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[HTTPField.Name("X-Amz-Executed-Version")!] = result.ExecutedVersion
            if let error = result.FunctionError { headers[HTTPField.Name("X-Amz-Function-Error")!] = error }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: result.Payload)))
        } catch {
            return Self.lambdaError(error.code, error.message)
        }
    }

    /// The body of a request signed (SigV4) with this instance's key.
    private func authenticated(_ request: Request, limit: Int) async throws(RelctlError) -> Data {
        guard let header = request.headers[.authorization], let authorization = SigV4.parse(header),
            authorization.accessKeyId == accessKeyId
        else {
            throw RelctlError(
                .accessDenied,
                "relctl: requests to a function's endpoint must be signed with the function's own credentials (AWS_ACCESS_KEY_ID)."
            )
        }
        var request = request
        let body: Data
        do {
            body = Data(try await request.collectBody(upTo: limit).readableBytesView)
        } catch {
            throw RelctlError(.requestEntityTooLarge, "Request must be smaller than \(limit) bytes.")
        }
        var headers = request.headers.map { ($0.name.rawName, $0.value) }
        if let authority = request.head.authority, !headers.contains(where: { $0.0.lowercased() == "host" }) {
            headers.append(("host", authority))
        }
        try SigV4.verify(
            method: request.method.rawValue, rawPath: request.uri.path, rawQuery: request.uri.query, headers: headers,
            body: body, authorization: authorization, secret: secretAccessKey, now: Date())
        return body
    }

    static func codeDeployError(_ type: String, _ message: String) -> Response {
        var response = json(
            ["__type": type, "message": message], status: .badRequest, contentType: "application/x-amz-json-1.1")
        response.headers[HTTPField.Name("x-amzn-ErrorType")!] = type
        return response
    }

    static func lambdaError(_ code: RelctlError.Code, _ message: String) -> Response {
        var response = json(
            ["Type": "User", "message": message], status: .init(code: code.httpStatus), contentType: "application/json")
        response.headers[HTTPField.Name("x-amzn-ErrorType")!] = code.awsErrorType
        return response
    }

    static func json(_ object: [String: String], status: HTTPResponse.Status, contentType: String) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(
            status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
