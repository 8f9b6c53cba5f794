import Foundation
import GRDB
import RelctlCore

// One Codable record per table; columns are snake_case in SQL, camelCase here.

protocol SnakeCaseRecord: Codable, FetchableRecord, PersistableRecord {}

extension SnakeCaseRecord {
    static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

struct BlobRecord: SnakeCaseRecord {
    static let databaseTableName = "blobs"
    var sha256: String
    var size: Int64
    var unzippedSize: Int64
}

struct FunctionRecord: SnakeCaseRecord {
    static let databaseTableName = "functions"
    var name: String
    var createdAt: String
    var highestVersion: Int
    var changedSincePublish: Bool
    var reservedConcurrency: Int?
}

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

    enum Columns {
        static let functionName = Column("function_name")
        static let version = Column("version")
    }

    var settings: FunctionSettings {
        FunctionSettings(
            runtime: runtime, handler: handler, role: role, description: description, memorySize: memorySize,
            timeout: timeout, environment: environmentVariables, layers: [], architecture: architecture)
    }

    var environmentVariables: [String: String]? {
        guard let environment else { return nil }
        return try? JSONDecoder().decode([String: String].self, from: Data(environment.utf8))
    }

    mutating func apply(_ settings: FunctionSettings) {
        runtime = settings.runtime
        handler = settings.handler
        role = settings.role
        description = settings.description
        memorySize = settings.memorySize
        timeout = settings.timeout
        environment = settings.environment.map(FunctionSettings.environmentText)
        architecture = settings.architecture
    }
}

struct VersionLayerRecord: SnakeCaseRecord {
    static let databaseTableName = "version_layers"
    var functionName: String
    var version: Int
    var position: Int
    var layerName: String
    var layerVersion: Int
}

struct LayerRecord: SnakeCaseRecord {
    static let databaseTableName = "layers"
    var name: String
    var highestVersion: Int
}

struct LayerVersionRecord: SnakeCaseRecord {
    static let databaseTableName = "layer_versions"
    var layerName: String
    var version: Int
    var codeSha256: String
    var codeSize: Int64
    var unzippedSize: Int64
    var description: String
    var compatibleRuntimes: String
    var compatibleArchitectures: String
    var licenseInfo: String?
    var createdDate: String
    var deleted: Bool
}

struct AliasRecord: SnakeCaseRecord {
    static let databaseTableName = "aliases"
    var functionName: String
    var name: String
    var functionVersion: Int
    var additionalVersion: Int?
    var additionalWeight: Double?
    var description: String
    var revisionId: String

    var target: AliasTarget {
        AliasTarget(
            functionVersion: functionVersion,
            additional: additionalVersion.map { AliasTarget.Additional(version: $0, weight: additionalWeight ?? 0) })
    }

    mutating func setTarget(_ target: AliasTarget) {
        functionVersion = target.functionVersion
        additionalVersion = target.additional?.version
        additionalWeight = target.additional?.weight
    }
}

struct AliasMoveRecord: SnakeCaseRecord {
    static let databaseTableName = "alias_moves"
    var id: Int64?
    var functionName: String
    var aliasName: String
    var at: String
    var actor: String
    var cause: String
    var fromVersion: Int?
    var fromAdditionalVersion: Int?
    var fromAdditionalWeight: Double?
    var toVersion: Int?
    var toAdditionalVersion: Int?
    var toAdditionalWeight: Double?

    var from: AliasTarget? { Self.target(fromVersion, fromAdditionalVersion, fromAdditionalWeight) }
    var to: AliasTarget? { Self.target(toVersion, toAdditionalVersion, toAdditionalWeight) }

    static func target(_ version: Int?, _ additional: Int?, _ weight: Double?) -> AliasTarget? {
        version.map { AliasTarget(functionVersion: $0, additional: additional.map { .init(version: $0, weight: weight ?? 0) }) }
    }
}

struct AuditRecord: SnakeCaseRecord {
    static let databaseTableName = "audit"
    var id: Int64?
    var at: String
    var actor: String
    var action: String
    var functionName: String?
    var resource: String
    var before: String?
    var after: String?
}

struct UsageRecord: SnakeCaseRecord {
    static let databaseTableName = "usage"
    var id: Int
    var totalCodeSize: Int64
    var storedBytes: Int64
}
