import Foundation
import PostgresNIO
import RelctlCore
import RelctlPackages
import RelctlStorage

// The Lambda function/version/alias API on PostgreSQL, with SQLite's answers and messages
// (Registry's Functions.swift, Versions.swift, Aliases.swift): what `relctl serve --database
// postgres://…` answers from the shared database. A function is Active and an update Successful at
// once here: the settle delay (`--settle`) is the SQLite engine's alone for now.
extension PostgresStore {
    public func scopedRecords(region: String, actor: String) -> any RegistryRecords {
        scoped(region: region, actor: actor)
    }

    public func getFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionConfiguration {
        try requireAccount(function)
        return try await readRecords { db in
            let qualifiedArn = db.arn.functionArn(function.name, qualifier: function.qualifier?.description)
            // The version the reference names (nil: an alias that does not exist), and the qualifier its ARN shows.
            let number: Int?
            switch function.qualifier {
            case nil, .latest: number = AliasTarget.latestVersionNumber
            case .version(let version): number = version
            case .alias(let name): number = try db.aliasRow(function.name, name)?.functionVersion
            }
            let arnQualifier: String? =
                switch function.qualifier {
                case nil: nil
                case .latest: "$LATEST"
                case .version(let version): String(version)
                case .alias(let name): name
                }
            guard let number, let row = try db.versionRows(function.name, from: number, limit: 1).first,
                row.version == number
            else {
                throw RelctlError.functionNotFound(qualifiedArn)
            }
            return try db.configuration(row, arnQualifier: arnQualifier)
        }
    }

    public func functionPage(
        allVersions: Bool, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        let limit = try Self.pageSize(maxItems, max: 10_000)
        let (afterName, afterVersion) = try Self.functionMarker(marker)
        return try await readRecords { db in
            // The same order as SQLite's (function_name, version) > marker: names in byte order, `$LATEST` (0) first.
            let rows = try db.db.rows(
                """
                SELECT \(unescaped: VersionRow.columns) FROM versions
                WHERE (\(allVersions) OR version = 0)
                  AND (function_name COLLATE "C" > \(afterName) OR (function_name = \(afterName) AND version > \(afterVersion)))
                ORDER BY function_name COLLATE "C", version LIMIT \(limit + 1)
                """
            ).map(VersionRow.init)
            let page = rows.prefix(limit)
            return RecordPage(
                items: try db.configurations(Array(page)) {
                    allVersions ? AliasTarget.versionText($0.version) : nil
                }.map(\.listItem),
                nextMarker: rows.count > limit ? page.last.map { "\($0.functionName):\($0.version)" } : nil)
        }
    }

    public func versionPage(
        _ function: FunctionReference, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        let limit = try Self.pageSize(maxItems, max: Int.max / 2)
        var after = -1
        if let marker {
            guard let number = Int(marker), number >= 0 else { throw Self.invalidMarker(marker) }
            after = number
        }
        let from = after + 1
        return try await readRecords { db in
            guard try db.functionExists(function.name) else {
                throw RelctlError.functionNotFound(db.arn.functionArn(function.name))
            }
            let rows = try db.versionRows(function.name, from: from, limit: min(limit, Int(Int32.max) - 1) + 1)
            let page = rows.prefix(limit)
            return RecordPage(
                items: try db.configurations(Array(page)) { AliasTarget.versionText($0.version) }.map(\.listItem),
                nextMarker: rows.count > limit ? page.last.map { String($0.version) } : nil)
        }
    }

    public func publishVersion(
        _ function: FunctionReference, description: String?, expectedCodeSha256: String?,
        expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try Self.requireUnqualified(function)
        try requireAccount(function)
        let name = function.name
        return try await write(records: true) { db in
            guard let latest = try db.versionRows(name, from: 0, limit: 1).first, latest.version == 0 else {
                throw RelctlError.functionNotFound(db.arn.functionArn(name))
            }
            if let expectedRevisionId, expectedRevisionId != latest.revisionId { throw RelctlError.revisionMismatch }
            let actual = CodeHash.base64(fromHex: latest.codeSha256)
            if let expectedCodeSha256, expectedCodeSha256 != actual {
                throw RelctlError(
                    .invalidParameterValue,
                    "CodeSHA256 (\(expectedCodeSha256)) is different from current CodeSHA256 in $LATEST (\(actual)). Please try again with the CodeSHA256 in $LATEST."
                )
            }
            let number = try db.publishLatest(name, description: description)
            guard let published = try db.versionRows(name, from: number, limit: 1).first else {
                throw RelctlError.functionNotFound(db.arn.functionArn(name, qualifier: String(number)))
            }
            return try db.configuration(published, arnQualifier: String(number))
        }
    }

