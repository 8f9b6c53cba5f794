import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// DeleteFunction, UpdateFunctionConfiguration, GetAccountSettings and the quota, tags, history and the
// deployment list on PostgreSQL (issue 10 §1, §3), with SQLite's answers and messages (Registry's Functions.swift,
// Quota.swift, Tags.swift, Aliases.swift `history`, Deployments.swift `listDeployments`).
//
// Deletes remove rows only. A code object that no row names any more stays in the code store until a
// collection deletes it: another server may be uploading the same hash for a row it has not committed
// yet, and only an age guard (gc's) tells the two apart; deleting objects here could leave that row
// without its object. Usage is the sum of the code sizes the rows hold, so it drops with the rows.
extension PostgresStore {
    public func deleteFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionDeletion {
        let name = function.name
        switch function.qualifier {
        case .latest:
            throw RelctlError(
                .invalidParameterValue, "$LATEST version cannot be deleted without deleting the function.")
        case .alias(let alias) where !alias.allSatisfy(\.isNameCharacter):
            // `$latest`, `$LATES`: the qualifier names nothing (SQLite's answer, once the function exists).
            try requireAccount(function)
            try await readRecords { db in
                guard try db.functionExists(name) else { throw RelctlError.functionNotFound(db.arn.functionArn(name)) }
            }
            throw RelctlError.functionNotFound(arn.functionArn(name, qualifier: alias))
        case .alias:
            throw RelctlError(.invalidParameterValue, "Deletion of aliases is not currently supported.")
        case .version(let number):
            try requireAccount(function)
            return try await write(records: true) { db in try db.deleteVersion(name, number) }
        case nil:
            try requireAccount(function)
            return try await write(records: true) { db in try db.deleteWholeFunction(name) }
        }
    }

    public func updateFunctionConfiguration(
        _ function: FunctionReference, _ update: ConfigurationUpdate, expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try Self.requireUnqualified(function)
        try requireAccount(function)
        let name = function.name
        return try await write(records: true) { db in
            let latest = try db.requireLatest(name)
            if let expectedRevisionId, expectedRevisionId != latest.revisionId { throw RelctlError.revisionMismatch }
            var current = latest.settings
            current.layers = try db.layers(of: name, version: 0).map {
                db.arn.layerVersionArn($0.layerName, version: $0.version)
            }
            let settings = update.applied(to: current)
            try settings.validate()
            let stored = try StoredSettings(settings)
            let before = try db.configuration(latest, arnQualifier: nil)
            if let arns = update.layers {
                let layers = try db.resolveLayers(arns)
                try db.requireUnzippedFits(code: try db.latestUnzippedSize(name), layers: layers)
                try db.setLayers(function: name, version: 0, layers)
            }
            try db.db.execute(
                """
                UPDATE versions SET runtime = \(settings.runtime), handler = \(settings.handler), role = \(settings.role),
                  description = \(settings.description), memory_size = \(settings.memorySize), timeout = \(settings.timeout),
                  environment = \(stored.environment), logging_config = \(stored.loggingConfig),
                  ephemeral_storage_size = \(settings.ephemeralStorageSize), tracing_mode = \(settings.tracingMode),
                  last_modified = \(db.timestamp), revision_id = \(PostgresStore.newRevisionId())
                WHERE function_name = \(name) AND version = 0
                """)
            try db.db.execute("UPDATE functions SET changed_since_publish = TRUE WHERE name = \(name)")
            let after = try db.configuration(try db.requireLatest(name), arnQualifier: nil)
            try db.audit(
                "UpdateFunctionConfiguration", function: name, resource: after.FunctionArn, before: before,
                after: after)
            return after
        }
    }

    public func accountSettings() async throws(RelctlError) -> AccountSettings {
        try await readRecords { db in try db.accountSettings() }
    }

