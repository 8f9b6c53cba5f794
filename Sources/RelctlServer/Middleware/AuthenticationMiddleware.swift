import Foundation
import HTTPTypes
import Hummingbird
import RelctlCore
import RelctlSigV4
import RelctlStorage
import RelctlStore

/// SigV4 as AWS applies it, in the order AWS decides: a declared body beyond the operation's bound
/// and a head that does not authenticate (unsigned, unknown key, stale, unsigned host,
/// `UNSIGNED-PAYLOAD`, a wrong signature over a declared payload hash, a read-only key's mutation)
/// are refused before a byte of the body is read; then the body is read up to the bound, the rest
/// of the signature checked against it, and the request given the registry scoped to its region
/// and caller.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let services: ServerServices

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let operation = context.operation
        let limit = operation.bodyLimit
        let tooLarge =
            operation.name == "Invoke"
            ? RelctlError(
                .requestTooLarge, "Request must be smaller than \(limit) bytes for the InvokeFunction operation")
            : RelctlError(
                .requestEntityTooLarge,
                "Request must be smaller than \(limit) bytes for the \(operation.name) operation")
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit { throw tooLarge }
        guard operation.requiresAuthentication else { return try await next(request, context) }

        let rawPath = request.uri.path
        // The fields as SigV4 signs them, built only when a signature is checked.
        let headers = { () -> [(String, String)] in
            var headers = request.headers.map { ($0.name.rawName, $0.value) }
            // HTTP/1 Host arrives as the request's authority, not among the header fields; SigV4 signs it.
            if let authority = request.head.authority, !headers.contains(where: { $0.0.lowercased() == "host" }) {
                headers.append(("host", authority))
            }
            return headers
        }
        let pending = try Authenticator(services: services).checkHead(
            method: request.method.rawValue, rawPath: rawPath, rawQuery: request.uri.query,
            authorization: request.headers.first { $0.name == .authorization }?.value, headers: headers,
            operation: operation,
            mutating: operation.isMutating(method: request.method), now: services.clock())
        var request = request
        let body: Data
        do {
            body = Data(try await request.collectBody(upTo: limit).readableBytesView)
        } catch {
            throw tooLarge
        }
        let caller = try pending.finish(body: body)
        let region = pending.region ?? services.registry.arn.region
        var context = context
        context.caller = caller
        context.body = body
        context.scope = RegistryScope(services: services, region: region, actor: caller.actor)
        return try await next(request, context)
    }
}

/// SigV4 authentication in two halves: `checkHead` decides everything the head can tell before a
/// byte of the body is read (an unsigned request, an unknown key, a stale date, an unsigned host,
/// `UNSIGNED-PAYLOAD`, and — when the client declared the payload hash — the signature and the
/// key's rights); `PendingCaller.finish(body:)` checks the rest once the body is read.
struct Authenticator {
    let services: ServerServices

    func checkHead(
        method: String, rawPath: String, rawQuery: String?, authorization header: String?,
        headers: () -> [(String, String)], operation: APIOperation, mutating: Bool, now: Date
    ) throws(RelctlError) -> PendingCaller {
        let parsed = header.flatMap(SigV4.parse)
        guard services.authRequired else {
            return PendingCaller(
                region: parsed?.region,
                state: .known(
                    Caller(
                        accessKeyId: parsed?.accessKeyId, readOnly: false,
                        actor: parsed.map { "key:\($0.accessKeyId) (unverified)" } ?? "anonymous")))
        }
        guard let parsed else {
            throw RelctlError(
                .unrecognizedClient,
                "The security token included in the request is invalid. (Missing or malformed SigV4 Authorization header.)"
            )
        }
        guard let credential = try services.credential(accessKeyId: parsed.accessKeyId) else {
            throw RelctlError(.unrecognizedClient, "The security token included in the request is invalid.")
        }
        let verification = try SigV4.verifyHead(
            method: method, rawPath: rawPath, rawQuery: rawQuery, headers: headers(),
            authorization: parsed, secret: credential.secretAccessKey, now: now)
        let pending = PendingCaller(
            region: parsed.region,
            state: .verifying(verification, credential, operation: operation, mutating: mutating))
        if verification.signatureVerified { try pending.authorize() }
        return pending
    }
}

/// A caller whose request head passed: what is left is the body (and, when the signature needed
/// the body's hash, the key's rights).
struct PendingCaller {
    enum State {
        case known(Caller)
        case verifying(SigV4.PendingVerification, Credential, operation: APIOperation, mutating: Bool)
    }
    /// The region the request was signed for (its registry answers there).
    let region: String?
    let state: State

    /// Who is calling: `key:AKID (name)` when signed with a known key, `anonymous` with auth off.
    func finish(body: Data) throws(RelctlError) -> Caller {
        guard case .verifying(let verification, _, _, _) = state else { return try authorize() }
        try verification.verify(body: body)
        return try authorize()
    }

    /// A read-only key may not mutate; called once the signature is known to be good.
    @discardableResult
    func authorize() throws(RelctlError) -> Caller {
        switch state {
        case .known(let caller):
            return caller
        case .verifying(_, let credential, let operation, let mutating):
            if credential.readOnly && mutating {
                throw RelctlError(
                    .accessDenied,
                    "User: \(credential.name) (\(credential.accessKeyId)) is not authorized to perform: \(operation.service):\(operation.name) because the key is read-only"
                )
            }
            return Caller(
                accessKeyId: credential.accessKeyId, readOnly: credential.readOnly,
                actor: "key:\(credential.accessKeyId) (\(credential.name))")
        }
    }
}
