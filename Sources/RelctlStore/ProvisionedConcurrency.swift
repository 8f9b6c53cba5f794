import Foundation
import GRDB
import RelctlCore
import RelctlStorage

/// PutProvisionedConcurrencyConfig on a version or an alias: recorded here, kept warm by the runtime.
struct ProvisionedConcurrencyRecord: SnakeCaseRecord {
    static let databaseTableName = "provisioned_concurrency"
    var functionName: String
    var qualifier: String
    var requested: Int
    var lastModified: String
}

extension Registry {
    /// The qualifier of a provisioned-concurrency call: a published version or an alias that exists.
    func provisionedTarget(
        _ db: Database, _ function: String, _ qualifier: Qualifier, latestMessage: String
    ) throws -> String {
        _ = try requireFunction(db, function)
        switch qualifier {
        case .latest:
            throw RelctlError(.invalidParameterValue, latestMessage)
        case .version(let number):
            guard try version(db, function, number) != nil else {
                throw RelctlError.functionNotFound(arn.functionArn(function, qualifier: String(number)))
            }
            return String(number)
        case .alias(let name):
            guard try AliasRecord.fetchOne(db, key: ["function_name": function, "name": name]) != nil else {
                throw ProvisionedConcurrencyConfig.aliasNotFound(arn.functionArn(function, qualifier: name))
            }
            return name
        }
    }

    /// PutProvisionedConcurrencyConfig.
    public func putProvisionedConcurrency(
        _ function: String, qualifier: Qualifier, executions: Int
    ) throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try ProvisionedConcurrencyConfig.validate(executions: executions)
        return try write { db, _ in
            let key = try provisionedTarget(
                db, function, qualifier,
                latestMessage: ProvisionedConcurrencyConfig.latestCannotBeProvisioned)
            if case .alias(let name) = qualifier,
                let alias = try AliasRecord.fetchOne(db, key: ["function_name": function, "name": name]),
                try ProvisionedConcurrencyRecord.fetchOne(
                    db, key: ["function_name": function, "qualifier": String(alias.functionVersion)]) != nil
            {
                throw ProvisionedConcurrencyConfig.aliasOfProvisionedVersion
            }
            // Provisioned concurrency counts against the function's reserved concurrency: every
            // setting of the function together, this one at its new value, must fit in it.
            let reserved = try FunctionRecord.fetchOne(db, key: function)?.reservedConcurrency
            let others =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COALESCE(SUM(requested), 0) FROM provisioned_concurrency WHERE function_name = ? AND qualifier <> ?",
                    arguments: [function, key]) ?? 0
            if let reserved, others + executions > reserved {
                throw ProvisionedConcurrencyConfig.aboveReservedConcurrency
            }
            let record = ProvisionedConcurrencyRecord(
                functionName: function, qualifier: key, requested: executions, lastModified: now)
            try record.save(db)
            let config = ProvisionedConcurrencyConfig(
                functionArn: arn.functionArn(function, qualifier: key), requested: executions,
                lastModified: record.lastModified)
            try audit(
                db, "PutProvisionedConcurrencyConfig", function: function, resource: config.functionArn,
                after: ["requested": executions])
            return config
        }
    }

    /// GetProvisionedConcurrencyConfig.
    public func provisionedConcurrency(
        _ function: String, qualifier: Qualifier
    ) throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try read { db in
            let key = try provisionedTarget(
                db, function, qualifier, latestMessage: ProvisionedConcurrencyConfig.latestHasNoProvisionedConcurrency)
            guard
                let record = try ProvisionedConcurrencyRecord.fetchOne(
                    db, key: ["function_name": function, "qualifier": key])
            else {
                throw ProvisionedConcurrencyConfig.notFound
            }
            return ProvisionedConcurrencyConfig(
                functionArn: arn.functionArn(function, qualifier: key), requested: record.requested,
                lastModified: record.lastModified)
        }
    }

    /// ListProvisionedConcurrencyConfigs: one page of the function's settings, by qualifier; the
    /// marker is the last qualifier of the previous page.
    public func provisionedConcurrencies(
        _ function: String, marker: String? = nil, maxItems: Int? = nil
    ) throws(RelctlError) -> Page<ProvisionedConcurrencyConfig> {
        let limit = try pageSize(maxItems, max: 50)
        return try read { db in
            _ = try requireFunction(db, function)
            let records = try ProvisionedConcurrencyRecord.filter(
                Column("function_name") == function && Column("qualifier") > (marker ?? "")
            )
            .order(Column("qualifier")).limit(limit + 1).fetchAll(db)
            let page = records.prefix(limit)
            return Page(
                items: page.map {
                    ProvisionedConcurrencyConfig(
                        functionArn: arn.functionArn(function, qualifier: $0.qualifier), requested: $0.requested,
                        lastModified: $0.lastModified)
                }, nextMarker: records.count > limit ? page.last?.qualifier : nil)
        }
    }

    /// Every setting of every function with where its qualifier routes now (what the runtime keeps warm).
    public func provisionedConcurrencyTargets() async throws(RelctlError) -> [ProvisionedConcurrencyTarget] {
        do {
            return try await pool.read { db in
                try ProvisionedConcurrencyRecord.order(Column("function_name"), Column("qualifier")).fetchAll(db)
                    .compactMap { record in
                        let qualifier = try Qualifier(parsing: record.qualifier)
                        // A setting whose qualifier no longer resolves keeps nothing warm (its row goes with it).
                        guard
                            let target = try? self.invocationTarget(
                                db, FunctionReference(name: record.functionName, qualifier: qualifier))
                        else { return nil }
                        return ProvisionedConcurrencyTarget(
                            functionName: record.functionName, qualifier: record.qualifier,
                            requested: record.requested, target: target)
                    }
            }
        } catch {
            throw Registry.map(error)
        }
    }

    /// DeleteProvisionedConcurrencyConfig (idempotent, as on AWS).
    public func deleteProvisionedConcurrency(_ function: String, qualifier: Qualifier) throws(RelctlError) {
        try write { db, _ in
            let key = try provisionedTarget(
                db, function, qualifier, latestMessage: ProvisionedConcurrencyConfig.latestHasNoProvisionedConcurrency)
            if try ProvisionedConcurrencyRecord.deleteOne(db, key: ["function_name": function, "qualifier": key]) {
                try audit(
                    db, "DeleteProvisionedConcurrencyConfig", function: function,
                    resource: arn.functionArn(function, qualifier: key))
            }
        }
    }
}