    public func quotaReport(top: Int) async throws(RelctlError) -> QuotaReport {
        try await readRecords { db in
            let consumers = try db.db.rows(
                """
                SELECT name, kind, size, versions FROM (
                    SELECT function_name AS name, 'Function' AS kind, SUM(code_size)::bigint AS size, (COUNT(*) - 1)::bigint AS versions
                    FROM versions GROUP BY function_name
                    UNION ALL
                    SELECT layer_name, 'Layer', SUM(code_size)::bigint, COUNT(*)::bigint FROM layer_versions GROUP BY layer_name
                ) AS consumers ORDER BY size DESC, name COLLATE "C" LIMIT \(top)
                """
            ).map {
                let (name, kind, size, versions) = try $0.decode((String, String, Int64, Int64).self)
                return QuotaReport.Consumer(Name: name, Kind: kind, CodeSize: size, Versions: Int(versions))
            }
            // One copy per content hash: what the code store holds for the rows (SQLite's blob bytes).
            let stored =
                try db.db.rows(
                    """
                    SELECT COALESCE(SUM(size), 0)::bigint FROM (
                        SELECT MAX(code_size) AS size FROM (
                            SELECT code_sha256, code_size FROM versions
                            UNION ALL SELECT code_sha256, code_size FROM layer_versions
                        ) AS rows GROUP BY code_sha256
                    ) AS objects
                    """
                ).first?.decode(Int64.self) ?? 0
            return QuotaReport(settings: try db.accountSettings(), storedBytes: stored, topConsumers: consumers)
        }
    }

    public func setQuota(_ bytes: Int64) async throws(RelctlError) {
        guard bytes > 0 else {
            throw RelctlError(.invalidParameterValue, "The code storage limit must be more than 0 bytes.")
        }
        try await write(records: true) { db in
            let before = try db.codeLimit()
            try db.db.execute(
                """
                INSERT INTO settings (key, value) VALUES (\(PostgresTransaction.quotaLimitKey), \(String(bytes)))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """)
            try db.audit(
                "SetQuota", function: nil, resource: "quota", before: ["TotalCodeSize": before],
                after: ["TotalCodeSize": bytes])
        }
    }

    public func tags(of function: String) async throws(RelctlError) -> [String: String] {
        try await readRecords { db in
            try db.requireFunction(function)
            return try db.tags(function)
        }
    }

    public func tagFunction(_ function: String, _ tags: [String: String]) async throws(RelctlError) {
        try FunctionTags.validate(tags)
        try await write(records: true) { db in
            try db.requireFunction(function)
            let before = try db.tags(function)
            guard before.merging(tags, uniquingKeysWith: { $1 }).count <= FunctionTags.maximumCount else {
                throw FunctionTags.tooMany
            }
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                try db.db.execute(
                    """
                    INSERT INTO function_tags (function_name, key, value) VALUES (\(function), \(key), \(value))
                    ON CONFLICT (function_name, key) DO UPDATE SET value = excluded.value
                    """)
            }
            try db.audit(
                "TagResource", function: function, resource: db.arn.functionArn(function), before: before,
                after: try db.tags(function))
        }
    }

    public func untagFunction(_ function: String, keys: [String]) async throws(RelctlError) {
        try await write(records: true) { db in
            try db.requireFunction(function)
            let before = try db.tags(function)
            try db.db.execute("DELETE FROM function_tags WHERE function_name = \(function) AND key = ANY(\(keys))")
            try db.audit(
                "UntagResource", function: function, resource: db.arn.functionArn(function), before: before,
                after: try db.tags(function))
        }
    }

    public func history(function: String, alias: String?, limit: Int) async throws(RelctlError) -> [HistoryEntry] {
        try await readRecords { db in
            if let alias {
                let moves = try db.db.rows(
                    """
                    SELECT id, at, actor, cause, from_version, from_additional_version, from_additional_weight,
                           to_version, to_additional_version, to_additional_weight
                    FROM alias_moves WHERE function_name = \(function) AND alias_name = \(alias) ORDER BY id DESC LIMIT \(limit)
                    """
                ).map { row in
                    let (
                        id, at, actor, cause, fromVersion, fromAdditional, fromWeight, toVersion, toAdditional, toWeight
                    ) =
                        try row.decode(
                            (Int64, String, String, String, Int?, Int?, Double?, Int?, Int?, Double?).self)
                    return HistoryEntry(
                        Id: id, Time: at, Actor: actor, Action: cause,
                        Resource: db.arn.functionArn(function, qualifier: alias),
                        From: AliasTarget.stored(fromVersion, additional: fromAdditional, weight: fromWeight)?.summary,
                        To: AliasTarget.stored(toVersion, additional: toAdditional, weight: toWeight)?.summary,
                        Before: nil, After: nil)
                }
                if moves.isEmpty { _ = try db.requireAlias(function, alias, missing: "Cannot find alias arn") }
                return moves
            }
            let entries = try db.db.rows(
                """
                SELECT id, at, actor, action, resource, before, after FROM audit WHERE function_name = \(function)
                ORDER BY id DESC LIMIT \(limit)
                """
            ).map { row in
                let (id, at, actor, action, resource, before, after) = try row.decode(
                    (Int64, String, String, String, String, String?, String?).self)
                return HistoryEntry(
                    Id: id, Time: at, Actor: actor, Action: action, Resource: resource, From: nil, To: nil,
                    Before: before, After: after)
            }
            if entries.isEmpty { try db.requireFunction(function) }
            return entries
        }
    }

    public func listDeployments(
        function: String?, status: DeploymentStatus?, limit: Int
    ) async throws(RelctlError) -> [Deployment] {
        try await readRecords { db in
            try db.db.rows(
                """
                SELECT state FROM deployments
                WHERE (\(function)::text IS NULL OR function_name = \(function))
                  AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                ORDER BY create_time DESC, id COLLATE "C" LIMIT \(limit)
                """
            ).map { try JSON.decode(Deployment.self, try $0.decode(String.self)) }
        }
    }
}

