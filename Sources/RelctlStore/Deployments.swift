import Foundation
import GRDB
import RelctlCore
import RelctlStorage

/// Decoded `Deployment`s keyed by id and the exact JSON they came from.
/// Decoded JSON columns by key, reused while the stored text is unchanged: a tick reads every
/// active deployment's state and every watched alarm's definition, and decoding them with
/// JSONDecoder each time was most of an idle tick. A hit compares the whole text, so a row changed
/// by another process is decoded again.
final class DecodedJSONCache<Value: Decodable & Sendable>: @unchecked Sendable {
    /// Boxed, so a lookup copies one reference rather than the whole value before the text is compared.
    /// A new text makes a new entry: the same entry (`===`) means the same value.
    final class Entry {
        let text: String
        let value: Value
        init(text: String, value: Value) {
            self.text = text
            self.value = value
        }

        /// Whether `bytes` (UTF-8) are this entry's text.
        func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
            var text = text
            return text.withUTF8 { text in
                text.count == bytes.count
                    && (text.isEmpty || memcmp(text.baseAddress!, bytes.baseAddress!, text.count) == 0)
            }
        }
    }
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    func decode(id: String, text: String) throws -> Value { try entry(id: id, text: text).value }

    func entry(id: String, text: String) throws -> Entry {
        if let hit = lock.withLock({ entries[id] }), hit.text == text { return hit }
        let value = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        return remember(id: id, text: text, value: value)
    }

    /// The same, with the text as the UTF-8 bytes SQLite holds (only valid during the call): a hit
    /// compares them with the remembered text without making a String of them.
    func decode(id: String, utf8 bytes: UnsafeRawBufferPointer) throws -> Value {
        try entry(id: id, utf8: bytes).value
    }

    /// `known`: the entry the caller had for this id, compared first (no lock, no lookup).
    func entry(id: String, utf8 bytes: UnsafeRawBufferPointer, known: Entry? = nil) throws -> Entry {
        if let known, known.matches(bytes) { return known }
        if let hit = lock.withLock({ entries[id] }), hit.matches(bytes) { return hit }
        return try entry(id: id, text: String(decoding: bytes, as: UTF8.self))
    }

    /// What a writer just stored, so the next read of it is a hit.
    @discardableResult
    func remember(id: String, text: String, value: Value) -> Entry {
        let entry = Entry(text: text, value: value)
        lock.withLock {
            if entries.count > 50_000 { entries.removeAll(keepingCapacity: true) }
            entries[id] = entry
        }
        return entry
    }
}

/// The last answer of `activeDeployments`, kept between ticks: most ticks find every active deployment's
/// state unchanged, and then the answer is the same array (no deployment copied); a changed state is
/// replaced in place. Taken out while a reader works on it, so the update does not copy the array;
/// a second reader meanwhile builds its own answer.
final class ActiveDeploymentList: @unchecked Sendable {
    struct Snapshot {
        /// Row order (the query's), with the cache entry each row's state was read from.
        var rows: [(id: String, entry: DecodedDeploymentCache.Entry)]
        /// Row index → index in `deployments`.
        var positions: [Int]
        /// Oldest first.
        var deployments: [Deployment]
    }
    private let lock = NSLock()
    private var snapshot: Snapshot?

    func take() -> Snapshot? {
        lock.withLock {
            defer { snapshot = nil }; return snapshot
        }
    }
    func put(_ value: Snapshot) { lock.withLock { snapshot = value } }
}

typealias DecodedDeploymentCache = DecodedJSONCache<Deployment>

extension Row {
    /// Column 0 is `id`, compared without making a String of it.
    fileprivate func hasSameId(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { id in
            (try? withUnsafeData(atIndex: 0) { data in
                guard let data, data.count == id.count else { return false }
                return data.withUnsafeBytes { id.isEmpty || memcmp($0.baseAddress!, id.baseAddress!, id.count) == 0 }
            }) ?? false
        }
    }
}

/// Policies' JSON text by name, checked against the whole value (a custom policy may reuse a name):
/// a deployment's state is written on every step, its policy never changes, and encoding the
/// policy with `JSONEncoder` each time was a large part of writing the state.
final class EncodedPolicyCache: @unchecked Sendable {
    static let shared = EncodedPolicyCache()
    private let lock = NSLock()
    private var entries: [String: (policy: DeploymentPolicy, text: String)] = [:]

    func text(_ policy: DeploymentPolicy) throws -> String {
        if let hit = lock.withLock({ entries[policy.name] }), hit.policy == policy { return hit.text }
        let text = String(decoding: try JSONEncoder.sorted.encode(policy), as: UTF8.self)
        lock.withLock {
            if entries.count > 1000 { entries.removeAll(keepingCapacity: true) }
            entries[policy.name] = (policy, text)
        }
        return text
    }
}

