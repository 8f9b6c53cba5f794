import Foundation
import GRDB
import RelctlCore
import RelctlPackages

/// `$LATEST` (version 0) or a published version.
struct VersionRecord: SnakeCaseRecord {
    static let databaseTableName = "versions"
    var functionName: String
    var version: Int
    var codeSha256: String
    var codeSize: Int64
    var unzippedSize: Int64
    var runtime: String?
    var handler: String?
    var role: String
    var description: String
    var memorySize: Int
    var timeout: Int
    var environment: String?
    var architecture: String
    var lastModified: String
    var revisionId: String
    /// LoggingConfig as set (JSON), the size of /tmp in MB and the tracing mode; nil is AWS's default.
    var loggingConfig: String? = nil
    var ephemeralStorageSize: Int? = nil
    var tracingMode: String? = nil

    enum Columns {
        static let functionName = Column("function_name")
        static let version = Column("version")
    }

    var settings: FunctionSettings {
        .stored(
            runtime: runtime, handler: handler, role: role, description: description, memorySize: memorySize,
            timeout: timeout, environment: environment, architecture: architecture, loggingConfig: loggingConfig,
            ephemeralStorageSize: ephemeralStorageSize, tracingMode: tracingMode)
    }

    var environmentVariables: [String: String]? { FunctionSettings.storedEnvironment(environment) }

    mutating func apply(_ settings: FunctionSettings) {
        runtime = settings.runtime
        handler = settings.handler
        role = settings.role
        description = settings.description
        memorySize = settings.memorySize
        timeout = settings.timeout
        environment = settings.environment.map(FunctionSettings.environmentText)
        architecture = settings.architecture
        loggingConfig = settings.loggingConfig.flatMap {
            try? String(decoding: JSONEncoder().encode($0), as: UTF8.self)
        }
        ephemeralStorageSize = settings.ephemeralStorageSize
        tracingMode = settings.tracingMode
    }
}

extension VersionRecord {
    init(row: Row) {
        functionName = row["function_name"]
        version = row["version"]
        codeSha256 = row["code_sha256"]
        codeSize = row["code_size"]
        unzippedSize = row["unzipped_size"]
        runtime = row["runtime"]
        handler = row["handler"]
        role = row["role"]
        description = row["description"]
        memorySize = row["memory_size"]
        timeout = row["timeout"]
        environment = row["environment"]
        architecture = row["architecture"]
        lastModified = row["last_modified"]
        revisionId = row["revision_id"]
        loggingConfig = row["logging_config"]
        ephemeralStorageSize = row["ephemeral_storage_size"]
        tracingMode = row["tracing_mode"]
    }
}

extension Registry {
    /// PublishVersion. Like AWS, "nothing changed" is decided by update events, not content: when
    /// no update touched `$LATEST` since the last publish, the last version is returned as it is.
    public func publishVersion(
        _ function: FunctionReference, description: String? = nil,
        expectedCodeSha256: String? = nil, expectedRevisionId: String? = nil, settle: Double? = nil
    ) throws(RelctlError) -> FunctionConfiguration {
        try requireUnqualified(function)
        if let description, description.count > Limits.descriptionLength {
            throw .validation(
                value: description, field: "description",
                constraint: "Member must have length less than or equal to 256")
        }
        return try write { db, _ in
            try requireAccount(function)
            let lastVersion = try requireFunction(db, function.name).highestVersion
            try requireSettled(db, function.name, settle: settle)
            let latest = try latest(db, function.name)
            if let expectedRevisionId, expectedRevisionId != latest.revisionId { throw RelctlError.revisionMismatch }
            let actual = CodeHash.base64(fromHex: latest.codeSha256)
            if let expectedCodeSha256, expectedCodeSha256 != actual {
                throw RelctlError(
                    .invalidParameterValue,
                    "CodeSHA256 (\(expectedCodeSha256)) is different from current CodeSHA256 in $LATEST (\(actual)). Please try again with the CodeSHA256 in $LATEST."
                )
            }
            var configuration = try publishLatest(db, function.name, description: description)
            // Through the API (`settle`), a version just published starts Pending, as on AWS.
            if let settle, settle > 0, configuration.Version != String(lastVersion) {
                Self.applyPublishingState(to: &configuration)
            }
            return configuration
        }
    }

    /// Freezes `$LATEST` as the next version number, or returns the last version if nothing changed.
    func publishLatest(_ db: Database, _ name: String, description: String?) throws -> FunctionConfiguration {
        var function = try requireFunction(db, name)
        var latest = try latest(db, name)
        if !function.changedSincePublish, let last = try version(db, name, function.highestVersion) {
            return try configuration(db, last, arnQualifier: String(last.version))
        }
        try requireQuota(db, adding: latest.codeSize)
        let number = function.highestVersion + 1
        var published = latest
        published.version = number
        published.description = description ?? latest.description
        published.lastModified = now
        published.revisionId = Registry.newRevisionId()
        try published.insert(db)
        try setLayers(db, function: name, version: number, try layers(db, of: name, version: 0))
        try addUsage(db, codeSize: published.codeSize)
        latest.revisionId = Registry.newRevisionId()
        try latest.update(db)
        function.highestVersion = number
        function.changedSincePublish = false
        try function.update(db)
        let configuration = try configuration(db, published, arnQualifier: String(number))
        try audit(db, "PublishVersion", function: name, resource: configuration.FunctionArn, after: configuration)
        try recordEvent(
            db, .versionPublished, function: name, message: "Published \(name) version \(number)",
            details: [
                "version": String(number), "codeSha256": configuration.CodeSha256,
                "codeSize": String(published.codeSize),
            ])
        return configuration
    }
}

// MARK: - Inside a transaction

extension Registry {
    func version(_ db: Database, _ function: String, _ version: Int) throws -> VersionRecord? {
        try db.fetchOne(
            VersionRecord.self, cached: "SELECT * FROM versions WHERE function_name = ? AND version = ?",
            [function, version])
    }

    /// Deletes one version row (its layer links cascade) and what hangs off it: usage, an
    /// unreferenced blob, layer versions that were deleted and waited only for this user.
    func deleteVersionRow(_ db: Database, _ record: VersionRecord, _ effects: inout WriteEffects) throws {
        let usedLayers = try layers(db, of: record.functionName, version: record.version)
        try record.delete(db)
        try addUsage(db, codeSize: -record.codeSize)
        try releaseBlobIfUnreferenced(db, record.codeSha256, &effects)
        for layer in usedLayers where layer.deleted {
            try purgeLayerVersionIfUnused(db, layer, &effects)
        }
    }
}
