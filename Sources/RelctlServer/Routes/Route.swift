import HTTPTypes
import Hummingbird

/// One endpoint: where it is, which AWS operation it is, and its handler. The router is built from
/// these, and `OperationMiddleware` names a matched request's operation from the same list.
struct Route: Sendable {
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response

    var method: HTTPRequest.Method
    var path: RouterPath
    /// The operation of a request matched to this route (CodeDeploy's depends on `X-Amz-Target`,
    /// ListLayers' on `?find=`).
    var operation: @Sendable (Request) -> APIOperation
    var handler: Handler

    init(_ method: HTTPRequest.Method, _ path: RouterPath, _ operation: APIOperation, _ handler: @escaping Handler) {
        self.init(method, path, operation: { _ in operation }, handler)
    }

    init(
        _ method: HTTPRequest.Method, _ path: RouterPath, operation: @escaping @Sendable (Request) -> APIOperation,
        _ handler: @escaping Handler
    ) {
        self.method = method
        self.path = path
        self.operation = operation
        self.handler = handler
    }

    /// The key `OperationMiddleware` finds a matched route by (the router records the matched path).
    var key: String { Self.key(method: method, endpointPath: path.description) }

    static func key(method: HTTPRequest.Method, endpointPath: String) -> String { "\(method.rawValue) \(endpointPath)" }
}

extension Router<AppRequestContext> {
    func add(_ routes: [Route]) {
        for route in routes {
            on(route.path, method: route.method) { request, context in try await route.handler(request, context) }
        }
    }
}
