import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelctlCore
import RelctlSigV4
import RelctlStore

/// The one responder: authenticates, scopes the registry to the request's region and caller,
/// dispatches to the Lambda REST API or the CodeDeploy JSON 1.1 API, and maps errors as AWS does.
struct APIResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let context: ServerContext

    func respond(to request: Request, context requestContext: BasicRequestContext) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let requestId = UUID().uuidString.lowercased()
        let rawPath = request.uri.path
        let rawQuery = request.uri.query
        let segments = rawPath.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
        let query = Self.parseQuery(rawQuery)
        var headers = request.headers.map { ($0.name.rawName, $0.value) }
        // HTTP/1 Host arrives as the request's authority, not among the header fields; SigV4 signs it.
        if let authority = request.head.authority, !headers.contains(where: { $0.0.lowercased() == "host" }) {
            headers.append(("host", authority))
        }
        let target = request.headers[HTTPField.Name("X-Amz-Target")!]
        let isCodeDeploy = target?.hasPrefix("CodeDeploy_20141006.") == true
        let method = request.method.rawValue
        let action: String
        if isCodeDeploy {
            action = String(target!.dropFirst("CodeDeploy_20141006.".count))
        } else if segments == ["healthz"] {
            action = "Healthz"
        } else if segments == ["metrics"] {
            action = "Metrics"
        } else if segments.count == 3, segments[0] == "relctl", segments[1] == "code" {
            action = "GetCode"
        } else {
            action = LambdaAPI.action(method: method, segments: segments, query: query)
        }
        var response: APIResponse
        do {
            let limit = isCodeDeploy ? 1024 * 1024 : LambdaAPI.bodyLimit(method: method, segments: segments)
            let tooLarge = action == "Invoke"
                ? RelctlError(.requestTooLarge, "Request must be smaller than \(limit) bytes for the InvokeFunction operation")
                : RelctlError(.requestEntityTooLarge, "Request must be smaller than \(limit) bytes for the \(action) operation")
            // Refused before a byte of the body is read: a declared length beyond the operation's bound…
            if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit { throw tooLarge }
            switch action {
            case "Healthz":
                response = APIResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Data("ok\n".utf8))
            case "Metrics":
                response = APIResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                       body: Data(self.context.metrics.render(registry: self.context.registry).utf8))
            case "GetCode":
                response = try code(segments[2], rawQuery: rawQuery)
            default:
                // …and a head that does not authenticate (unsigned, unknown key, stale, a wrong
                // signature over a declared payload hash, a read-only key's mutation).
                let pending = try Authenticator(context: self.context).checkHead(
                    method: method, rawPath: rawPath, rawQuery: rawQuery, headers: headers, action: action,
                    mutating: Self.isMutating(action: action, method: method, codeDeploy: isCodeDeploy), now: self.context.clock())
                var request = request
                let body: Data
                do {
                    body = Data(try await request.collectBody(upTo: limit).readableBytesView)
                } catch {
                    throw tooLarge
                }
                let caller = try pending.finish(body: body)
                let region = SigV4.region(request.headers[.authorization]) ?? self.context.registry.arn.region
                let registry = self.context.registry.scoped(region: region, actor: caller)
                let apiRequest = APIRequest(method: method, rawPath: rawPath, segments: segments, query: query, headers: headers,
                                            body: body, registry: registry, requestId: requestId)
                if isCodeDeploy {
                    response = try await CodeDeployAPI(context: self.context).handle(apiRequest, action: action)
                } else {
                    guard segments.first.map(["2015-03-31", "2016-08-19", "2017-03-31", "2017-10-31", "2018-10-31", "2019-09-30"].contains) == true,
                          action != "Unknown" else {
                        throw RelctlError(.resourceNotFound, "No operation at \(method) \(rawPath).")
                    }
                    response = try await LambdaAPI(context: self.context).handle(apiRequest, action: action)
                }
            }
        } catch let error as RelctlError {
            response = Self.errorResponse(error, codeDeploy: isCodeDeploy)
        } catch let error as CodeDeployError {
            response = APIResponse.raw(["__type": error.type, "message": error.message], status: 400, contentType: CodeDeployAPI.contentType)
                .adding(("x-amzn-ErrorType", error.type))
        } catch {
            response = Self.errorResponse(RelctlError(.service, "\(error)"), codeDeploy: isCodeDeploy)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        self.context.metrics.request(action: action, status: response.status, seconds: seconds)
        if action != "Healthz" && action != "Metrics" {
            self.context.logger.info("request", metadata: [
                "request-id": "\(requestId)", "action": "\(action)", "method": "\(method)", "path": "\(rawPath)",
                "status": "\(response.status)", "ms": "\(String(format: "%.2f", seconds * 1000))",
            ])
        }
        var fields = HTTPFields()
        for (name, value) in response.headers { if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) } }
        fields[HTTPField.Name("x-amzn-RequestId")!] = requestId
        return Response(status: .init(code: response.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }

    /// A presigned code URL (`Code.Location`, `Content.Location`): the name must be a SHA-256, the
    /// URL's signature this process's, and a function version or layer version must use the code.
    /// The URL is the authorization, as S3's presigned GetObject: no Authorization header is needed.
    func code(_ sha256Hex: String, rawQuery: String?) throws(RelctlError) -> APIResponse {
        guard sha256Hex.isSHA256Hex else {
            throw RelctlError(.resourceNotFound, "No code at '\(sha256Hex.prefix(80))': a code URL ends in the 64 lowercase hex digits of a SHA-256.")
        }
        try context.codeURLs.verify(path: ServerContext.codePath(sha256Hex), rawQuery: rawQuery, now: context.clock())
        guard try context.registry.isReadableCode(sha256Hex) else {
            throw RelctlError(.resourceNotFound, "No function version or layer version uses the code \(sha256Hex) any more.")
        }
        return APIResponse(status: 200, headers: [("Content-Type", "application/zip")], body: try context.registry.blobs.read(sha256Hex))
    }

    static func service(_ action: String) -> String {
        ["CreateApplication", "CreateDeploymentGroup", "CreateDeployment", "StopDeployment", "PutLifecycleEventHookExecutionStatus",
         "CreateDeploymentConfig", "GetDeployment", "ListDeployments", "GetDeploymentConfig", "ListDeploymentConfigs"].contains(action) ? "codedeploy" : "lambda"
    }

    static func isMutating(action: String, method: String, codeDeploy: Bool) -> Bool {
        if codeDeploy { return !(action.hasPrefix("Get") || action.hasPrefix("List") || action.hasPrefix("BatchGet")) }
        if action == "Invoke" { return false }
        return method != "GET" && method != "HEAD"
    }

    /// AWS's error shape: the type in `x-amzn-ErrorType` and the body (rest-json), or `__type` (JSON 1.1).
    static func errorResponse(_ error: RelctlError, codeDeploy: Bool) -> APIResponse {
        let type = error.code.awsErrorType
        var status = error.code.httpStatus
        if codeDeploy {
            if status == 404 || status == 409 || status == 412 { status = 400 }
            return APIResponse.raw(["__type": type, "message": error.message], status: status, contentType: "application/x-amz-json-1.1")
                .adding(("x-amzn-ErrorType", type))
        }
        // Shapes with a capital M are modeled that way in botocore (ResourceNotFoundException, …).
        let key = ["ResourceNotFoundException", "ServiceException", "TooManyRequestsException"].contains(type) ? "Message" : "message"
        var response = APIResponse.raw(["Type": "User", key: error.message], status: status).adding(("x-amzn-ErrorType", type))
        if error.code == .tooManyRequests { response.headers.append(("Retry-After", "1")) }
        return response
    }

    static func parseQuery(_ raw: String?) -> [String: String] {
        guard let raw, !raw.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for item in raw.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(parts[1])) : ""
            result[key] = value
        }
        return result
    }
}

extension APIResponse {
    func adding(_ header: (String, String)) -> APIResponse {
        var copy = self
        copy.headers.append(header)
        return copy
    }
}