struct DeploymentRecord: SnakeCaseRecord {
    static let databaseTableName = "deployments"
    var id: String
    var functionName: String
    var aliasName: String
    var currentVersion: Int
    var targetVersion: Int
    var status: String
    var createTime: Double
    var completeTime: Double?
    var state: String

    init(_ deployment: Deployment) throws {
        id = deployment.id
        functionName = deployment.functionName
        aliasName = deployment.alias
        currentVersion = deployment.currentVersion
        targetVersion = deployment.targetVersion
        status = deployment.status.rawValue
        createTime = deployment.createTime
        completeTime = deployment.completeTime
        // The same bytes JSONEncoder.sorted writes (the deployment JSON tests pin it), without its cost.
        state =
            try deployment.jsonText(policyJSON: EncodedPolicyCache.shared.text(deployment.policy))
            ?? String(decoding: try JSONEncoder.sorted.encode(deployment), as: UTF8.self)
    }

    func decoded() throws -> Deployment {
        try JSONDecoder().decode(Deployment.self, from: Data(state.utf8))
    }

    /// `update(db)` through a cached statement: every step of every deployment saves its state here.
    /// Most steps leave the indexed columns (status, function, alias, create time) as they were:
    /// then only the others are SET, so SQLite rewrites no index entry; otherwise (or for a row
    /// that is gone) every column is written as before.
    func updateCached(_ db: Database) throws {
        try db.execute(
            cached: """
                UPDATE deployments SET current_version = ?, target_version = ?, complete_time = ?, state = ?
                WHERE id = ? AND status = ? AND function_name = ? AND alias_name = ? AND create_time = ?
                """,
            [currentVersion, targetVersion, completeTime, state, id, status, functionName, aliasName, createTime])
        if db.changesCount > 0 { return }
        try db.update(
            cached: """
                UPDATE deployments SET function_name = ?, alias_name = ?, current_version = ?, target_version = ?, status = ?,
                create_time = ?, complete_time = ?, state = ? WHERE id = ?
                """,
            [functionName, aliasName, currentVersion, targetVersion, status, createTime, completeTime, state, id],
            table: Self.databaseTableName, key: { ["id": id] })
    }
}

extension Registry {
    public func deployment(id: String) throws(RelctlError) -> Deployment {
        try read { db in try requireDeployment(db, id) }
    }