// The same operations through the records with their code store (what `relctl serve --database` answers from).
extension PostgresRecords {
    public func deleteFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionDeletion {
        try await store.deleteFunction(function)
    }

    public func updateFunctionConfiguration(
        _ function: FunctionReference, _ update: ConfigurationUpdate, expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try await store.updateFunctionConfiguration(
            function, update, expectedRevisionId: expectedRevisionId, settle: settle)
    }

    public func accountSettings() async throws(RelctlError) -> AccountSettings {
        try await store.accountSettings()
    }

    public func quotaReport(top: Int) async throws(RelctlError) -> QuotaReport {
        try await store.quotaReport(top: top)
    }

    public func setQuota(_ bytes: Int64) async throws(RelctlError) {
        try await store.setQuota(bytes)
    }

    public func tags(of function: String) async throws(RelctlError) -> [String: String] {
        try await store.tags(of: function)
    }

    public func tagFunction(_ function: String, _ tags: [String: String]) async throws(RelctlError) {
        try await store.tagFunction(function, tags)
    }

    public func untagFunction(_ function: String, keys: [String]) async throws(RelctlError) {
        try await store.untagFunction(function, keys: keys)
    }

    public func history(function: String, alias: String?, limit: Int) async throws(RelctlError) -> [HistoryEntry] {
        try await store.history(function: function, alias: alias, limit: limit)
    }

    public func listDeployments(
        function: String?, status: DeploymentStatus?, limit: Int
    ) async throws(RelctlError) -> [Deployment] {
        try await store.listDeployments(function: function, status: status, limit: limit)
    }
}

/// The settings columns that hold JSON, as they are written (SQLite's `VersionRecord.apply`).
struct StoredSettings {
    var environment: String?
    var loggingConfig: String?

    init(_ settings: FunctionSettings) throws(RelctlError) {
        environment = settings.environment.map(FunctionSettings.environmentText)
        do {
            loggingConfig = try settings.loggingConfig.map { try JSON.encode($0) }
        } catch {
            throw RelctlError(.invalidParameterValue, "LoggingConfig cannot be stored: \(error)")
        }
    }
}

extension PostgresTransaction {
    func requireFunction(_ name: String) throws {
        guard try functionExists(name) else { throw RelctlError.functionNotFound(arn.functionArn(name)) }
    }

    func requireLatest(_ name: String) throws -> VersionRow {
        guard let latest = try versionRows(name, from: 0, limit: 1).first, latest.version == 0 else {
            throw RelctlError.functionNotFound(arn.functionArn(name))
        }
        return latest
    }

    func tags(_ function: String) throws -> [String: String] {
        var tags: [String: String] = [:]
        for row in try db.rows("SELECT key, value FROM function_tags WHERE function_name = \(function)") {
            let (key, value) = try row.decode((String, String).self)
            tags[key] = value
        }
        return tags
    }

