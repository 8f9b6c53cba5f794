import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore

/// The web dashboard: the page at `/` (HTML, CSS and JS embedded in the binary), the JSON its
/// pages read under `/dashboard/api/`, the event stream it follows, and its actions.
///
/// The rules are the API's. With authentication off (loopback only) anyone on this machine may look
/// and act, as anonymous. With it on, the login form exchanges an access key for a session cookie
/// (HTTP-only, SameSite=Strict); a read-only key sees everything and acts on nothing (403); every
/// action goes through the rollout engine under the key's name, so the audit log and the
/// deployment's decisions record who did it, as for a signed API call.
struct DashboardRoutes: Sendable {
    let services: ServerServices
    let sessions = DashboardSessions()

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "no-referrer",
        .cacheControl: "no-store",
    ]

    var routes: [Route] {
        let asset = { (path: RouterPath, name: String, type: String, bytes: [UInt8]) in
            Route(.get, path, APIOperation(name: name, api: .relctl)) { _, _ in
                var headers = Self.securityHeaders
                headers[.contentType] = type
                return .bytes(Data(bytes), headers: headers)
            }
        }
        return [
            asset("/", "Dashboard", "text/html; charset=utf-8", PackageResources.dashboard_html),
            asset(
                "/dashboard/dashboard.css", "DashboardStyle", "text/css; charset=utf-8", PackageResources.dashboard_css),
            asset(
                "/dashboard/dashboard.js", "DashboardScript", "text/javascript; charset=utf-8",
                PackageResources.dashboard_js),
            Route(.get, "/dashboard/api/session", APIOperation(name: "DashboardSession", api: .relctl)) { request, _ in
                try await self.session(request)
            },
            Route(.post, "/dashboard/api/login", APIOperation(name: "DashboardLogin", api: .relctl)) { request, _ in
                try await self.login(request)
            },
            Route(.post, "/dashboard/api/logout", APIOperation(name: "DashboardLogout", api: .relctl)) { request, _ in
                try self.checkSameOrigin(request)
                if let token = request.cookies[DashboardSessions.cookieName]?.value { sessions.remove(token: token) }
                return .awsJSON(["signedIn": false], headers: [.setCookie: DashboardSessions.cookie(nil)])
            },
            read("/dashboard/api/overview", "DashboardOverview") { source, _ in
                try await DashboardViews.overview(source)
            },
            read("/dashboard/api/deployments", "DashboardDeployments") { source, _ in
                try await DashboardViews.deployments(source)
            },
            read("/dashboard/api/functions/{name}", "DashboardFunction") { source, context in
                try await DashboardViews.function(source, name: try context.parameters.require("name"))
            },
            read("/dashboard/api/deployments/{id}", "DashboardDeployment") { source, context in
                let deployment = try await source.records.deployment(id: try context.parameters.require("id"))
                let states = try await source.engine.alarmStatuses(
                    names: deployment.alarms, targetVersion: deployment.targetVersion)
                return try await DashboardViews.deployment(
                    source, deployment, alarms: states, now: services.clock().timeIntervalSince1970)
            },
            read("/dashboard/api/alarms", "DashboardAlarms") { source, _ in try await source.engine.listAlarms() },
            Route(.get, "/dashboard/api/events", APIOperation(name: "DashboardEvents", api: .relctl)) { request, _ in
                _ = try self.caller(request)
                return try EventRoutes(services: services).stream(request)
            },
            act("/dashboard/api/deployments/{id}/promote", "PromoteDeployment") { engine, context, body in
                DeploymentInfo(
                    try await engine.promote(id: try context.parameters.require("id"), full: body.full ?? false))
            },
            act("/dashboard/api/deployments/{id}/pause", "PauseDeployment") { engine, context, _ in
                DeploymentInfo(try await engine.pause(id: try context.parameters.require("id")))
            },
            act("/dashboard/api/deployments/{id}/resume", "ResumeDeployment") { engine, context, _ in
                DeploymentInfo(try await engine.resume(id: try context.parameters.require("id")))
            },
            act("/dashboard/api/deployments/{id}/stop", "StopDeployment") { engine, context, body in
                DeploymentInfo(
                    try await engine.stop(id: try context.parameters.require("id"), rollback: body.rollback ?? true))
            },
            act("/dashboard/api/functions/{name}/aliases/{alias}/rollback", "RollbackAlias") { engine, context, _ in
                try await engine.rollback(
                    function: try context.parameters.require("name"), alias: try context.parameters.require("alias"))
            },
        ]
    }

    // MARK: - Sign-in

    struct SessionState: Encodable {
        var authRequired: Bool
        var signedIn: Bool
        var name: String?
        var accessKeyId: String?
        var readOnly: Bool
        /// The event log's last sequence number: the page follows `/dashboard/api/events` from here.
        var eventSeq: Int64
    }

    func session(_ request: Request) async throws -> Response {
        try checkHost(request)
        let seq = try await services.eventLog.lastEventSeq()
        guard services.authRequired else {
            return .awsJSON(SessionState(authRequired: false, signedIn: true, readOnly: false, eventSeq: seq))
        }
        guard let credential = try signedInCredential(request) else {
            return .awsJSON(SessionState(authRequired: true, signedIn: false, readOnly: true, eventSeq: seq))
        }
        return .awsJSON(
            SessionState(
                authRequired: true, signedIn: true, name: credential.name, accessKeyId: credential.accessKeyId,
                readOnly: credential.readOnly, eventSeq: seq))
    }

    struct LoginRequest: Decodable {
        var accessKeyId: String
        var secretAccessKey: String
    }

    /// The login form: an access key id and its secret, checked against credentials.json, become a session cookie.
    func login(_ request: Request) async throws -> Response {
        try checkSameOrigin(request)
        guard services.authRequired else {
            throw RelctlError(
                .invalidParameterValue,
                "Authentication is off on this server (loopback only): the dashboard needs no sign-in.")
        }
        let login: LoginRequest = try await Self.decode(request)
        guard let credential = try services.credential(accessKeyId: login.accessKeyId),
            Self.constantTimeEqual(Array(credential.secretAccessKey.utf8), Array(login.secretAccessKey.utf8))
        else {
            // Slows guessing; the message does not say which half was wrong.
            try await Task.sleep(for: .milliseconds(250))
            throw RelctlError(
                .unrecognizedClient,
                "The access key id or secret is not right: sign in with a key from `relctl credentials create`.")
        }
        let token = sessions.create(accessKeyId: credential.accessKeyId, now: services.clock())
        services.logger.info("dashboard sign-in", metadata: ["key": "\(credential.accessKeyId) (\(credential.name))"])
        return .awsJSON(
            SessionState(
                authRequired: true, signedIn: true, name: credential.name, accessKeyId: credential.accessKeyId,
                readOnly: credential.readOnly, eventSeq: 0),
            headers: [.setCookie: DashboardSessions.cookie(token)])
    }

    func signedInCredential(_ request: Request) throws(RelctlError) -> Credential? {
        guard let token = request.cookies[DashboardSessions.cookieName]?.value,
            let accessKeyId = sessions.accessKeyId(token: token, now: services.clock())
        else { return nil }
        return try services.credential(accessKeyId: accessKeyId)
    }

    /// Who is asking: anonymous with authentication off; otherwise the signed-in key, or 403.
    func caller(_ request: Request) throws(RelctlError) -> Caller {
        try checkHost(request)
        guard services.authRequired else { return Caller(accessKeyId: nil, readOnly: false, actor: "anonymous") }
        guard let credential = try signedInCredential(request) else {
            throw RelctlError(
                .unrecognizedClient,
                "Sign in to the dashboard first: the session cookie is missing, has expired, or its key was deleted.")
        }
        return Caller(
            accessKeyId: credential.accessKeyId, readOnly: credential.readOnly,
            actor: "key:\(credential.accessKeyId) (\(credential.name))")
    }

    /// The engine the server answers from, in the server's region, recording the caller.
    func source(for caller: Caller) -> DashboardSource {
        let region = services.registry.arn.region
        return DashboardSource(
            records: services.records.scopedRecords(region: region, actor: caller.actor),
            rollout: (services.sharedEngine?.codeDeploy ?? services.registry).scopedCodeDeploy(
                region: region, actor: caller.actor),
            events: services.eventLog)
    }

    // MARK: - Reads and actions

    /// A page's JSON, read from the engine the server answers from (SQLite calls on the store threads).
    func read<View: Encodable & Sendable>(
        _ path: RouterPath, _ name: String,
        _ view: @escaping @Sendable (DashboardSource, AppRequestContext) async throws -> View
    ) -> Route {
        Route(.get, path, APIOperation(name: name, api: .relctl)) { request, context in
            .awsJSON(try await view(self.source(for: try self.caller(request)), context))
        }
    }

    struct ActionRequest: Decodable {
        /// stop: restore the alias (default true).
        var rollback: Bool?
        /// promote: skip every remaining step.
        var full: Bool?
    }

    /// An action: refused for read-only keys (403, as the API), run by the rollout engine under the caller's name.
    func act<Result: Encodable>(
        _ path: RouterPath, _ name: String,
        _ action: @escaping @Sendable (RolloutEngine, AppRequestContext, ActionRequest) async throws -> Result
    ) -> Route {
        Route(.post, path, APIOperation(name: "Dashboard\(name)", api: .relctl)) { request, context in
            try self.checkSameOrigin(request)
            let caller = try self.caller(request)
            if caller.readOnly {
                throw RelctlError(
                    .accessDenied,
                    "User: \(caller.actor) is not authorized to perform: \(name) because the key is read-only")
            }
            let body: ActionRequest = try await Self.decode(request, empty: ActionRequest())
            let result = try await action(self.source(for: caller).engine, context, body)
            services.logger.info(
                "dashboard action",
                metadata: ["action": "\(name)", "path": "\(request.uri.path)", "actor": "\(caller.actor)"])
            return .awsJSON(result)
        }
    }

    // MARK: - Request checks

    /// With authentication off, only a loopback Host is answered: a web page elsewhere that points
    /// a name of its own at 127.0.0.1 (DNS rebinding) gets nothing.
    func checkHost(_ request: Request) throws(RelctlError) {
        guard !services.authRequired else { return }
        let authority = request.head.authority ?? ""
        let host =
            authority.hasPrefix("[")
            ? String(authority.dropFirst().prefix { $0 != "]" }) : String(authority.prefix { $0 != ":" })
        guard ServerOptions.isLoopback(host) else {
            throw RelctlError(
                .accessDenied,
                "Host '\(authority.prefix(80))' is not allowed: without authentication the dashboard answers only at 127.0.0.1, localhost or [::1]."
            )
        }
    }

    /// Actions and sign-in come from the dashboard's own page: a JSON body (which a cross-site form
    /// cannot send without a preflight this server never grants) and, when the browser says where
    /// the request came from, this origin.
    func checkSameOrigin(_ request: Request) throws(RelctlError) {
        try checkHost(request)
        let type = request.headers[.contentType] ?? ""
        guard type.lowercased().hasPrefix("application/json") else {
            throw RelctlError(
                .invalidParameterValue,
                "Content-Type '\(type.prefix(60))' is not allowed: dashboard actions send application/json.")
        }
        if let site = request.headers[.secFetchSite], site != "same-origin" {
            throw RelctlError(
                .accessDenied, "A \(site) request is not allowed: dashboard actions come from the dashboard's own page."
            )
        }
        if let origin = request.headers[.origin], let authority = request.head.authority,
            origin != "http://\(authority)" && origin != "https://\(authority)"
        {
            throw RelctlError(
                .accessDenied,
                "Origin '\(origin.prefix(80))' is not allowed: dashboard actions come from the dashboard's own page.")
        }
    }

    static func decode<T: Decodable>(_ request: Request, empty: T? = nil) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        if body.readableBytes == 0, let empty { return empty }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw RelctlError(.invalidRequestContent, "The request body is not the JSON this action takes: \(error)")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
