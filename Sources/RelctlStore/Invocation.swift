import Foundation
import GRDB
import RelctlCore
import RelctlStorage

extension Registry {
    /// Resolves `name`, `name:version`, `name:alias` (or an ARN) for an invocation.
    public func invocationTarget(_ function: FunctionReference) throws(RelctlError) -> InvocationTarget {
        try read { db in try invocationTarget(db, function) }
    }

    func invocationTarget(_ db: Database, _ function: FunctionReference) throws -> InvocationTarget {
        try requireAccount(function)
        let qualifiedArn = arn.functionArn(function.name, qualifier: function.qualifier?.description)
        // An unqualified Invoke of a missing function names the `$LATEST` it would have run, as AWS does.
        // Every invoke resolves its target: statements compiled once, and only the column needed.
        guard
            let functionRow = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT reserved_concurrency FROM functions WHERE name = ?"),
                arguments: [function.name])
        else {
            throw RelctlError.functionNotFound(
                arn.functionArn(function.name, qualifier: (function.qualifier ?? .latest).description))
        }
        let reservedConcurrency: Int? = functionRow[0]
        let routing: AliasTarget
        switch function.qualifier {
        case nil, .latest?:
            routing = AliasTarget(functionVersion: AliasTarget.latestVersionNumber)
        case .version(let number)?:
            guard try version(db, function.name, number) != nil else {
                throw RelctlError.functionNotFound(qualifiedArn)
            }
            routing = AliasTarget(functionVersion: number)
        case .alias(let name)?:
            guard
                let alias = try db.fetchOne(
                    AliasRecord.self, cached: "SELECT * FROM aliases WHERE function_name = ? AND name = ?",
                    [function.name, name])
            else {
                throw RelctlError.functionNotFound(qualifiedArn)
            }
            routing = alias.target
        }
        return try InvocationTarget.resolved(
            function, arn: arn, routing: routing, reservedConcurrency: reservedConcurrency
        ) { number in
            guard let version = try version(db, function.name, number) else { return nil }
            let layers = try self.layers(db, of: function.name, version: number).map {
                VersionExecution.Layer(
                    arn: arn.layerVersionArn($0.layerName, version: $0.version), sha256Hex: $0.codeSha256)
            }
            return VersionExecution(
                functionName: function.name, version: number, sha256Hex: version.codeSha256, runtime: version.runtime,
                handler: version.handler, memorySize: version.memorySize, timeout: version.timeout,
                environment: version.environmentVariables ?? [:], layers: layers, architecture: version.architecture)
        }
    }

    /// PutFunctionConcurrency / DeleteFunctionConcurrency (nil). 0 throttles every invocation.
    @discardableResult
    public func putFunctionConcurrency(_ function: String, reserved: Int?) throws(RelctlError) -> Int? {
        if let reserved {
            guard (0...Limits.concurrentExecutions).contains(reserved) else {
                throw .validation(
                    value: String(reserved), field: "reservedConcurrentExecutions",
                    constraint: "Member must have value between 0 and \(Limits.concurrentExecutions)")
            }
        }
        return try write { db, _ in
            var record = try requireFunction(db, function)
            let others =
                try Int.fetchOne(
                    db, sql: "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions WHERE name <> ?",
                    arguments: [function]) ?? 0
            if let reserved, others + reserved > Limits.concurrentExecutions - 100 {
                throw RelctlError(
                    .invalidParameterValue,
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
                )
            }
            let before = record.reservedConcurrency
            record.reservedConcurrency = reserved
            try record.update(db)
            try audit(
                db, "PutFunctionConcurrency", function: function, resource: arn.functionArn(function),
                before: ["ReservedConcurrentExecutions": before], after: ["ReservedConcurrentExecutions": reserved])
            return reserved
        }
    }

    public func reservedConcurrency(_ function: String) throws(RelctlError) -> Int? {
        try read { db in try requireFunction(db, function).reservedConcurrency }
    }

    /// The series `relctl metrics get` prints: one statistic per period since `since`.
    public func metricSeries(
        function: String, version: String?, resource: String?, metric: String, statistic: Statistic,
        period: Int, since: Date
    ) throws(RelctlError) -> [AlarmEvaluation.Datapoint] {
        let request = MetricSeriesRequest(
            function: function, version: version, resource: resource, metric: metric, statistic: statistic,
            period: period, since: since)
        return try read { db in
            try request.datapoints(now: clock().timeIntervalSince1970, samples: { try metricSamples(db, $0) })
        }
    }
}
