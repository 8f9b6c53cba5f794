import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

/// Release groups on PostgreSQL: the same rows as SQLite's `Releases.swift` (`migrations/postgres/0002`).
extension PostgresTransaction {
    func activeReleases() throws -> [ReleaseGroup] {
        try db.rows(
            "SELECT state FROM releases WHERE status IN ('Created', 'InProgress', 'Paused') ORDER BY create_time, id"
        )
        .map { try JSON.decode(ReleaseGroup.self, try $0.decode(String.self)) }
    }

    func release(id: String) throws -> ReleaseGroup? {
        try db.rows("SELECT state FROM releases WHERE id = \(id)").first.map {
            try JSON.decode(ReleaseGroup.self, try $0.decode(String.self))
        }
    }

    func release(named name: String) throws -> ReleaseGroup? {
        try db.rows("SELECT state FROM releases WHERE name = \(name) ORDER BY create_time DESC, id DESC LIMIT 1")
            .first.map { try JSON.decode(ReleaseGroup.self, try $0.decode(String.self)) }
    }

    func activeRelease(function: String, alias: String) throws -> ReleaseGroup? {
        try db.rows(
            """
            SELECT releases.state FROM release_members JOIN releases ON releases.id = release_members.release_id
            WHERE release_members.function_name = \(function) AND release_members.alias_name = \(alias) AND release_members.active
            """
        ).first.map { try JSON.decode(ReleaseGroup.self, try $0.decode(String.self)) }
    }

    func insertRelease(_ release: ReleaseGroup) throws {
        try db.execute(
            """
            INSERT INTO releases (id, name, status, create_time, complete_time, state)
            VALUES (\(release.id), \(release.name), \(release.status.rawValue), \(release.machine.createTime),
                    \(release.machine.completeTime), \(try JSON.encode(release)))
            """)
        for member in release.members {
            try db.execute(
                """
                INSERT INTO release_members (release_id, function_name, alias_name, current_version, target_version, alias_weight, active)
                VALUES (\(release.id), \(member.functionName), \(member.alias), \(member.currentVersion), \(member.targetVersion),
                        \(member.aliasWeight), \(release.status.isActive))
                """)
        }
    }

    func updateRelease(_ release: ReleaseGroup) throws {
        try db.execute(
            """
            UPDATE releases SET name = \(release.name), status = \(release.status.rawValue), create_time = \(release.machine.createTime),
              complete_time = \(release.machine.completeTime), state = \(try JSON.encode(release))
            WHERE id = \(release.id)
            """)
        for member in release.members {
            try db.execute(
                """
                UPDATE release_members SET current_version = \(member.currentVersion), target_version = \(member.targetVersion),
                  alias_weight = \(member.aliasWeight), active = \(release.status.isActive)
                WHERE release_id = \(release.id) AND function_name = \(member.functionName) AND alias_name = \(member.alias)
                """)
        }
    }

    func appendReleaseEvents(_ events: [DeploymentEvent], to release: ReleaseGroup) throws {
        for event in events {
            try db.execute(
                """
                INSERT INTO release_events (release_id, at, kind, message, details)
                VALUES (\(release.id), \(event.at), \(event.kind), \(event.message), \(try JSON.encode(event.details)))
                """)
            // One event per member, so a reader or webhook following one function sees its releases.
            for type in ReleaseEvent.types(of: event) {
                for member in release.members {
                    let context = [
                        "release": release.name, "currentVersion": String(member.currentVersion),
                        "targetVersion": String(member.targetVersion),
                    ]
                    try insert(
                        ReleaseEvent(
                            time: event.at, type: type, actor: event.details["actor"] ?? actor,
                            function: member.functionName, alias: member.alias,
                            deploymentId: release.id, message: event.message,
                            details: context.merging(event.details) { _, detail in detail }))
                }
            }
        }
    }
}
