import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// The remaining commands on `--database postgres://…` (issue 10 §3): `relctl config set|get` keep the
// settings in the database (the runtime of every server reads `sandbox` there; `migrate-store` copies a
// data directory's settings there) and `relctl alarm delete` — each with SQLite's answers and errors.

extension PostgresStore {
    /// The same store answering in the ARNs of the database's own `account-id` and `region` settings
    /// (`RELCTL_ACCOUNT_ID` first, as on SQLite). A setting the database does not have comes from `otherwise`
    /// (`relctl serve`: its data directory's settings, so a server keeps answering in its account until the
    /// database names one), else the defaults.
    public func answeringInStoredSettings(
        environment: [String: String], otherwise: ArnContext? = nil
    ) async throws(RelctlError) -> PostgresStore {
        let (account, region) = try await readRecords { db in
            (try db.storedSetting("account-id"), try db.storedSetting("region"))
        }
        return scoped(
            arn: SettingRules.arn(
                account: account ?? otherwise?.account, region: region ?? otherwise?.region, environment: environment))
    }

    /// `relctl config set`: the same rules and audit row as the data directory's `Registry.setSetting`.
    public func setSetting(_ key: String, _ value: String) async throws(RelctlError) {
        try SettingRules.validate(key, value)
        try await write(records: true) { db in
            let before = try db.storedSetting(key)
            _ = try db.db.execute(
                """
                INSERT INTO settings (key, value) VALUES (\(key), \(value))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """)
            try db.audit(
                "SetSetting", function: nil, resource: "setting:\(key)", before: before.map { [key: $0] },
                after: [key: value])
        }
    }

    /// A setting's stored value (nil: never set).
    public func setting(_ key: String) async throws(RelctlError) -> String? {
        try await readRecords { db in try db.storedSetting(key) }
    }

    /// DeleteAlarms (Registry's Alarms.swift): false when there is no such alarm; an alarm an active
    /// deployment watches cannot go.
    @discardableResult
    public func deleteAlarm(name: String) async throws(RelctlError) -> Bool {
        try await write(records: true) { db in
            guard let alarm = try db.alarm(name) else { return false }
            for deployment in try db.activeDeployments() where deployment.alarms.contains(name) {
                throw RelctlError(
                    .resourceConflict,
                    "Alarm \(name) is watched by deployment \(deployment.id); stop it or wait for it to finish first.")
            }
            _ = try db.db.execute("DELETE FROM alarms WHERE name = \(name)")
            try db.audit(
                "DeleteAlarms", function: alarm.definition.functionName, resource: "alarm:\(name)",
                before: nil as String?, after: nil as String?)
            return true
        }
    }
}

extension PostgresRecords {
    @discardableResult
    public func deleteAlarm(name: String) async throws(RelctlError) -> Bool {
        try await store.deleteAlarm(name: name)
    }
}

extension PostgresTransaction {
    func storedSetting(_ key: String) throws -> String? {
        try db.rows("SELECT value FROM settings WHERE key = \(key)").first?.decode(String.self)
    }
}
