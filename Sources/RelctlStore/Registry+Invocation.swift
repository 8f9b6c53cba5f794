import Foundation
import GRDB
import RelctlCore

/// Everything the runtime needs to run one version.
public struct VersionExecution: Sendable, Hashable {
    public struct Layer: Sendable, Hashable {
        public var arn: String
        public var sha256Hex: String
    }

    public var functionName: String
    public var version: Int
    public var sha256Hex: String
    public var runtime: String?
    public var handler: String?
    public var memorySize: Int
    public var timeout: Int
    public var environment: [String: String]
    public var layers: [Layer]
    public var architecture: String
    /// The private `/tmp`'s size (Lambda's EphemeralStorage; 512 MB, the default, until it is settable).
    public var ephemeralStorageMB: Int { 512 }

    public var versionText: String { AliasTarget.versionText(version) }
    /// Instances are shared by executions that are the same in every field.
    public var instanceKey: String { "\(functionName):\(version):\(hashValue)" }
}

/// A function reference resolved for Invoke: where traffic goes and how each candidate runs.
public struct InvocationTarget: Sendable {
    public var functionName: String
    /// The `Resource` metric dimension: `F`, `F:alias` or `F:version`.
    public var resource: String
    /// The ARN the function sees as invoked (`Lambda-Runtime-Invoked-Function-Arn`).
    public var invokedArn: String
    /// For an alias: its routing. For a version or `$LATEST`: that version alone.
    public var routing: AliasTarget
    public var executions: [Int: VersionExecution]
    public var reservedConcurrency: Int?

    public func execution(routingKey: String?, random: Double) -> VersionExecution {
        executions[TrafficRouter.version(for: routing, routingKey: routingKey, random: random)]!
    }
}

extension Registry {
    /// Resolves `name`, `name:version`, `name:alias` (or an ARN) for an invocation.
    public func invocationTarget(_ function: FunctionReference) throws(RelctlError) -> InvocationTarget {
        try read { db in
            try requireAccount(function)
            let qualifiedArn = arn.functionArn(function.name, qualifier: function.qualifier?.description)
            // An unqualified Invoke of a missing function names the `$LATEST` it would have run, as AWS does.
            guard let record = try FunctionRecord.fetchOne(db, key: function.name) else {
                throw RelctlError.functionNotFound(arn.functionArn(function.name, qualifier: (function.qualifier ?? .latest).description))
            }
            let routing: AliasTarget
            switch function.qualifier {
            case nil, .latest?:
                routing = AliasTarget(functionVersion: AliasTarget.latestVersionNumber)
            case .version(let number)?:
                guard try version(db, function.name, number) != nil else { throw RelctlError.functionNotFound(qualifiedArn) }
                routing = AliasTarget(functionVersion: number)
            case .alias(let name)?:
                guard let alias = try AliasRecord.fetchOne(db, key: ["function_name": function.name, "name": name]) else {
                    throw RelctlError.functionNotFound(qualifiedArn)
                }
                routing = alias.target
            }
            var executions: [Int: VersionExecution] = [:]
            for number in routing.referencedVersions {
                guard let version = try version(db, function.name, number) else { throw RelctlError.functionNotFound(qualifiedArn) }
                let layers = try self.layers(db, of: function.name, version: number).map {
                    VersionExecution.Layer(arn: arn.layerVersionArn($0.layerName, version: $0.version), sha256Hex: $0.codeSha256)
                }
                executions[number] = VersionExecution(
                    functionName: function.name, version: number, sha256Hex: version.codeSha256, runtime: version.runtime,
                    handler: version.handler, memorySize: version.memorySize, timeout: version.timeout,
                    environment: version.environmentVariables ?? [:], layers: layers, architecture: version.architecture)
            }
            let resource = function.qualifier.map { "\(function.name):\($0)" } ?? function.name
            return InvocationTarget(
                functionName: function.name, resource: resource, invokedArn: function.qualifier == nil ? arn.functionArn(function.name) : qualifiedArn,
                routing: routing, executions: executions, reservedConcurrency: record.reservedConcurrency)
        }
    }

    /// PutFunctionConcurrency / DeleteFunctionConcurrency (nil). 0 throttles every invocation.
    @discardableResult
    public func putFunctionConcurrency(_ function: String, reserved: Int?) throws(RelctlError) -> Int? {
        if let reserved {
            guard (0...Limits.concurrentExecutions).contains(reserved) else {
                throw .validation(value: String(reserved), field: "reservedConcurrentExecutions",
                                  constraint: "Member must have value between 0 and \(Limits.concurrentExecutions)")
            }
        }
        return try write { db, _ in
            var record = try requireFunction(db, function)
            let others = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions WHERE name <> ?", arguments: [function]) ?? 0
            if let reserved, others + reserved > Limits.concurrentExecutions - 100 {
                throw RelctlError(
                    .invalidParameterValue,
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
            }
            let before = record.reservedConcurrency
            record.reservedConcurrency = reserved
            try record.update(db)
            try audit(db, "PutFunctionConcurrency", function: function, resource: arn.functionArn(function),
                      before: ["ReservedConcurrentExecutions": before], after: ["ReservedConcurrentExecutions": reserved])
            return reserved
        }
    }

    public func reservedConcurrency(_ function: String) throws(RelctlError) -> Int? {
        try read { db in try requireFunction(db, function).reservedConcurrency }
    }

    /// The series `relctl metrics get` prints: one statistic per period since `since`.
    public func metricSeries(function: String, version: String?, resource: String?, metric: String, statistic: Statistic,
                             period: Int, since: Date) throws(RelctlError) -> [AlarmEvaluation.Datapoint] {
        guard period >= 1 else { throw RelctlError(.invalidParameterValue, "--period must be at least 1 second.") }
        return try read { db in
            let now = clock().timeIntervalSince1970
            let p = Double(period)
            let first = (since.timeIntervalSince1970 / p).rounded(.down) * p
            let count = max(1, Int(((now - first) / p).rounded(.down)) + 1)
            guard count <= 100_000 else { throw RelctlError(.invalidParameterValue, "That is more than 100,000 periods; use a longer --period or a shorter --since.") }
            var buckets = [[Double]](repeating: [], count: count)
            let rows = try Row.fetchAll(db, sql: """
                SELECT timestamp, value FROM metric_datapoints
                WHERE function_name = ?1 AND metric = ?2 AND timestamp >= ?3 AND (?4 IS NULL OR executed_version = ?4) AND (?5 IS NULL OR resource = ?5)
                """, arguments: [function, metric, first, version, resource])
            for row in rows {
                let index = Int((((row[0] as Double) - first) / p).rounded(.down))
                if buckets.indices.contains(index) { buckets[index].append(row[1]) }
            }
            return buckets.enumerated().map { AlarmEvaluation.Datapoint(periodStart: first + Double($0.offset) * p, value: statistic.aggregate($0.element)) }
        }
    }
}