    public func listDeployments(
        function: String? = nil, status: DeploymentStatus? = nil, limit: Int = 100
    ) throws(RelctlError) -> [Deployment] {
        try read { db in
            try DeploymentRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM deployments WHERE (?1 IS NULL OR function_name = ?1) AND (?2 IS NULL OR status = ?2)
                    ORDER BY create_time DESC, id LIMIT ?3
                    """, arguments: [function, status?.rawValue, limit]
            ).map { try $0.decoded() }
        }
    }

    /// Deployments that are Created, InProgress or Paused (decoded once per state change).
    public func activeDeployments() throws(RelctlError) -> [Deployment] {
        try read { db in try activeDeployments(db) }
    }

    /// The event log, oldest first, after `afterId`.
    public func deploymentEvents(id: String, after afterId: Int64 = 0) throws(RelctlError) -> [DeploymentEventEntry] {
        try read { db in try DecisionLog.deployment.entries(db, id: id, after: afterId) }
    }

    func recordEvents(_ db: Database, _ id: String, _ events: [DeploymentEvent]) throws {
        try DecisionLog.deployment.append(db, id: id, events)
    }

    func requireDeployment(_ db: Database, _ id: String) throws -> Deployment {
        guard let record = try DeploymentRecord.fetchOne(db, key: id) else {
            throw RelctlError(.resourceNotFound, "Deployment \(id) does not exist.")
        }
        return try record.decoded()
    }

    /// Oldest first. Every tick reads them all, and most are unchanged since the last: each state is
    /// compared in place with the one decoded before (no String made of it); when the same rows come
    /// in the same order as last time, the last answer is reused with only the changed states replaced
    /// (`ActiveDeploymentList`), else the answer is built again and sorted here rather than by SQLite,
    /// whose sorter would copy every state once more.
    func activeDeployments(_ db: Database) throws -> [Deployment] {
        let statement = try db.cachedStatement(
            sql: "SELECT id, state FROM deployments WHERE status IN ('Created', 'InProgress', 'Paused')")
        if var last = activeList.take() {
            let rows = try Row.fetchCursor(statement)
            var index = 0
            var same = true
            while let row = try rows.next() {
                guard index < last.rows.count, row.hasSameId(last.rows[index].id) else {
                    same = false
                    break
                }
                // The row's state compared with the one it had last tick first: no lock, no lookup by id.
                let known = last.rows[index].entry
                let entry = try cachedEntry(id: last.rows[index].id, stateIn: row, at: 1, known: known)
                if entry !== known {
                    last.rows[index].entry = entry
                    last.deployments[last.positions[index]] = entry.value
                }
                index += 1
            }
            if same && index == last.rows.count {
                activeList.put(last)
                return last.deployments
            }
        }
        let rows = try Row.fetchCursor(statement)
        var read: [(id: String, entry: DecodedDeploymentCache.Entry)] = []
        while let row = try rows.next() {
            let id: String = row[0]
            read.append((id, try cachedEntry(id: id, stateIn: row, at: 1)))
        }
        let order = read.indices.sorted {
            let (a, b) = (read[$0].entry.value, read[$1].entry.value)
            return a.createTime < b.createTime || (a.createTime == b.createTime && a.id < b.id)
        }
        var positions = [Int](repeating: 0, count: read.count)
        for (position, index) in order.enumerated() { positions[index] = position }
        let deployments = order.map { read[$0].entry.value }
        activeList.put(ActiveDeploymentList.Snapshot(rows: read, positions: positions, deployments: deployments))
        return deployments
    }

    func cachedEntry(
        id: String, stateIn row: Row, at index: Int, known: DecodedDeploymentCache.Entry? = nil
    ) throws -> DecodedDeploymentCache.Entry {
        try row.withUnsafeData(atIndex: index) { data in
            try (data ?? Data()).withUnsafeBytes { try deploymentCache.entry(id: id, utf8: $0, known: known) }
        }
    }

    /// The deployment whose state is column `index` of a row being read, decoded only when it is
    /// not the text decoded last.
    func cachedDeployment(id: String, stateIn row: Row, at index: Int) throws -> Deployment {
        try row.withUnsafeData(atIndex: index) { data in
            try (data ?? Data()).withUnsafeBytes { try deploymentCache.decode(id: id, utf8: $0) }
        }
    }

    func activeDeployment(_ db: Database, function: String, alias: String) throws -> Deployment? {
        try db.fetchOne(
            DeploymentRecord.self,
            cached: """
                SELECT * FROM deployments WHERE function_name = ? AND alias_name = ? AND status IN ('Created', 'InProgress', 'Paused') LIMIT 1
                """, [function, alias]
        ).map { try $0.decoded() }
    }

    /// Versions that active deployments (and release groups) reference, for deletion and cleanup guards.
    func versionsInDeployments(_ db: Database) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT id, function_name, current_version, target_version FROM deployments WHERE status IN ('Created', 'InProgress', 'Paused')
                """)
        {
            let id: String = row[0]
            let function: String = row[1]
            result["\(function):\(row[2] as Int)", default: []].append("deployment \(id)")
            result["\(function):\(row[3] as Int)", default: []].append("deployment \(id)")
        }
        return result.merging(try versionsInReleases(db)) { $0 + $1 }
    }
}

extension DeploymentRecord {
    enum Columns {
        static let id = Column("id")
        static let functionName = Column("function_name")
        static let aliasName = Column("alias_name")
        static let status = Column("status")
        static let createTime = Column("create_time")
        static let state = Column("state")
    }

    static let activeStatuses = [DeploymentStatus.created, .inProgress, .paused].map(\.rawValue)
}

extension DerivableRequest<DeploymentRecord> {
    /// Deployments that are Created, InProgress or Paused.
    func active() -> Self {
        filter(DeploymentRecord.activeStatuses.contains(DeploymentRecord.Columns.status))
    }

    func of(function: String, alias: String) -> Self {
        filter(DeploymentRecord.Columns.functionName == function && DeploymentRecord.Columns.aliasName == alias)
    }
}

/// The decision logs of deployments and of release groups: the same rows, keyed by their owner's id.
enum DecisionLog {
    case deployment, release

    private var table: String { self == .deployment ? "deployment_events" : "release_events" }
    private var owner: String { self == .deployment ? "deployment_id" : "release_id" }

    /// The owner's entries, oldest first, after `afterId`.
    func entries(_ db: Database, id: String, after afterId: Int64) throws -> [DeploymentEventEntry] {
        try Row.fetchAll(
            db, sql: "SELECT id, at, kind, message, details FROM \(table) WHERE \(owner) = ? AND id > ? ORDER BY id",
            arguments: [id, afterId]
        ).map {
            DeploymentEventEntry(
                id: $0[0],
                event: DeploymentEvent(
                    at: $0[1], kind: $0[2], message: $0[3],
                    details: (try? JSONDecoder().decode([String: String].self, from: Data(($0[4] as String).utf8)))
                        ?? [:]))
        }
    }

    /// Appends entries through a statement compiled once per connection (every step writes here).
    func append(_ db: Database, id: String, _ events: [DeploymentEvent]) throws {
        for event in events {
            try db.execute(
                cached: "INSERT INTO \(table) (\(owner), at, kind, message, details) VALUES (?, ?, ?, ?, ?)",
                [id, event.at, event.kind, event.message, JSONText.object(event.details)])
        }
    }
}
