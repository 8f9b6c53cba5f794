import Foundation
import NIOConcurrencyHelpers

/// The dashboard's sign-ins: an access key exchanged (once, through the login form) for a random
/// session token the browser keeps in an HTTP-only, SameSite=Strict cookie. Held in memory: a
/// restart of `relctl serve` signs everyone out, and the key is looked up again on every request,
/// so a deleted or downgraded key takes effect at once.
final class DashboardSessions: Sendable {
    struct Session: Sendable {
        var accessKeyId: String
        var lastSeen: Date
    }

    static let cookieName = "relctl_session"
    /// A session unused for this long is gone.
    static let idleLifetime: TimeInterval = 12 * 3600
    /// Beyond this many live sessions the least recently used is dropped.
    static let capacity = 1000

    private let sessions = NIOLockedValueBox([String: Session]())

    /// A new session for `accessKeyId`: its token (64 hex digits from the system's CSPRNG).
    func create(accessKeyId: String, now: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
        sessions.withLockedValue { sessions in
            sessions = sessions.filter { now.timeIntervalSince($0.value.lastSeen) < Self.idleLifetime }
            if sessions.count >= Self.capacity, let oldest = sessions.min(by: { $0.value.lastSeen < $1.value.lastSeen })
            {
                sessions[oldest.key] = nil
            }
            sessions[token] = Session(accessKeyId: accessKeyId, lastSeen: now)
        }
        return token
    }

    /// The key a live session was opened with (and the session kept alive), or nil.
    func accessKeyId(token: String, now: Date) -> String? {
        sessions.withLockedValue { sessions in
            guard let session = sessions[token] else { return nil }
            guard now.timeIntervalSince(session.lastSeen) < Self.idleLifetime else {
                sessions[token] = nil
                return nil
            }
            sessions[token]?.lastSeen = now
            return session.accessKeyId
        }
    }

    func remove(token: String) {
        _ = sessions.withLockedValue { $0.removeValue(forKey: token) }
    }

    /// `Set-Cookie` for a session (or, with nil, one that clears it).
    static func cookie(_ token: String?) -> String {
        guard let token else { return "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" }
        return "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(idleLifetime))"
    }
}
