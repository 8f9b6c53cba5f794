import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import RelctlCore
import RelctlSigV4
import RelctlStorage
import RelctlStore

/// relctl's own endpoints: `/healthz`, `/metrics` and the presigned code download.
struct SystemRoutes: Sendable {
    let services: ServerServices

    var routes: [Route] {
        [
            Route(.get, "/healthz", APIOperation(name: "Healthz", api: .relctl)) { _, _ in
                .bytes(
                    Data(("ok\n" + (self.services.leadership?.healthLine ?? "")).utf8),
                    headers: [.contentType: "text/plain"])
            },
            Route(.get, "/metrics", APIOperation(name: "Metrics", api: .relctl)) { _, _ in
                let services = self.services
                if let leadership = services.leadership { services.metrics.renderLeadership(leadership) }
                // The shared engine's gauges on `serve --database` (every server reports the same registry).
                let rollout: any RolloutStore = services.sharedEngine?.codeDeploy ?? services.registry
                let exposition = services.metrics.render(
                    settings: try? await services.records.accountSettings(),
                    active: try? await rollout.read { tx in try tx.activeDeployments() })
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(bytes: exposition)))
            },
            Route(.get, "/relctl/code/{sha256}", APIOperation(name: "GetCode", api: .relctl)) { request, context in
                try await self.code(context.parameters.require("sha256"), rawQuery: request.uri.query)
            },
        ]
    }

    /// A presigned code URL (`Code.Location`, `Content.Location`): the name must be a SHA-256, the
    /// URL's signature this process's, and a function version or layer version must use the code.
    /// The URL is the authorization, as S3's presigned GetObject: no Authorization header is needed.
    func code(_ sha256Hex: String, rawQuery: String?) async throws -> Response {
        guard sha256Hex.isSHA256Hex else {
            throw RelctlError(
                .resourceNotFound,
                "No code at '\(sha256Hex.prefix(80))': a code URL ends in the 64 lowercase hex digits of a SHA-256.")
        }
        try services.codeURLs.verify(
            path: ServerServices.codePath(sha256Hex), rawQuery: rawQuery, now: services.clock())
        // From the engine this server answers from: the data directory's registry, or the shared database
        // and its code store.
        guard let zip = try await services.records.usedCode(sha256Hex) else {
            throw RelctlError(
                .resourceNotFound, "No function version or layer version uses the code \(sha256Hex) any more.")
        }
        return .bytes(zip, headers: [.contentType: "application/zip"])
    }
}
