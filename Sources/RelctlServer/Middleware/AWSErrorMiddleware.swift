import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RelctlCore

/// A `RelctlError` as AWS renders it: the type in `x-amzn-ErrorType` and the body, in the shape of
/// the API that was called (rest-json for Lambda, JSON 1.1 with `__type` for CodeDeploy).
struct AWSError: HTTPResponseError {
    var error: RelctlError
    /// JSON 1.1 (CodeDeploy): 404, 409 and 412 are 400 there.
    var codeDeploy: Bool

    var status: HTTPResponse.Status {
        let status = error.code.httpStatus
        if codeDeploy && (status == 404 || status == 409 || status == 412) { return .badRequest }
        return .init(code: status)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let type = error.code.awsErrorType
        if codeDeploy {
            return .awsJSON(
                JSON11Error(type: type, message: error.message), status: status,
                contentType: CodeDeployRoutes.contentType,
                headers: [.amzErrorType: type])
        }
        // The member botocore's model gives each shape: `Message` for ResourceNotFoundException and
        // ServiceException, `message` for the others relctl sends (TooManyRequestsException included).
        let capitalM = ["ResourceNotFoundException", "ServiceException"].contains(type)
        var headers: HTTPFields = [.amzErrorType: type]
        if error.code == .tooManyRequests { headers[.retryAfter] = "1" }
        return .awsJSON(RestJSONError(message: error.message, capitalM: capitalM), status: status, headers: headers)
    }
}

/// An error of CodeDeploy's own vocabulary (`ApplicationDoesNotExistException`, …), 400 as AWS sends them.
struct CodeDeployError: HTTPResponseError {
    var type: String
    var message: String

    var status: HTTPResponse.Status { .badRequest }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        .awsJSON(
            JSON11Error(type: type, message: message), status: status, contentType: CodeDeployRoutes.contentType,
            headers: [.amzErrorType: type])
    }
}

/// `{"__type": …, "message": …}`
struct JSON11Error: Encodable {
    var type: String
    var message: String
    enum CodingKeys: String, CodingKey { case type = "__type", message }
}

/// `{"Type": "User", "message": …}` (or `"Message"`, as botocore models the error shape).
struct RestJSONError: Encodable {
    var message: String
    var capitalM: Bool
    enum CodingKeys: String, CodingKey { case type = "Type", message, Message }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("User", forKey: .type)
        try container.encode(message, forKey: capitalM ? .Message : .message)
    }
}

/// Renders every error the way AWS does, in one place, and stamps each response with the request id.
/// A route that does not exist is ResourceNotFoundException; an error that is not ours is ServiceException.
struct AWSErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            switch context.operation.api {
            // CloudFormation (awsquery) and S3 answer in their own XML shapes.
            case .cloudFormation:
                let cloudFormationError =
                    (error as? CloudFormationError) ?? (error as? RelctlError).map(CloudFormationError.init)
                    ?? CloudFormationError(code: "InternalFailure", message: "\(error)", status: .internalServerError)
                response = try cloudFormationError.response(from: request, context: context)
            case .s3:
                response = try S3Error(error).response(from: request, context: context)
            default:
                response = try Self.responseError(for: error, request: request).response(
                    from: request, context: context)
            }
        }
        response.headers[.amzRequestId] = context.requestId
        return response
    }

    static func responseError(for error: any Error, request: Request) -> any HTTPResponseError {
        let codeDeploy = APIOperation.isCodeDeploy(request)
        switch error {
        case let error as RelctlError:
            return AWSError(error: error, codeDeploy: codeDeploy)
        case let error as CodeDeployError:
            return error
        case let error as AWSError:
            return error
        case let error as HTTPError where error.status == .notFound:
            return AWSError(
                error: RelctlError(
                    .resourceNotFound, "No operation at \(request.method.rawValue) \(request.uri.path)."),
                codeDeploy: codeDeploy)
        default:
            return AWSError(error: RelctlError(.service, "\(error)"), codeDeploy: codeDeploy)
        }
    }
}

extension Response {
    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON body as AWS sends it (slashes in ARNs unescaped).
    static func awsJSON(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, contentType: String = "application/json",
        headers: HTTPFields = [:]
    ) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        // An alias (GetAlias, UpdateAlias: the hottest answers) is written by hand, as the audit row is.
        if let alias = value as? AliasConfiguration, let text = alias.jsonText {
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let data = (try? jsonEncoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func bytes(_ data: Data, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
