import Foundation
import RelctlCore
import RelctlSigV4
import RelctlStore

/// SigV4 authentication in two halves: `checkHead` decides everything the head can tell before a
/// byte of the body is read (an unsigned request, an unknown key, a stale date, an unsigned host,
/// `UNSIGNED-PAYLOAD`, and — when the client declared the payload hash — the signature and the
/// key's rights); `PendingCaller.finish(body:)` checks the rest once the body is read.
struct Authenticator {
    let context: ServerContext

    func checkHead(method: String, rawPath: String, rawQuery: String?, headers: [(String, String)],
                   action: String, mutating: Bool, now: Date) throws(RelctlError) -> PendingCaller {
        let header = headers.first { $0.0.lowercased() == "authorization" }?.1
        let parsed = header.flatMap(SigV4.parse)
        guard context.authRequired else {
            return PendingCaller(state: .known(parsed.map { "key:\($0.accessKeyId) (unverified)" } ?? "anonymous"))
        }
        guard let parsed else {
            throw RelctlError(.unrecognizedClient, "The security token included in the request is invalid. (Missing or malformed SigV4 Authorization header.)")
        }
        guard let credential = try context.credential(accessKeyId: parsed.accessKeyId) else {
            throw RelctlError(.unrecognizedClient, "The security token included in the request is invalid.")
        }
        let verification = try SigV4.verifyHead(method: method, rawPath: rawPath, rawQuery: rawQuery, headers: headers,
                                                authorization: parsed, secret: credential.secretAccessKey, now: now)
        let pending = PendingCaller(state: .verifying(verification, credential, action: action, mutating: mutating))
        if verification.signatureVerified { try pending.authorize() }
        return pending
    }
}

/// A caller whose request head passed: what is left is the body (and, when the signature needed
/// the body's hash, the key's rights).
struct PendingCaller {
    enum State {
        case known(String)
        case verifying(SigV4.PendingVerification, Credential, action: String, mutating: Bool)
    }
    let state: State

    /// Who is calling: `key:AKID (name)` when signed with a known key, `anonymous` with auth off.
    func finish(body: Data) throws(RelctlError) -> String {
        guard case .verifying(let verification, let credential, _, _) = state else { return try authorize() }
        try verification.verify(body: body)
        if !verification.signatureVerified { try authorize() }
        return "key:\(credential.accessKeyId) (\(credential.name))"
    }

    /// A read-only key may not mutate; called once the signature is known to be good.
    @discardableResult
    func authorize() throws(RelctlError) -> String {
        switch state {
        case .known(let caller):
            return caller
        case .verifying(_, let credential, let action, let mutating):
            if credential.readOnly && mutating {
                throw RelctlError(.accessDenied, "User: \(credential.name) (\(credential.accessKeyId)) is not authorized to perform: \(APIResponder.service(action)):\(action) because the key is read-only")
            }
            return "key:\(credential.accessKeyId) (\(credential.name))"
        }
    }
}
