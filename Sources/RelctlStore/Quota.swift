import Foundation
import GRDB
import RelctlCore

struct UsageRecord: SnakeCaseRecord {
    static let databaseTableName = "usage"
    var id: Int
    var totalCodeSize: Int64
    var storedBytes: Int64
}

extension Registry {
    /// GetAccountSettings.
    public func accountSettings() throws(RelctlError) -> AccountSettings {
        try read { db in try accountSettings(db) }
    }

    func accountSettings(_ db: Database) throws -> AccountSettings {
        let usage = try usage(db)
        let functionCount = try FunctionRecord.fetchCount(db)
        let reserved = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions") ?? 0
        return AccountSettings(
            AccountLimit: .init(
                TotalCodeSize: try limit(db), UnreservedConcurrentExecutions: Limits.concurrentExecutions - reserved),
            AccountUsage: .init(TotalCodeSize: usage.totalCodeSize, FunctionCount: functionCount))
    }

    public func quotaReport(top: Int = 10) throws(RelctlError) -> QuotaReport {
        try read { db in
            let settings = try accountSettings(db)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT name, kind, size, versions FROM (
                        SELECT function_name AS name, 'Function' AS kind, SUM(code_size) AS size, COUNT(*) - 1 AS versions
                        FROM versions GROUP BY function_name
                        UNION ALL
                        SELECT layer_name, 'Layer', SUM(code_size), COUNT(*) FROM layer_versions GROUP BY layer_name
                    ) ORDER BY size DESC, name LIMIT ?
                    """, arguments: [top])
            let consumers = rows.map {
                QuotaReport.Consumer(Name: $0["name"], Kind: $0["kind"], CodeSize: $0["size"], Versions: $0["versions"])
            }
            return QuotaReport(settings: settings, storedBytes: try usage(db).storedBytes, topConsumers: consumers)
        }
    }

    /// Sets the code-storage limit. Lowering it below current usage is allowed; new code is then refused.
    public func setQuota(_ bytes: Int64) throws(RelctlError) {
        guard bytes > 0 else {
            throw RelctlError(.invalidParameterValue, "The code storage limit must be more than 0 bytes.")
        }
        try write { db, _ in
            let before = try limit(db)
            try db.execute(
                sql:
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [Registry.quotaLimitKey, String(bytes)])
            try audit(
                db, "SetQuota", function: nil, resource: "quota", before: ["TotalCodeSize": before],
                after: ["TotalCodeSize": bytes])
        }
    }
}

// MARK: - Inside a transaction

extension Registry {
    static let quotaLimitKey = "quota-limit"

    func usage(_ db: Database) throws -> UsageRecord {
        guard let usage = try UsageRecord.fetchOne(db, key: 1) else {
            throw RelctlError(.service, "The registry's usage row is missing; run `relctl fsck`.")
        }
        return usage
    }

    func limit(_ db: Database) throws -> Int64 {
        try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [Registry.quotaLimitKey])
            .flatMap { Int64($0) } ?? Limits.defaultTotalCodeSize
    }

    /// Refuses, before anything is written, a change that would take usage past the limit.
    func requireQuota(_ db: Database, adding bytes: Int64) throws {
        guard bytes > 0 else { return }
        let usage = try usage(db).totalCodeSize
        if usage + bytes > (try limit(db)) { throw RelctlError.codeStorageExceeded }
    }

    func addUsage(_ db: Database, codeSize delta: Int64) throws {
        guard delta != 0 else { return }
        try db.execute(sql: "UPDATE usage SET total_code_size = total_code_size + ? WHERE id = 1", arguments: [delta])
        if delta > 0 {
            let after = try usage(db).totalCodeSize
            try recordQuotaWarnings(db, before: after - delta, after: after)
        }
    }
}
