import Foundation
import PostgresNIO
import RelctlCore
import RelctlPackages
import RelctlStorage

// Code bytes and the quota on PostgreSQL. The bytes go to a `CodeObjectStore` (the data directory's
// blob store, or the bucket of `--code-store`): the object is fully written and its size and hash
// checked before the transaction that names it begins, so a committed row never names a missing
// object (a failed transaction can leave an unreferenced object, which `gc` collects).
//
// The quota (75 GB unless `quota-limit` says otherwise) is checked inside the write transaction
// against the sum of the stored versions' sizes. Writers hold the store's one write lock
// (`pg_advisory_xact_lock`), so two publishers on two servers check and insert one after the other:
// the second sees the first's version and is refused if together they would cross the limit.

/// The registry records on PostgreSQL with their code store: what `relctl serve --database` answers from.
public struct PostgresRecords: RegistryRecords {
    public let store: PostgresStore
    public let code: any CodeObjectStore

    public init(store: PostgresStore, code: any CodeObjectStore) {
        self.store = store
        self.code = code
    }

    /// Writes the package's object (checked) before the row that names it can commit.
    func storeObject(_ zip: Data) async throws(RelctlError) -> InspectedPackage {
        let package = try PackageInspector.inspect(zip)
        try await putCodeObject(zip, sha256Hex: package.sha256Hex, what: "the package")
        return package
    }

