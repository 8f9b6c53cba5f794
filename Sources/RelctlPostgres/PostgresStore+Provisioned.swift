import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// Put/Get/List/DeleteProvisionedConcurrencyConfig on PostgreSQL, with SQLite's answers and messages
// (Registry's ProvisionedConcurrency.swift; the messages are RelctlCore's `ProvisionedConcurrencyConfig`).
// One `provisioned_concurrency` row per version or alias; it goes with its version or alias (the
// schema's triggers) and with its function. What the runtime keeps warm from these rows:
// `PostgresInvocationStore.provisionedConcurrencyTargets` (every server's pool reads the shared rows).
extension PostgresStore {
    public func putProvisionedConcurrency(
        _ function: String, qualifier: Qualifier, executions: Int
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try ProvisionedConcurrencyConfig.validate(executions: executions)
        return try await write(records: true) { db in
            let key = try db.provisionedTarget(
                function, qualifier, latestMessage: ProvisionedConcurrencyConfig.latestCannotBeProvisioned)
            if case .alias(let name) = qualifier, let alias = try db.aliasRow(function, name),
                try db.provisionedRequested(function, String(alias.functionVersion)) != nil
            {
                throw ProvisionedConcurrencyConfig.aliasOfProvisionedVersion
            }
            // Every setting of the function together, this one at its new value, must fit in its reservation.
            let others =
                try db.db.rows(
                    """
                    SELECT COALESCE(SUM(requested), 0)::BIGINT FROM provisioned_concurrency
                    WHERE function_name = \(function) AND qualifier <> \(key)
                    """
                ).first?.decode(Int.self) ?? 0
            if let reserved = try db.reservedConcurrency(function), others + executions > reserved {
                throw ProvisionedConcurrencyConfig.aboveReservedConcurrency
            }
            let config = ProvisionedConcurrencyConfig(
                functionArn: db.arn.functionArn(function, qualifier: key), requested: executions,
                lastModified: db.timestamp)
            try db.db.execute(
                """
                INSERT INTO provisioned_concurrency (function_name, qualifier, requested, last_modified)
                VALUES (\(function), \(key), \(executions), \(config.lastModified))
                ON CONFLICT (function_name, qualifier) DO UPDATE
                  SET requested = excluded.requested, last_modified = excluded.last_modified
                """)
            try db.audit(
                "PutProvisionedConcurrencyConfig", function: function, resource: config.functionArn,
                before: nil as String?, after: ["requested": executions])
            return config
        }
    }

    public func provisionedConcurrency(
        _ function: String, qualifier: Qualifier
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try await readRecords { db in
            let key = try db.provisionedTarget(
                function, qualifier, latestMessage: ProvisionedConcurrencyConfig.latestHasNoProvisionedConcurrency)
            guard
                let row = try db.db.rows(
                    """
                    SELECT requested, last_modified FROM provisioned_concurrency
                    WHERE function_name = \(function) AND qualifier = \(key)
                    """
                ).first
            else {
                throw ProvisionedConcurrencyConfig.notFound
            }
            let (requested, lastModified) = try row.decode((Int, String).self)
            return ProvisionedConcurrencyConfig(
                functionArn: db.arn.functionArn(function, qualifier: key), requested: requested,
                lastModified: lastModified)
        }
    }

    public func provisionedConcurrencyPage(
        _ function: String, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<ProvisionedConcurrencyConfig> {
        let limit = try Self.pageSize(maxItems, max: 50)
        return try await readRecords { db in
            try db.requireFunction(function)
            // Qualifiers in SQLite's (binary) order, so a marker means the same on either engine.
            let settings = try db.db.rows(
                """
                SELECT qualifier, requested, last_modified FROM provisioned_concurrency
                WHERE function_name = \(function) AND qualifier COLLATE "C" > \(marker ?? "")
                ORDER BY qualifier COLLATE "C" LIMIT \(limit + 1)
                """
            ).map { row in
                let (qualifier, requested, lastModified) = try row.decode((String, Int, String).self)
                return (
                    qualifier: qualifier,
                    config: ProvisionedConcurrencyConfig(
                        functionArn: db.arn.functionArn(function, qualifier: qualifier), requested: requested,
                        lastModified: lastModified)
                )
            }
            let page = settings.prefix(limit)
            return RecordPage(
                items: page.map(\.config), nextMarker: settings.count > limit ? page.last?.qualifier : nil)
        }
    }

    public func deleteProvisionedConcurrency(_ function: String, qualifier: Qualifier) async throws(RelctlError) {
        try await write(records: true) { db in
            let key = try db.provisionedTarget(
                function, qualifier, latestMessage: ProvisionedConcurrencyConfig.latestHasNoProvisionedConcurrency)
            let deleted = try db.db.execute(
                "DELETE FROM provisioned_concurrency WHERE function_name = \(function) AND qualifier = \(key)")
            if deleted > 0 {
                try db.audit(
                    "DeleteProvisionedConcurrencyConfig", function: function,
                    resource: db.arn.functionArn(function, qualifier: key), before: nil as String?,
                    after: nil as String?)
            }
        }
    }
}

extension PostgresRecords {
    public func putProvisionedConcurrency(
        _ function: String, qualifier: Qualifier, executions: Int
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try await store.putProvisionedConcurrency(function, qualifier: qualifier, executions: executions)
    }

    public func provisionedConcurrency(
        _ function: String, qualifier: Qualifier
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try await store.provisionedConcurrency(function, qualifier: qualifier)
    }

    public func provisionedConcurrencyPage(
        _ function: String, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<ProvisionedConcurrencyConfig> {
        try await store.provisionedConcurrencyPage(function, marker: marker, maxItems: maxItems)
    }

    public func deleteProvisionedConcurrency(_ function: String, qualifier: Qualifier) async throws(RelctlError) {
        try await store.deleteProvisionedConcurrency(function, qualifier: qualifier)
    }
}

extension PostgresTransaction {
    /// The qualifier of a provisioned-concurrency call: a published version or an alias that exists
    /// (SQLite's `provisionedTarget`, with its messages).
    func provisionedTarget(_ function: String, _ qualifier: Qualifier, latestMessage: String) throws -> String {
        try requireFunction(function)
        switch qualifier {
        case .latest:
            throw RelctlError(.invalidParameterValue, latestMessage)
        case .version(let number):
            guard try versionExists(function: function, version: number) else {
                throw RelctlError.functionNotFound(arn.functionArn(function, qualifier: String(number)))
            }
            return String(number)
        case .alias(let name):
            guard try aliasRow(function, name) != nil else {
                throw ProvisionedConcurrencyConfig.aliasNotFound(arn.functionArn(function, qualifier: name))
            }
            return name
        }
    }

    func provisionedRequested(_ function: String, _ qualifier: String) throws -> Int? {
        try db.rows(
            """
            SELECT requested FROM provisioned_concurrency WHERE function_name = \(function) AND qualifier = \(qualifier)
            """
        ).first?.decode(Int.self)
    }
}
