import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix
import RelctlCore
import RelctlStorage
import RelctlStore

/// Who signed a request, as the authentication middleware found them.
struct Caller: Sendable {
    /// nil when authentication is off and the request named no key.
    var accessKeyId: String?
    var readOnly: Bool
    /// What the audit log records: `key:AKID (name)`, `key:AKID (unverified)` or `anonymous`.
    var actor: String
}

/// What one request carries from the middleware to its handler: the operation it was routed to,
/// its id, and — once `AuthenticationMiddleware` has passed it — the caller, the body and the
/// registry scoped to the signed region and the caller.
struct AppRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `OperationMiddleware` from the matched route (or `X-Amz-Target`).
    var operation: APIOperation = .unknown
    /// Sent back as `x-amzn-RequestId` and logged with the request.
    let requestId: String
    var caller: Caller?
    /// The request body, read (up to the operation's limit) and hashed by the authentication middleware.
    var body = Data()
    /// The registry as this request sees it; every call goes through `store(_:)`.
    var scope: RegistryScope?

    init(source: Source) {
        coreContext = .init(source: source)
        requestId = LowercaseUUID.make()
    }

    /// The registry answering in the request's region for its caller.
    var registry: Registry {
        get throws(RelctlError) {
            guard let scope else {
                throw RelctlError(.service, "No registry for \(operation.name): the request was not authenticated.")
            }
            try scope.requireSQLite(operation.name)
            return scope.registry
        }
    }

    /// Runs a synchronous registry call (SQLite, fsync on writes) off the NIO event loops and off the
    /// cooperative pool, on the server's store threads. The one door to the registry from a handler:
    /// when the store becomes async this is the one place to change.
    func store<T: Sendable>(_ body: @escaping @Sendable (Registry) throws -> T) async throws -> T {
        guard let scope else {
            throw RelctlError(.service, "No registry for \(operation.name): the request was not authenticated.")
        }
        try scope.requireSQLite(operation.name)
        let registry = scope.registry
        return try await scope.threads.runIfActive { try body(registry) }
    }
}

/// A registry scoped to one request and the threads its synchronous calls run on. Each store is scoped
/// (region and caller) when a handler asks for it: a request uses one or two of them, and making all five was a
/// measurable part of a GetAlias.
struct RegistryScope: Sendable {
    let services: ServerServices
    let region: String
    let actor: String

    var registry: Registry { services.registry.scoped(region: region, actor: actor) }
    var threads: NIOThreadPool { services.storeThreads }
    /// The engine-neutral door: the registry records of the engine this server answers from, scoped
    /// like `registry` (on SQLite, the same registry on the same threads).
    var records: any RegistryRecords { services.records.scopedRecords(region: region, actor: actor) }
    /// The CodeDeploy API's records and the rollout store its deployments run on, of the same engine.
    var codeDeploy: any CodeDeployStore {
        (services.sharedEngine?.codeDeploy ?? services.registry).scopedCodeDeploy(region: region, actor: actor)
    }
    // MARK: S3 subset and CloudFormation (S)
    /// The S3 subset's buckets and objects, of the same engine.
    var s3Objects: any S3ObjectStore { services.s3Objects.scopedS3Objects(region: region, actor: actor) }
    /// The CloudFormation API's stacks and change sets, of the same engine.
    var stacks: any StackStore { services.stacks.scopedStacks(region: region, actor: actor) }
    /// Set when the records are not the data directory's SQLite (`serve --database postgres://…`):
    /// then only operations moved onto `records` answer, the others refuse in one line.
    var sharedEngine: String? { services.sharedEngine?.name }

    /// Refuses an operation that still needs the SQLite registry when the server answers from another engine.
    func requireSQLite(_ operation: String) throws(RelctlError) {
        if let sharedEngine {
            throw RelctlError(
                .unsupportedOperation,
                "\(operation) is not available on the \(sharedEngine) engine yet; run it against a server on the data directory's SQLite registry."
            )
        }
    }
}

/// The AWS operation a request was routed to: its name for logs, metrics and IAM-style messages,
/// and what the middleware needs to know before the body is read.
struct APIOperation: Sendable {
    enum API: Sendable { case lambda, codeDeploy, relctl, cloudFormation, s3 }

    var name: String
    var api: API
    /// The largest body the operation may send, refused (413) before it is buffered.
    var bodyLimit: Int = 1024 * 1024

    static let unknown = APIOperation(name: "Unknown", api: .lambda)

    /// relctl's own endpoints (health, metrics, presigned code) need no SigV4 signature.
    var requiresAuthentication: Bool { api != .relctl }
    /// Health checks and scrapes are not logged request by request.
    var isLogged: Bool { api != .relctl || name == "GetCode" }

    /// Whether a read-only key is refused.
    func isMutating(method: HTTPRequest.Method) -> Bool {
        switch api {
        case .codeDeploy: return !(name.hasPrefix("Get") || name.hasPrefix("List") || name.hasPrefix("BatchGet"))
        case .lambda, .relctl: return name != "Invoke" && method != .get && method != .head
        // CloudFormation's action is in the body: its handler refuses a read-only key's mutations.
        case .cloudFormation: return false
        case .s3: return method != .get && method != .head
        }
    }

    /// The IAM service prefix in an AccessDenied message.
    var service: String {
        if api == .s3 { return "s3" }
        if api == .cloudFormation { return "cloudformation" }
        return [
            "CreateApplication", "CreateDeploymentGroup", "CreateDeployment", "StopDeployment",
            "PutLifecycleEventHookExecutionStatus",
            "CreateDeploymentConfig", "GetDeployment", "ListDeployments", "GetDeploymentConfig",
            "ListDeploymentConfigs",
        ].contains(name) ? "codedeploy" : "lambda"
    }

    /// Answered in `x-amzn-ErrorType` + JSON 1.1 (`__type`) rather than rest-json.
    static func isCodeDeploy(_ request: Request) -> Bool {
        request.headers[.amzTarget]?.hasPrefix(CodeDeployRoutes.targetPrefix) == true
    }
}

extension HTTPField.Name {
    static let amzTarget = HTTPField.Name("X-Amz-Target")!
    static let amzRequestId = HTTPField.Name("x-amzn-RequestId")!
    static let amzErrorType = HTTPField.Name("x-amzn-ErrorType")!
}