    public func aliasPage(
        function: String, functionVersion: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<AliasConfiguration> {
        let limit = try Self.pageSize(maxItems, max: 10_000)
        let versionFilter = try functionVersion.map { text throws(RelctlError) in try AliasTarget.parseVersion(text) }
        return try await readRecords { db in
            guard try db.functionExists(function) else {
                throw RelctlError.functionNotFound(db.arn.functionArn(function))
            }
            let names = try db.db.rows(
                """
                SELECT name FROM aliases WHERE function_name = \(function) AND name COLLATE "C" > \(marker ?? "")
                  AND (\(versionFilter)::integer IS NULL OR function_version = \(versionFilter))
                ORDER BY name COLLATE "C" LIMIT \(limit + 1)
                """
            ).map { try $0.decode(String.self) }
            let page = names.prefix(limit)
            let aliases = try page.compactMap { name in try db.aliasRow(function, name).map { db.configuration($0) } }
            return RecordPage(items: aliases, nextMarker: names.count > limit ? page.last : nil)
        }
    }

    public func deleteAlias(function: String, name: String) async throws(RelctlError) -> Bool {
        try await write(records: true) { db in
            guard try db.functionExists(function) else {
                throw RelctlError.functionNotFound(db.arn.functionArn(function))
            }
            guard let alias = try db.aliasRow(function, name) else { return false }
            try db.requireNoActiveRollout(function, name, verb: "delete")
            try db.db.execute("DELETE FROM aliases WHERE function_name = \(function) AND name = \(name)")
            try db.recordMove(alias, from: alias.target, to: nil, cause: "DeleteAlias")
            let before = db.configuration(alias)
            try db.audit(
                "DeleteAlias", function: function, resource: before.AliasArn, before: before, after: nil as String?)
            return true
        }
    }

    // MARK: - Helpers

    /// A read-only snapshot as a records transaction.
    func readRecords<T: Sendable>(
        _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws(RelctlError) -> T {
        try await blocking(write: false) { db in try body(PostgresTransaction(db: db, store: self)) }
    }

    static func requireUnqualified(_ function: FunctionReference) throws(RelctlError) {
        if let qualifier = function.qualifier, qualifier != .latest {
            throw RelctlError(
                .invalidParameterValue,
                "\(function.name):\(qualifier) is qualified; only $LATEST can be updated (published versions are immutable)."
            )
        }
    }

    func requireAccount(_ function: FunctionReference) throws(RelctlError) {
        if let account = function.account, account != arn.account {
            throw RelctlError.functionNotFound("arn:aws:lambda:\(arn.region):\(account):function:\(function.name)")
        }
    }

    static func pageSize(_ maxItems: Int?, max: Int) throws(RelctlError) -> Int {
        guard let maxItems else { return max }
        guard (1...max).contains(maxItems) else {
            throw .validation(
                value: String(maxItems), field: "maxItems", constraint: "Member must have value between 1 and \(max)")
        }
        return maxItems
    }

    /// ListFunctions' marker (`name:version`, as SQLite writes it): the name to continue after.
    /// ListFunctions' marker: `NAME:VERSION` of the previous page's last item.
    static func functionMarker(_ marker: String?) throws(RelctlError) -> (name: String, version: Int) {
        guard let marker else { return ("", -1) }
        let parts = marker.split(separator: ":")
        guard parts.count == 2, let version = Int(parts[1]) else { throw invalidMarker(marker) }
        return (String(parts[0]), version)
    }

    static func invalidMarker(_ marker: String) -> RelctlError {
        RelctlError(.invalidParameterValue, "Invalid marker '\(marker)': pass the NextMarker of the previous page.")
    }
}

/// A `versions` row as the Lambda API shows it.
struct VersionRow: Sendable {
    static let columns = """
        function_name, version, code_sha256, code_size, runtime, handler, role, description, memory_size, timeout,
        architecture, last_modified, revision_id, environment, logging_config, ephemeral_storage_size, tracing_mode
        """
    var functionName: String
    var version: Int
    var codeSha256: String
    var codeSize: Int64
    var runtime: String?
    var handler: String?
    var role: String
    var description: String
    var memorySize: Int
    var timeout: Int
    var architecture: String
    var lastModified: String
    var revisionId: String
    /// Environment variables and LoggingConfig as JSON (nil: unset), /tmp in MB and the tracing mode (nil: AWS's default).
    var environment: String?
    var loggingConfig: String?
    var ephemeralStorageSize: Int?
    var tracingMode: String?

    init(_ row: PostgresRow) throws {
        (
            functionName, version, codeSha256, codeSize, runtime, handler, role, description, memorySize, timeout,
            architecture, lastModified, revisionId, environment, loggingConfig, ephemeralStorageSize, tracingMode
        ) = try row.decode(
            (
                String, Int, String, Int64, String?, String?, String, String, Int, Int, String, String, String,
                String?, String?, Int?, String?
            ).self)
    }

    /// The settings of this version as a user set them (its layers are rows of `version_layers`).
    var settings: FunctionSettings {
        .stored(
            runtime: runtime, handler: handler, role: role, description: description, memorySize: memorySize,
            timeout: timeout, environment: environment, architecture: architecture, loggingConfig: loggingConfig,
            ephemeralStorageSize: ephemeralStorageSize, tracingMode: tracingMode)
    }

    var environmentVariables: [String: String]? { FunctionSettings.storedEnvironment(environment) }

    func configuration(_ arn: ArnContext, arnQualifier: String?) -> FunctionConfiguration {
        var configuration = FunctionConfiguration(
            FunctionName: functionName, FunctionArn: arn.functionArn(functionName, qualifier: arnQualifier),
            Runtime: runtime, Role: role, Handler: handler, CodeSize: codeSize, Description: description,
            Timeout: timeout, MemorySize: memorySize, LastModified: lastModified,
            CodeSha256: CodeHash.base64(fromHex: codeSha256), Version: AliasTarget.versionText(version),
            Environment: environmentVariables.map { EnvironmentResponse(Variables: $0) }, RevisionId: revisionId,
            Layers: nil, Architectures: [architecture])
        configuration.LoggingConfig = FunctionSettings.effectiveLoggingConfig(
            settings.loggingConfig, functionName: functionName)
        configuration.EphemeralStorage = EphemeralStorage(Size: ephemeralStorageSize ?? 512)
        configuration.TracingConfig = TracingConfig(Mode: tracingMode ?? "PassThrough")
        configuration.RuntimeVersionConfig = runtime.map {
            RuntimeVersionConfig(
                RuntimeVersionArn:
                    "arn:aws:lambda:\(arn.region)::runtime:\(CodeHash.hex(of: Data("relctl:\($0)".utf8)))")
        }
        return configuration
    }
}

extension PostgresTransaction {
    /// Up to `limit` versions of a function from number `from` on, ascending.
    func versionRows(_ function: String, from: Int, limit: Int) throws -> [VersionRow] {
        try db.rows(
            """
            SELECT \(unescaped: VersionRow.columns) FROM versions WHERE function_name = \(function) AND version >= \(from)
            ORDER BY version LIMIT \(limit)
            """
        ).map(VersionRow.init)
    }

    /// Refuses to move an alias by hand while a deployment or a release shifts its traffic (SQLite's words).
    func requireNoActiveRollout(_ function: String, _ alias: String, verb: String) throws {
        if let deployment = try activeDeployment(function: function, alias: alias) {
            throw RelctlError(
                .resourceConflict,
                "Deployment \(deployment.id) is shifting traffic on \(function):\(alias); cannot \(verb) the alias by hand now (`relctl deployments stop \(deployment.id)` or `relctl rollback \(function) \(alias)`)."
            )
        }
        if let release = try activeRelease(function: function, alias: alias) {
            throw RelctlError(
                .resourceConflict,
                "Release \(release.name) (\(release.id)) is shifting traffic on \(function):\(alias); cannot \(verb) the alias by hand now (`relctl release stop \(release.name)` restores every member)."
            )
        }
    }
}
