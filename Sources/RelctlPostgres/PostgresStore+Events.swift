import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// The event log and its webhooks on PostgreSQL (issue 10 §1/§5), with SQLite's answers and messages
// (Registry's Events.swift). Events are written by the engine's transactions under the store's write
// lock, so committed `seq` only grows and a cursor over it never skips one. A webhook's deliveries are
// leased in its row (`lease_owner`, `lease_until`), claimed under the same write lock, so of several
// dispatchers sharing the database one at a time delivers a webhook's events; `serve --database` runs
// its dispatcher only while its controller leads.
extension PostgresStore: EventLog {
    public func events(after seq: Int64, filter: EventFilter, limit: Int) async throws(RelctlError) -> EventPage {
        try await blocking(write: false) { db in
            let events = try Self.events(db, after: seq, filter: filter, limit: limit)
            let scanned = events.count == limit ? events.last!.seq : try Self.lastEventSeq(db)
            return EventPage(events: events, scannedThrough: max(seq, scanned))
        }
    }

    public func listEvents(
        after seq: Int64, filter: EventFilter, limit: Int
    ) async throws(RelctlError) -> [ReleaseEvent] {
        try await blocking(write: false) { db in try Self.events(db, after: seq, filter: filter, limit: limit) }
    }

    public func lastEventSeq() async throws(RelctlError) -> Int64 {
        try await blocking(write: false) { db in try Self.lastEventSeq(db) }
    }

    // MARK: - Webhooks

    public func addWebhook(_ webhook: Webhook) async throws(RelctlError) -> Webhook {
        try webhook.validate()
        return try await write(records: true) { db in
            guard try db.db.rows("SELECT 1 FROM webhooks WHERE name = \(webhook.name)").isEmpty else {
                throw Webhook.alreadyExists(webhook.name)
            }
            var stored = webhook
            stored.createdAt = db.now
            stored.deliveredSeq = try Self.lastEventSeq(db.db)
            try db.db.execute(
                """
                INSERT INTO webhooks (name, url, types, function_name, secret, format, created_at, delivered_seq)
                VALUES (\(stored.name), \(stored.url), \(stored.types.isEmpty ? nil : try JSON.encode(stored.types)),
                        \(stored.function), \(stored.secret), \(stored.format.rawValue), \(stored.createdAt),
                        \(stored.deliveredSeq))
                """)
            try db.audit(
                "AddWebhook", function: webhook.function, resource: "webhook:\(webhook.name)",
                after: [
                    "url": webhook.url, "types": webhook.types.map(\.rawValue).joined(separator: ","),
                    "format": webhook.format.rawValue,
                ])
            return stored
        }
    }

    public func listWebhooks() async throws(RelctlError) -> [Webhook] {
        try await webhooks()
    }

    public func webhook(named name: String) async throws(RelctlError) -> Webhook {
        try await blocking(write: false) { db in
            guard let webhook = try Self.webhooks(db, named: name).first else { throw Webhook.notFound(name) }
            return webhook
        }
    }

    public func deleteWebhook(named name: String) async throws(RelctlError) {
        try await write(records: true) { db in
            guard try db.db.execute("DELETE FROM webhooks WHERE name = \(name)") > 0 else {
                throw Webhook.notFound(name)
            }
            try db.audit(
                "DeleteWebhook", function: nil, resource: "webhook:\(name)", before: nil as String?,
                after: nil as String?)
        }
    }

    // MARK: - Delivery (EventStore)

    public func webhooks() async throws(RelctlError) -> [Webhook] {
        try await blocking(write: false) { db in try Self.webhooks(db, named: nil) }
    }

    public func claimWebhook(
        _ name: String, owner: String, now: Double, seconds: Double
    ) async throws(RelctlError) -> Bool {
        try await unfenced.blocking(write: true) { db in
            try db.execute(
                """
                UPDATE webhooks SET lease_owner = \(owner), lease_until = \(now + seconds)
                WHERE name = \(name) AND (lease_owner IS NULL OR lease_owner = \(owner) OR lease_until < \(now))
                """) > 0
        }
    }

    public func webhookDelivered(_ name: String, through seq: Int64) async throws(RelctlError) {
        try await unfenced.blocking(write: true) { db in
            _ = try db.execute(
                """
                UPDATE webhooks SET delivered_seq = GREATEST(delivered_seq, \(seq)), attempts = 0, next_attempt_at = 0,
                  last_error = NULL
                WHERE name = \(name)
                """)
        }
    }

    public func webhookFailed(_ name: String, error: String, retryAt: Double) async throws(RelctlError) {
        try await unfenced.blocking(write: true) { db in
            _ = try db.execute(
                """
                UPDATE webhooks SET attempts = attempts + 1, next_attempt_at = \(retryAt),
                  last_error = \(String(error.prefix(500)))
                WHERE name = \(name)
                """)
        }
    }

    public func releaseWebhook(_ name: String, owner: String) async throws(RelctlError) {
        try await unfenced.blocking(write: true) { db in
            _ = try db.execute(
                "UPDATE webhooks SET lease_owner = NULL, lease_until = NULL WHERE name = \(name) AND lease_owner = \(owner)"
            )
        }
    }

    // MARK: - Rows

    static func lastEventSeq(_ db: BlockingConnection) throws -> Int64 {
        try db.rows("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events").first?.decode(Int64.self) ?? 0
    }

    static func events(
        _ db: BlockingConnection, after seq: Int64, filter: EventFilter, limit: Int
    ) throws -> [ReleaseEvent] {
        let types = filter.types.map(\.rawValue)
        return try db.rows(
            """
            SELECT seq, at, type, actor, function_name, alias_name, deployment_id, message, details FROM events
            WHERE seq > \(seq) AND (\(filter.function)::TEXT IS NULL OR function_name = \(filter.function))
              AND (cardinality(\(types)::TEXT[]) = 0 OR type = ANY(\(types)::TEXT[]))
            ORDER BY seq LIMIT \(limit)
            """
        ).map { row in
            let (seq, at, type, actor, function, alias, deploymentId, message, details) = try row.decode(
                (Int64, Double, String, String, String?, String?, String?, String, String).self)
            return ReleaseEvent(
                seq: seq, time: at, type: ReleaseEvent.EventType(rawValue: type) ?? .test, actor: actor,
                function: function, alias: alias, deploymentId: deploymentId, message: message,
                details: try JSON.decode([String: String].self, details))
        }
    }

    /// Every webhook by name, or the one named `name`.
    static func webhooks(_ db: BlockingConnection, named name: String?) throws -> [Webhook] {
        try db.rows(
            """
            SELECT name, url, types, function_name, secret, format, created_at, delivered_seq, attempts,
                   next_attempt_at, last_error
            FROM webhooks WHERE \(name)::TEXT IS NULL OR name = \(name) ORDER BY name
            """
        ).map { row in
            let (
                name, url, types, function, secret, format, createdAt, deliveredSeq, attempts, nextAttemptAt, lastError
            ) =
                try row.decode(
                    (String, String, String?, String?, String?, String, Double, Int64, Int32, Double, String?).self)
            return Webhook(
                name: name, url: url, types: try types.map { try JSON.decode([ReleaseEvent.EventType].self, $0) } ?? [],
                function: function, secret: secret, format: WebhookFormat(rawValue: format) ?? .json,
                createdAt: createdAt, deliveredSeq: deliveredSeq, attempts: Int(attempts),
                nextAttemptAt: nextAttemptAt, lastError: lastError)
        }
    }
}
