import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// Invoke on PostgreSQL: the runtime resolves `name`, `name:version` or `name:alias` against the shared
// database (SQLite's Invocation.swift, with its answers), and reads the package from the code store every
// server shares, by hash (a server that has no copy downloads it; the copy is checked against the hash).

extension PostgresStore {
    /// Resolves a function reference for an invocation: where the traffic goes and how each version runs.
    public func resolveInvocation(_ function: FunctionReference) async throws(RelctlError) -> InvocationTarget {
        try requireAccount(function)
        return try await readRecords { db in try db.invocationTarget(function) }
    }
}

extension PostgresRecords {
    public func resolveInvocation(_ function: FunctionReference) async throws(RelctlError) -> InvocationTarget {
        try await store.resolveInvocation(function)
    }
}

/// What the runtime pool of `relctl serve --database` runs on: invocation targets, settings and
/// provisioned concurrency from PostgreSQL, packages from the shared code store, logs and extracted
/// packages in this server's own data directory.
public struct PostgresInvocationStore: InvocationStore {
    public let store: PostgresStore
    public let dataDirectory: URL
    public let code: any CodeStore

    public init(store: PostgresStore, dataDirectory: URL, objects: any CodeObjectStore) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.code = ObjectCodeStore(objects: objects)
    }

    public var arn: ArnContext { store.arn }

    public func resolveInvocation(_ function: FunctionReference) async throws(RelctlError) -> InvocationTarget {
        try await store.resolveInvocation(function)
    }

    public func readSetting(_ key: String) async throws(RelctlError) -> String? {
        try await store.readRecords { db in
            try db.db.rows("SELECT value FROM settings WHERE key = \(key)").first?.decode(String.self)
        }
    }

    public func provisionedConcurrencyTargets() async throws(RelctlError) -> [ProvisionedConcurrencyTarget] {
        try await store.readRecords { db in
            try db.db.rows(
                """
                SELECT function_name, qualifier, requested FROM provisioned_concurrency
                ORDER BY function_name COLLATE "C", qualifier COLLATE "C"
                """
            ).compactMap { row in
                let (function, qualifier, requested) = try row.decode((String, String, Int).self)
                // A setting whose qualifier no longer resolves keeps nothing warm (its row goes with it).
                guard
                    let target = try? db.invocationTarget(
                        FunctionReference(name: function, qualifier: try Qualifier(parsing: qualifier)))
                else { return nil }
                return ProvisionedConcurrencyTarget(
                    functionName: function, qualifier: qualifier, requested: requested, target: target)
            }
        }
    }
}

/// A `CodeObjectStore` (the data directory's blobs or a bucket) as the runtime's package source: the
/// runtime only ever fetches asynchronously, by hash, and the object store checks the hash.
struct ObjectCodeStore: CodeStore {
    let objects: any CodeObjectStore

    func read(_ sha256Hex: String) throws(RelctlError) -> Data {
        throw RelctlError(
            .service,
            "Package \(sha256Hex) is in \(objects.location), which is read asynchronously; this caller must fetch it.")
    }

    func fetch(_ sha256Hex: String) async throws(RelctlError) -> Data {
        try await objects.get(sha256Hex)
    }
}

extension PostgresTransaction {
    /// SQLite's `Registry.invocationTarget`, on this snapshot.
    func invocationTarget(_ function: FunctionReference) throws -> InvocationTarget {
        let qualifiedArn = arn.functionArn(function.name, qualifier: function.qualifier?.description)
        // An unqualified Invoke of a missing function names the `$LATEST` it would have run, as AWS does.
        guard
            let reserved = try db.rows("SELECT reserved_concurrency FROM functions WHERE name = \(function.name)")
                .first.map({ try $0.decode(Int?.self) })
        else {
            throw RelctlError.functionNotFound(
                arn.functionArn(function.name, qualifier: (function.qualifier ?? .latest).description))
        }
        let routing: AliasTarget
        switch function.qualifier {
        case nil, .latest?:
            routing = AliasTarget(functionVersion: AliasTarget.latestVersionNumber)
        case .version(let number)?:
            routing = AliasTarget(functionVersion: number)
        case .alias(let name)?:
            guard let alias = try aliasRow(function.name, name) else {
                throw RelctlError.functionNotFound(qualifiedArn)
            }
            routing = alias.target
        }
        return try InvocationTarget.resolved(function, arn: arn, routing: routing, reservedConcurrency: reserved) {
            number in
            guard
                let row = try db.rows(
                    """
                    SELECT code_sha256, runtime, handler, memory_size, timeout, environment, architecture FROM versions
                    WHERE function_name = \(function.name) AND version = \(number)
                    """
                ).first
            else { return nil }
            let (sha256, runtime, handler, memory, timeout, environment, architecture) = try row.decode(
                (String, String?, String?, Int, Int, String?, String).self)
            let layers = try db.rows(
                """
                SELECT l.layer_name, l.layer_version, v.code_sha256 FROM version_layers l
                JOIN layer_versions v ON v.layer_name = l.layer_name AND v.version = l.layer_version
                WHERE l.function_name = \(function.name) AND l.version = \(number) ORDER BY l.position
                """
            ).map { layer in
                let (name, version, layerSha256) = try layer.decode((String, Int, String).self)
                return VersionExecution.Layer(arn: arn.layerVersionArn(name, version: version), sha256Hex: layerSha256)
            }
            return VersionExecution(
                functionName: function.name, version: number, sha256Hex: sha256, runtime: runtime, handler: handler,
                memorySize: memory, timeout: timeout,
                environment: FunctionSettings.storedEnvironment(environment) ?? [:],
                layers: layers, architecture: architecture)
        }
    }
}
