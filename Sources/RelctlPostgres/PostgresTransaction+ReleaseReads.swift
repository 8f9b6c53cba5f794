import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// What the release API and `relctl release list|get` read on PostgreSQL, as SQLite's `Releases.swift`
// reads it: releases newest first, and a release's decision log (`release_events`).
extension PostgresTransaction {
    func releases(status: DeploymentStatus?, limit: Int) throws -> [ReleaseGroup] {
        try db.rows(
            """
            SELECT state FROM releases WHERE \(status?.rawValue)::TEXT IS NULL OR status = \(status?.rawValue)
            ORDER BY create_time DESC, id LIMIT \(limit)
            """
        ).map { try JSON.decode(ReleaseGroup.self, try $0.decode(String.self)) }
    }

    func releaseEvents(id: String, after afterId: Int64) throws -> [DeploymentEventEntry] {
        try db.rows(
            "SELECT id, at, kind, message, details FROM release_events WHERE release_id = \(id) AND id > \(afterId) ORDER BY id"
        ).map(DeploymentEventEntry.init(decisionLogRow:))
    }
}

extension DeploymentEventEntry {
    /// A row of `deployment_events` or `release_events`: `id, at, kind, message, details`.
    init(decisionLogRow row: PostgresRow) throws {
        let (id, at, kind, message, details) = try row.decode((Int64, Double, String, String, String).self)
        self.init(
            id: id,
            event: DeploymentEvent(
                at: at, kind: kind, message: message,
                details: (try? JSON.decode([String: String].self, details)) ?? [:]))
    }
}
