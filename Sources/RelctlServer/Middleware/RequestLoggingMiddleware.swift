import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// One log line per API request: its id, operation, path, status and time taken.
struct RequestLoggingMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        if context.operation.isLogged {
            let elapsed = ContinuousClock.now - started
            // Hundredths of a millisecond in integers: String(format:) was 2 % of a GetAlias's CPU.
            let hundredths = elapsed.components.seconds * 100_000 + elapsed.components.attoseconds / 10_000_000_000_000
            let fraction = hundredths % 100
            logger.info(
                "request",
                metadata: [
                    "request-id": "\(context.requestId)", "action": "\(context.operation.name)",
                    "method": "\(request.method.rawValue)",
                    "path": "\(request.uri.path)", "status": "\(response.status.code)",
                    "ms": "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)",
                ])
        }
        return response
    }
}

/// Counts each request by operation and status, and observes its latency (`/metrics`).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: ServerMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.request(
            action: context.operation.name, status: Int(response.status.code), duration: ContinuousClock.now - started)
        return response
    }
}