    func accountSettings() throws -> AccountSettings {
        var (functions, reserved): (Int64, Int64) = (0, 0)
        if let row = try db.rows(
            "SELECT COUNT(*)::bigint, COALESCE(SUM(reserved_concurrency), 0)::bigint FROM functions"
        ).first {
            (functions, reserved) = try row.decode((Int64, Int64).self)
        }
        return AccountSettings(
            AccountLimit: .init(
                TotalCodeSize: try codeLimit(),
                UnreservedConcurrentExecutions: Limits.concurrentExecutions - Int(reserved)),
            AccountUsage: .init(TotalCodeSize: try codeUsage(), FunctionCount: Int(functions)))
    }

    /// DeleteFunction of one version: refused while an alias (primary or routing), an active
    /// deployment or a release references it; `.nothing` when there is no such version.
    func deleteVersion(_ name: String, _ number: Int) throws -> FunctionDeletion {
        try requireFunction(name)
        guard let version = try versionRows(name, from: number, limit: 1).first, version.version == number else {
            return .nothing
        }
        let referencing = try db.rows(
            """
            SELECT name FROM aliases WHERE function_name = \(name) AND (function_version = \(number) OR additional_version = \(number))
            ORDER BY name COLLATE "C"
            """
        ).map { try $0.decode(String.self) }
        guard referencing.isEmpty else {
            throw RelctlError(
                .resourceConflict,
                "Unable to delete version because the following aliases reference it: [\(referencing.joined(separator: ", "))]"
            )
        }
        let users = try db.rows(
            """
            SELECT 'deployment ' || id FROM deployments
            WHERE function_name = \(name) AND status IN ('Created', 'InProgress', 'Paused')
              AND (current_version = \(number) OR target_version = \(number))
            UNION ALL
            SELECT 'release ' || release_id FROM release_members
            WHERE active AND function_name = \(name) AND (current_version = \(number) OR target_version = \(number))
            """
        ).map { try $0.decode(String.self) }
        guard users.isEmpty else {
            throw RelctlError(
                .resourceConflict,
                "Unable to delete version because an active deployment references it: \(users.joined(separator: ", ")); stop it or let it finish first."
            )
        }
        let before = try configuration(version, arnQualifier: String(number))
        try db.execute("DELETE FROM versions WHERE function_name = \(name) AND version = \(number)")
        try purgeDeletedLayerVersions()
        try audit("DeleteFunction", function: name, resource: before.FunctionArn, before: before, after: nil as String?)
        return .version(number)
    }

    /// DeleteFunction of the whole function: its aliases, versions and `$LATEST` (refused while a
    /// deployment is active on it). Its tags, policies and settling state go with the function row.
    func deleteWholeFunction(_ name: String) throws -> FunctionDeletion {
        let latest = try requireLatest(name)
        if let deployment = try db.rows(
            """
            SELECT id FROM deployments WHERE function_name = \(name) AND status IN ('Created', 'InProgress', 'Paused')
            ORDER BY create_time, id COLLATE "C" LIMIT 1
            """
        ).first?.decode(String.self) {
            throw RelctlError(
                .resourceConflict,
                "Function \(name) has an active deployment (\(deployment)); stop it or let it finish before deleting the function."
            )
        }
        let before = try configuration(latest, arnQualifier: nil)
        let aliases = try db.execute("DELETE FROM aliases WHERE function_name = \(name)")
        let versions = try db.execute("DELETE FROM versions WHERE function_name = \(name)")
        try db.execute("DELETE FROM functions WHERE name = \(name)")
        try purgeDeletedLayerVersions()
        try audit(
            "DeleteFunction", function: name, resource: arn.functionArn(name), before: before, after: nil as String?)
        return .function(versions: versions - 1, aliases: aliases)
    }

    /// Layer versions deleted while functions used them go with their last user (SQLite's purge).
    func purgeDeletedLayerVersions() throws {
        try db.execute(
            """
            DELETE FROM layer_versions lv WHERE deleted AND NOT EXISTS (
                SELECT 1 FROM version_layers vl WHERE vl.layer_name = lv.layer_name AND vl.layer_version = lv.version)
            """)
    }
}
