import Foundation
import GRDB
import RelctlCore
import RelctlStorage

/// One row of the `events` log.
struct EventRecord: SnakeCaseRecord {
    static let databaseTableName = "events"
    var seq: Int64?
    var at: Double
    var type: String
    var actor: String
    var functionName: String?
    var aliasName: String?
    var deploymentId: String?
    var message: String
    var details: String

    init(_ event: ReleaseEvent) throws {
        at = event.time
        type = event.type.rawValue
        actor = event.actor
        functionName = event.function
        aliasName = event.alias
        deploymentId = event.deploymentId
        message = event.message
        details = JSONText.object(event.details)
    }

    /// `insert(db)` through a cached statement (every alias move and deployment step writes events).
    func insertCached(_ db: Database) throws {
        try db.execute(
            cached: """
                INSERT INTO events (at, type, actor, function_name, alias_name, deployment_id, message, details)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [at, type, actor, functionName, aliasName, deploymentId, message, details])
    }

    func encode(to container: inout PersistenceContainer) {
        container["seq"] = seq
        container["at"] = at
        container["type"] = type
        container["actor"] = actor
        container["function_name"] = functionName
        container["alias_name"] = aliasName
        container["deployment_id"] = deploymentId
        container["message"] = message
        container["details"] = details
    }

    func decoded() throws -> ReleaseEvent {
        ReleaseEvent(
            seq: seq ?? 0, time: at, type: ReleaseEvent.EventType(rawValue: type) ?? .test, actor: actor,
            function: functionName, alias: aliasName, deploymentId: deploymentId, message: message,
            details: try JSONDecoder().decode([String: String].self, from: Data(details.utf8)))
    }

    enum Columns {
        static let seq = Column("seq")
        static let type = Column("type")
        static let functionName = Column("function_name")
    }
}

extension DerivableRequest<EventRecord> {
    /// Events after `seq` that `filter` keeps, in order.
    func matching(_ filter: EventFilter, after seq: Int64) -> Self {
        var request = self.filter(EventRecord.Columns.seq > seq)
        if let function = filter.function { request = request.filter(EventRecord.Columns.functionName == function) }
        if !filter.types.isEmpty {
            request = request.filter(filter.types.map(\.rawValue).contains(EventRecord.Columns.type))
        }
        return request.order(EventRecord.Columns.seq)
    }
}

/// One row of `webhooks`.
struct WebhookRecord: SnakeCaseRecord {
    static let databaseTableName = "webhooks"
    var name: String
    var url: String
    var types: String?
    var functionName: String?
    var secret: String?
    var format: String
    var createdAt: Double
    var deliveredSeq: Int64
    var attempts: Int
    var nextAttemptAt: Double
    var lastError: String?
    var leaseOwner: String?
    var leaseUntil: Double?

    init(_ webhook: Webhook) throws {
        name = webhook.name
        url = webhook.url
        types =
            webhook.types.isEmpty ? nil : String(decoding: try JSONEncoder.sorted.encode(webhook.types), as: UTF8.self)
        functionName = webhook.function
        secret = webhook.secret
        format = webhook.format.rawValue
        createdAt = webhook.createdAt
        deliveredSeq = webhook.deliveredSeq
        attempts = webhook.attempts
        nextAttemptAt = webhook.nextAttemptAt
        lastError = webhook.lastError
    }

    func decoded() throws -> Webhook {
        Webhook(
            name: name, url: url,
            types: try types.map { try JSONDecoder().decode([ReleaseEvent.EventType].self, from: Data($0.utf8)) } ?? [],
            function: functionName, secret: secret, format: WebhookFormat(rawValue: format) ?? .json,
            createdAt: createdAt,
            deliveredSeq: deliveredSeq, attempts: attempts, nextAttemptAt: nextAttemptAt, lastError: lastError)
    }
}

extension Registry {
    /// Appends to the event log in the caller's transaction, so the event commits with its change.
    func recordEvent(
        _ db: Database, _ type: ReleaseEvent.EventType, function: String? = nil, alias: String? = nil,
        deploymentId: String? = nil, message: String, details: [String: String] = [:]
    ) throws {
        let event = ReleaseEvent(
            time: clock().timeIntervalSince1970, type: type, actor: actor, function: function, alias: alias,
            deploymentId: deploymentId, message: message, details: details)
        try EventRecord(event).insertCached(db)
    }

    /// The release events a deployment's log entries stand for, with the deployment's function,
    /// alias and versions (the engine writes both logs in one transaction).
    func recordDeploymentEvents(_ db: Database, _ id: String, _ entries: [DeploymentEvent]) throws {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT function_name, alias_name, current_version, target_version FROM deployments WHERE id = ?"
                ),
                arguments: [id])
        else { return }
        try recordDeploymentEvents(db, id, entries, of: (row[0], row[1], row[2], row[3]))
    }

    /// The same, with the deployment's function, alias and versions already in hand.
    func recordDeploymentEvents(
        _ db: Database, _ id: String, _ entries: [DeploymentEvent],
        of deployment: (function: String, alias: String, currentVersion: Int, targetVersion: Int)
    ) throws {
        let context: [String: String] = [
            "currentVersion": String(deployment.currentVersion), "targetVersion": String(deployment.targetVersion),
        ]
        for entry in entries {
            for type in ReleaseEvent.types(of: entry) {
                let event = ReleaseEvent(
                    time: entry.at, type: type, actor: entry.details["actor"] ?? actor, function: deployment.function,
                    alias: deployment.alias, deploymentId: id, message: entry.message,
                    details: context.merging(entry.details) { _, detail in detail })
                try EventRecord(event).insertCached(db)
            }
        }
    }

    /// AlarmStateChanged when a saved alarm state differs from the stored one.
    func recordAlarmChange(_ db: Database, name: String, to state: AlarmState, reason: String) throws {
        guard let alarm = try AlarmRecord.fetchOne(db, key: name)?.stored(cache: alarmCache), alarm.state != state
        else { return }
        try recordEvent(
            db, .alarmStateChanged, function: alarm.definition.functionName,
            alias: alarm.definition.resource.flatMap { $0.split(separator: ":").dropFirst().first.map(String.init) },
            message: "Alarm \(name) went from \(alarm.state.rawValue) to \(state.rawValue): \(reason)",
            details: [
                "alarm": name, "from": alarm.state.rawValue, "to": state.rawValue, "reason": reason,
                "metric": alarm.definition.metric,
            ])
    }

    /// QuotaWarning for each of 80/90/100% of the limit that usage just crossed upwards.
    func recordQuotaWarnings(_ db: Database, before: Int64, after: Int64) throws {
        let limit = try limit(db)
        for percent in ReleaseEvent.quotaThresholdsCrossed(before: before, after: after, limit: limit) {
            try recordEvent(
                db, .quotaWarning, message: "Code storage is at \(percent)% of the quota: \(after) of \(limit) bytes",
                details: ["threshold": "\(percent)%", "usage": String(after), "limit": String(limit)])
        }
    }

    // MARK: - Reading the log

    /// `relctl events`: events after `seq` that `filter` keeps, oldest first.
    public func listEvents(
        after seq: Int64, filter: EventFilter = EventFilter(), limit: Int = 1000
    ) throws(RelctlError) -> [ReleaseEvent] {
        try read { db in
            try EventRecord.all().matching(filter, after: seq).limit(limit).fetchAll(db).map { try $0.decoded() }
        }
    }

    /// The newest event's sequence number (0: none yet).
    public func lastEventSeq() throws(RelctlError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events") ?? 0 }
    }

    // MARK: - Webhooks

    /// `notify add`: the webhook receives events committed from now on.
    @discardableResult
    public func addWebhook(_ webhook: Webhook) throws(RelctlError) -> Webhook {
        try webhook.validate()
        return try write { db, _ in
            guard try !WebhookRecord.exists(db, key: webhook.name) else { throw Webhook.alreadyExists(webhook.name) }
            var stored = webhook
            stored.createdAt = clock().timeIntervalSince1970
            stored.deliveredSeq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events") ?? 0
            try WebhookRecord(stored).insert(db)
            try audit(
                db, "AddWebhook", function: webhook.function, resource: "webhook:\(webhook.name)",
                after: [
                    "url": webhook.url, "types": webhook.types.map(\.rawValue).joined(separator: ","),
                    "format": webhook.format.rawValue,
                ])
            return stored
        }
    }

    public func listWebhooks() throws(RelctlError) -> [Webhook] {
        try read { db in try WebhookRecord.order(Column("name")).fetchAll(db).map { try $0.decoded() } }
    }

    public func webhook(named name: String) throws(RelctlError) -> Webhook {
        try read { db in
            guard let record = try WebhookRecord.fetchOne(db, key: name) else { throw Webhook.notFound(name) }
            return try record.decoded()
        }
    }

    public func deleteWebhook(named name: String) throws(RelctlError) {
        try write { db, _ in
            guard try WebhookRecord.deleteOne(db, key: name) else { throw Webhook.notFound(name) }
            try audit(db, "DeleteWebhook", function: nil, resource: "webhook:\(name)")
        }
    }
}

/// `relctl events` and `relctl notify` on SQLite: the synchronous methods above.
extension Registry: EventLog {}

extension Registry: EventStore {
    private func asyncRead<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(RelctlError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Registry.map(error)
        }
    }

    private func asyncWrite<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(RelctlError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Registry.map(error)
        }
    }

    public func events(after seq: Int64, filter: EventFilter, limit: Int) async throws(RelctlError) -> EventPage {
        try await asyncRead { db in
            let events = try EventRecord.all().matching(filter, after: seq).limit(limit).fetchAll(db).map {
                try $0.decoded()
            }
            let scanned =
                events.count == limit
                ? events.last!.seq : (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events") ?? 0)
            return EventPage(events: events, scannedThrough: max(seq, scanned))
        }
    }

    public func webhooks() async throws(RelctlError) -> [Webhook] {
        try await asyncRead { db in try WebhookRecord.order(Column("name")).fetchAll(db).map { try $0.decoded() } }
    }

    public func claimWebhook(
        _ name: String, owner: String, now: Double, seconds: Double
    ) async throws(RelctlError) -> Bool {
        try await asyncWrite { db in
            try db.execute(
                sql: """
                    UPDATE webhooks SET lease_owner = ?1, lease_until = ?2
                    WHERE name = ?3 AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_until < ?4)
                    """, arguments: [owner, now + seconds, name, now])
            return db.changesCount > 0
        }
    }

    public func webhookDelivered(_ name: String, through seq: Int64) async throws(RelctlError) {
        try await asyncWrite { db in
            try db.execute(
                sql: """
                    UPDATE webhooks SET delivered_seq = MAX(delivered_seq, ?), attempts = 0, next_attempt_at = 0, last_error = NULL WHERE name = ?
                    """, arguments: [seq, name])
        }
    }

    public func webhookFailed(_ name: String, error: String, retryAt: Double) async throws(RelctlError) {
        try await asyncWrite { db in
            try db.execute(
                sql: "UPDATE webhooks SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE name = ?",
                arguments: [retryAt, String(error.prefix(500)), name])
        }
    }

    public func releaseWebhook(_ name: String, owner: String) async throws(RelctlError) {
        try await asyncWrite { db in
            try db.execute(
                sql: "UPDATE webhooks SET lease_owner = NULL, lease_until = NULL WHERE name = ? AND lease_owner = ?",
                arguments: [name, owner])
        }
    }
}

extension Registry {
    /// `version 3`, `version 3 + 10% to version 4`, `(none)`: an alias target in an event's words.
    static func describe(_ target: AliasTarget?) -> String { AliasTarget.eventWords(target) }
}
