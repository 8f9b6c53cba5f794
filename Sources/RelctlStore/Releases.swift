import Foundation
import GRDB
import RelctlCore
import RelctlStorage

/// One row of `releases`: the group's state as JSON, with the columns queries filter on.
struct ReleaseRecord: SnakeCaseRecord {
    static let databaseTableName = "releases"
    var id: String
    var name: String
    var status: String
    var createTime: Double
    var completeTime: Double?
    var state: String

    init(_ release: ReleaseGroup) throws {
        id = release.id
        name = release.name
        status = release.status.rawValue
        createTime = release.machine.createTime
        completeTime = release.machine.completeTime
        state = String(decoding: try JSONEncoder.sorted.encode(release), as: UTF8.self)
    }

    func decoded() throws -> ReleaseGroup {
        try JSONDecoder().decode(ReleaseGroup.self, from: Data(state.utf8))
    }

    enum Columns {
        static let id = Column("id")
        static let name = Column("name")
        static let status = Column("status")
        static let createTime = Column("create_time")
    }
}

/// One row of `release_members`: which aliases a release owns while it is active.
struct ReleaseMemberRecord: SnakeCaseRecord {
    static let databaseTableName = "release_members"
    var releaseId: String
    var functionName: String
    var aliasName: String
    var currentVersion: Int
    var targetVersion: Int
    var aliasWeight: Double
    var active: Bool

    init(_ member: ReleaseMember, of release: ReleaseGroup) {
        releaseId = release.id
        functionName = member.functionName
        aliasName = member.alias
        currentVersion = member.currentVersion
        targetVersion = member.targetVersion
        aliasWeight = member.aliasWeight
        active = release.status.isActive
    }
}

extension DerivableRequest<ReleaseRecord> {
    /// Releases that are Created, InProgress or Paused.
    func active() -> Self {
        filter(DeploymentRecord.activeStatuses.contains(ReleaseRecord.Columns.status))
    }
}

extension SQLiteTransaction {
    func activeReleases() throws -> [ReleaseGroup] {
        try ReleaseRecord.all().active().order(ReleaseRecord.Columns.createTime, ReleaseRecord.Columns.id).fetchAll(db)
            .map { try $0.decoded() }
    }

    func release(id: String) throws -> ReleaseGroup? {
        try ReleaseRecord.fetchOne(db, key: id)?.decoded()
    }

    func release(named name: String) throws -> ReleaseGroup? {
        try registry.newestRelease(db, named: name)
    }

    /// Every alias move asks this (compiled once per connection).
    func activeRelease(function: String, alias: String) throws -> ReleaseGroup? {
        try db.fetchOne(
            ReleaseRecord.self,
            cached: """
                SELECT releases.* FROM release_members JOIN releases ON releases.id = release_members.release_id
                WHERE release_members.function_name = ? AND release_members.alias_name = ? AND release_members.active = 1
                """, [function, alias])?.decoded()
    }

    func insertRelease(_ release: ReleaseGroup) throws {
        try ReleaseRecord(release).insert(db)
        for member in release.members { try ReleaseMemberRecord(member, of: release).insert(db) }
    }

    func updateRelease(_ release: ReleaseGroup) throws {
        try ReleaseRecord(release).update(db)
        for member in release.members { try ReleaseMemberRecord(member, of: release).update(db) }
    }

    func appendReleaseEvents(_ events: [DeploymentEvent], to release: ReleaseGroup) throws {
        for event in events {
            try DecisionLog.release.append(db, id: release.id, [event])
            // One event per member, so a reader or webhook following one function sees its releases.
            for type in ReleaseEvent.types(of: event) {
                for member in release.members {
                    let context = [
                        "release": release.name, "currentVersion": String(member.currentVersion),
                        "targetVersion": String(member.targetVersion),
                    ]
                    try EventRecord(
                        ReleaseEvent(
                            time: event.at, type: type, actor: event.details["actor"] ?? actor,
                            function: member.functionName, alias: member.alias,
                            deploymentId: release.id, message: event.message,
                            details: context.merging(event.details) { _, detail in detail })
                    ).insert(db)
                }
            }
        }
    }
}

extension SQLiteTransaction {
    func releases(status: DeploymentStatus?, limit: Int) throws -> [ReleaseGroup] {
        try ReleaseRecord.fetchAll(
            db,
            sql: """
                SELECT * FROM releases WHERE (?1 IS NULL OR status = ?1) ORDER BY create_time DESC, id LIMIT ?2
                """, arguments: [status?.rawValue, limit]
        ).map { try $0.decoded() }
    }

    func releaseEvents(id: String, after afterId: Int64) throws -> [DeploymentEventEntry] {
        try DecisionLog.release.entries(db, id: id, after: afterId)
    }
}

extension Registry {
    /// A release by id (`r-…`) or by name (the newest of that name).
    public func release(_ idOrName: String) throws(RelctlError) -> ReleaseGroup {
        try read { db in try requireRelease(db, idOrName) }
    }

    /// Releases that are Created, InProgress or Paused, oldest first.
    public func activeReleases() throws(RelctlError) -> [ReleaseGroup] {
        try read { db in try SQLiteTransaction(db: db, registry: self).activeReleases() }
    }

    /// Releases, newest first.
    public func listReleases(status: DeploymentStatus? = nil, limit: Int = 100) throws(RelctlError) -> [ReleaseGroup] {
        try read { db in try SQLiteTransaction(db: db, registry: self).releases(status: status, limit: limit) }
    }

    /// The release's decision log, oldest first, after `afterId`.
    public func releaseEvents(id: String, after afterId: Int64 = 0) throws(RelctlError) -> [DeploymentEventEntry] {
        try read { db in try DecisionLog.release.entries(db, id: id, after: afterId) }
    }

    func newestRelease(_ db: Database, named name: String) throws -> ReleaseGroup? {
        try ReleaseRecord.filter(ReleaseRecord.Columns.name == name)
            .order(ReleaseRecord.Columns.createTime.desc, ReleaseRecord.Columns.id.desc).fetchOne(db)?.decoded()
    }

    func requireRelease(_ db: Database, _ idOrName: String) throws -> ReleaseGroup {
        if let record = try ReleaseRecord.fetchOne(db, key: idOrName) { return try record.decoded() }
        if let release = try newestRelease(db, named: idOrName) { return release }
        throw ReleaseGroup.notFound(idOrName)
    }

    /// Versions that active releases reference, for deletion and cleanup guards.
    func versionsInReleases(_ db: Database) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT release_id, function_name, current_version, target_version FROM release_members WHERE active = 1
                """)
        {
            let id: String = row[0]
            let function: String = row[1]
            result["\(function):\(row[2] as Int)", default: []].append("release \(id)")
            result["\(function):\(row[3] as Int)", default: []].append("release \(id)")
        }
        return result
    }
}
