import Foundation
import RelctlCore

/// Everything the runtime needs to run one version.
public struct VersionExecution: Sendable, Hashable {
    public struct Layer: Sendable, Hashable {
        public var arn: String
        public var sha256Hex: String

        public init(arn: String, sha256Hex: String) {
            self.arn = arn
            self.sha256Hex = sha256Hex
        }
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

    public init(
        functionName: String, version: Int, sha256Hex: String, runtime: String?, handler: String?, memorySize: Int,
        timeout: Int, environment: [String: String], layers: [Layer], architecture: String
    ) {
        self.functionName = functionName
        self.version = version
        self.sha256Hex = sha256Hex
        self.runtime = runtime
        self.handler = handler
        self.memorySize = memorySize
        self.timeout = timeout
        self.environment = environment
        self.layers = layers
        self.architecture = architecture
    }

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

    public init(
        functionName: String, resource: String, invokedArn: String, routing: AliasTarget,
        executions: [Int: VersionExecution], reservedConcurrency: Int?
    ) {
        self.functionName = functionName
        self.resource = resource
        self.invokedArn = invokedArn
        self.routing = routing
        self.executions = executions
        self.reservedConcurrency = reservedConcurrency
    }

    public func execution(routingKey: String?, random: Double) -> VersionExecution {
        executions[TrafficRouter.version(for: routing, routingKey: routingKey, random: random)]!
    }
}

/// A provisioned-concurrency setting with where its qualifier's traffic goes now.
public struct ProvisionedConcurrencyTarget: Sendable {
    public var functionName: String
    /// The version number or alias name the setting is on.
    public var qualifier: String
    public var requested: Int
    public var target: InvocationTarget

    public init(functionName: String, qualifier: String, requested: Int, target: InvocationTarget) {
        self.functionName = functionName
        self.qualifier = qualifier
        self.requested = requested
        self.target = target
    }

    /// The instances to keep warm: per version the qualifier routes to, split by the alias's weights.
    public var allocation: [(execution: VersionExecution, count: Int)] {
        target.routing.provisionedSplit(requested).sorted { $0.key < $1.key }.compactMap { version, count in
            target.executions[version].map { ($0, count) }
        }
    }
}

extension InvocationTarget {
    /// The target of `function` once its routing is known (both engines resolve through this): each version
    /// the routing names runs as `execution` says, and a version it cannot find makes the whole reference
    /// not found under its qualified ARN, as AWS answers.
    public static func resolved(
        _ function: FunctionReference, arn: ArnContext, routing: AliasTarget, reservedConcurrency: Int?,
        execution: (Int) throws -> VersionExecution?
    ) throws -> InvocationTarget {
        let qualifiedArn = arn.functionArn(function.name, qualifier: function.qualifier?.description)
        var executions: [Int: VersionExecution] = [:]
        for number in routing.referencedVersions {
            guard let found = try execution(number) else { throw RelctlError.functionNotFound(qualifiedArn) }
            executions[number] = found
        }
        return InvocationTarget(
            functionName: function.name, resource: function.qualifier.map { "\(function.name):\($0)" } ?? function.name,
            invokedArn: function.qualifier == nil ? arn.functionArn(function.name) : qualifiedArn,
            routing: routing, executions: executions, reservedConcurrency: reservedConcurrency)
    }
}

/// Reserved concurrency counted across every server sharing a store (issue 10 §5): an invocation of a
/// function with reserved concurrency holds a lease while it runs. Without such a store (SQLite, one
/// machine) the runtime counts its own invocations in flight.
public protocol ConcurrencyLeases: Sendable {
    /// A lease on one of `limit` slots of `function`, or nil when all are taken (the caller throttles).
    /// The lease frees itself after `seconds` if it is never released (its server died).
    func acquire(function: String, limit: Int, seconds: Double) async throws(RelctlError) -> ConcurrencyLease?
    /// Frees the slot (best effort: an unreleased lease expires).
    func release(_ lease: ConcurrencyLease) async
}

/// One slot of a function's reserved concurrency, held while an invocation runs.
public struct ConcurrencyLease: Sendable, Hashable {
    public var id: Int64
    public var function: String

    public init(id: Int64, function: String) {
        self.id = id
        self.function = function
    }
}
