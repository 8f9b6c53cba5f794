import HTTPTypes
import Hummingbird

/// Names the AWS operation of a request from the route it matched, first, so that every later
/// middleware (authentication, metrics, logs) knows what is being asked before the body is read.
struct OperationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let operations: [String: @Sendable (Request) -> APIOperation]

    init(routes: [Route]) {
        operations = Dictionary(routes.map { ($0.key, $0.operation) }, uniquingKeysWith: { first, _ in first })
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let path = context.endpointPath,
            let operation = operations[Route.key(method: request.method, endpointPath: path)]
        {
            context.operation = operation(request)
        } else if APIOperation.isCodeDeploy(request) {
            context.operation = CodeDeployRoutes.operation(request)
        }
        return try await next(request, context)
    }
}