    /// Stages `data` in a temporary file and stores it as the code object `sha256Hex` (checked by the store).
    func putCodeObject(_ data: Data, sha256Hex: String, what: String) async throws(RelctlError) {
        let staged = FileManager.default.temporaryDirectory.appendingPathComponent(
            "relctl-upload-\(UUID().uuidString)")
        do {
            try data.write(to: staged)
        } catch {
            throw RelctlError(.service, "Cannot stage \(what) in \(staged.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: staged) }
        try await code.put(sha256Hex, size: Int64(data.count), from: staged)
    }

    public func createFunction(
        name: String, settings: FunctionSettings, zip: Data, publish: Bool, tags: [String: String], settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try FunctionReference.validateName(name)
        try settings.validate()
        try FunctionTags.validate(tags)
        _ = try await storeObject(zip)
        return try await store.createFunction(
            name: name, settings: settings, zip: zip, publish: publish, tags: tags, settle: settle)
    }

    public func updateFunctionCode(
        _ function: FunctionReference, zip: Data, expectedRevisionId: String?, publish: Bool, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        _ = try await storeObject(zip)
        return try await store.updateFunctionCode(
            function, zip: zip, expectedRevisionId: expectedRevisionId, publish: publish, settle: settle)
    }

    public func publishVersion(name: String, description: String?) async throws(RelctlError) -> Int {
        try await store.publishVersion(name: name, description: description)
    }

    public func createAlias(
        function: String, name: String, functionVersion: String, additionalVersionWeights: [String: Double],
        description: String
    ) async throws(RelctlError) -> AliasConfiguration {
        try await store.createAlias(
            function: function, name: name, functionVersion: functionVersion,
            additionalVersionWeights: additionalVersionWeights, description: description)
    }

    public func updateAlias(
        function: String, name: String, functionVersion: String?, additionalVersionWeights: [String: Double]?,
        description: String?, expectedRevisionId: String?, cause: String
    ) async throws(RelctlError) -> AliasConfiguration {
        try await store.updateAlias(
            function: function, name: name, functionVersion: functionVersion,
            additionalVersionWeights: additionalVersionWeights, description: description,
            expectedRevisionId: expectedRevisionId, cause: cause)
    }

    public func getAlias(function: String, name: String) async throws(RelctlError) -> AliasConfiguration {
        try await store.getAlias(function: function, name: name)
    }

    public func aliasMoves(function: String, alias: String, limit: Int) async throws(RelctlError) -> [AliasMove] {
        try await store.aliasMoves(function: function, alias: alias, limit: limit)
    }

    public func deployment(id: String) async throws(RelctlError) -> Deployment {
        try await store.deployment(id: id)
    }

    public func deploymentEvents(id: String, after afterId: Int64) async throws(RelctlError) -> [DeploymentEventEntry] {
        try await store.deploymentEvents(id: id, after: afterId)
    }

    public func putAlarm(_ definition: AlarmDefinition) async throws(RelctlError) {
        try await store.putAlarm(definition)
    }

    public func scopedRecords(region: String, actor: String) -> any RegistryRecords {
        PostgresRecords(store: store.scoped(region: region, actor: actor), code: code)
    }

    public func getFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionConfiguration {
        try await store.getFunction(function)
    }

    public func functionPage(
        allVersions: Bool, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        try await store.functionPage(allVersions: allVersions, marker: marker, maxItems: maxItems)
    }

    public func versionPage(
        _ function: FunctionReference, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        try await store.versionPage(function, marker: marker, maxItems: maxItems)
    }

    public func publishVersion(
        _ function: FunctionReference, description: String?, expectedCodeSha256: String?,
        expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try await store.publishVersion(
            function, description: description, expectedCodeSha256: expectedCodeSha256,
            expectedRevisionId: expectedRevisionId, settle: settle)
    }

    public func aliasPage(
        function: String, functionVersion: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<AliasConfiguration> {
        try await store.aliasPage(
            function: function, functionVersion: functionVersion, marker: marker, maxItems: maxItems)
    }

    public func deleteAlias(function: String, name: String) async throws(RelctlError) -> Bool {
        try await store.deleteAlias(function: function, name: name)
    }
}

extension PostgresTransaction {
    static let quotaLimitKey = "quota-limit"

    /// Refuses, before anything is written, a change that would take the stored code past the limit.
    func requireQuota(adding bytes: Int64) throws {
        guard bytes > 0 else { return }
        if try codeUsage() + bytes > codeLimit() { throw RelctlError.codeStorageExceeded }
    }

    /// Usage as AWS counts `TotalCodeSize`: `$LATEST`, every published version and every layer version.
    func codeUsage() throws -> Int64 {
        try db.rows(
            """
            SELECT ((SELECT COALESCE(SUM(code_size), 0) FROM versions) + (SELECT COALESCE(SUM(code_size), 0) FROM layer_versions))::bigint
            """
        ).first?.decode(Int64.self) ?? 0
    }

    /// The code-storage limit (`quota-limit`, else AWS's 75 GB).
    func codeLimit() throws -> Int64 {
        try db.rows("SELECT value FROM settings WHERE key = \(Self.quotaLimitKey)").first
            .flatMap { Int64(try $0.decode(String.self)) } ?? Limits.defaultTotalCodeSize
    }

    /// Freezes `$LATEST` as the next version number (never reused), or returns the last number when
    /// nothing changed since the last publish.
    func publishLatest(_ name: String, description: String?) throws -> Int {
        guard
            let row = try db.rows(
                "SELECT highest_version, changed_since_publish FROM functions WHERE name = \(name)"
            ).first
        else {
            throw RelctlError.functionNotFound(arn.functionArn(name))
        }
        let (highest, changed) = try row.decode((Int, Bool).self)
        // Nothing changed since the last publish: that version again, unless it was deleted (numbers are never reused).
        if !changed, highest > 0,
            try !db.rows("SELECT 1 FROM versions WHERE function_name = \(name) AND version = \(highest)").isEmpty
        {
            return highest
        }
        let latestSize =
            try db.rows("SELECT code_size FROM versions WHERE function_name = \(name) AND version = 0")
            .first?.decode(Int64.self) ?? 0
        try requireQuota(adding: latestSize)
        let number = highest + 1
        try db.execute(
            """
            INSERT INTO versions (function_name, version, code_sha256, code_size, unzipped_size, runtime, handler, role, description,
                                  memory_size, timeout, architecture, last_modified, revision_id, environment,
                                  logging_config, ephemeral_storage_size, tracing_mode)
            SELECT function_name, \(number), code_sha256, code_size, unzipped_size, runtime, handler, role,
                   COALESCE(\(description)::text, description), memory_size, timeout, architecture, \(timestamp),
                   \(PostgresStore.newRevisionId()), environment, logging_config, ephemeral_storage_size, tracing_mode
            FROM versions WHERE function_name = \(name) AND version = 0
            """)
        try copyLatestLayers(function: name, to: number)
        try db.execute(
            "UPDATE versions SET revision_id = \(PostgresStore.newRevisionId()) WHERE function_name = \(name) AND version = 0"
        )
        try db.execute(
            "UPDATE functions SET highest_version = \(number), changed_since_publish = FALSE WHERE name = \(name)")
        try audit(
            "PublishVersion", function: name, resource: arn.functionArn(name, qualifier: String(number)),
            before: nil as String?,
            after: ["Version": String(number)])
        try recordEvent(
            .versionPublished, function: name, message: "Published \(name) version \(number)",
            details: ["version": String(number)])
        return number
    }
}
