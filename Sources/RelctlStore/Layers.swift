import Foundation
import GRDB
import RelctlCore
import RelctlPackages

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

extension Registry {
    /// PublishLayerVersion: always a new version, numbered after the highest ever.
    public func publishLayerVersion(
        name: String, code package: InspectedPackage, description: String = "", compatibleRuntimes: [String] = [],
        compatibleArchitectures: [String] = [], licenseInfo: String? = nil
    ) throws(RelctlError) -> LayerVersion {
        let name = try LayerName.parse(name, context: arn)
        try Self.validateDescription(description)
        try LayerRules.validateCompatibility(runtimes: compatibleRuntimes, architectures: compatibleArchitectures)
        return try write(staging: package) { db, _, staged in
            try requireQuota(db, adding: package.size)
            try installBlob(db, staged!)
            var layer = try LayerRecord.fetchOne(db, key: name) ?? LayerRecord(name: name, highestVersion: 0)
            layer.highestVersion += 1
            try layer.save(db)
            let record = LayerVersionRecord(
                layerName: name, version: layer.highestVersion, codeSha256: package.sha256Hex, codeSize: package.size,
                unzippedSize: package.unzippedSize, description: description,
                compatibleRuntimes: Self.jsonArray(compatibleRuntimes),
                compatibleArchitectures: Self.jsonArray(compatibleArchitectures),
                licenseInfo: licenseInfo, createdDate: now, deleted: false)
            try record.insert(db)
            try addUsage(db, codeSize: package.size)
            let result = layerVersion(record)
            try audit(db, "PublishLayerVersion", function: nil, resource: result.LayerVersionArn, after: result)
            return result
        }
    }

    public func getLayerVersion(name: String, version: Int) throws(RelctlError) -> LayerVersion {
        let name = try LayerName.parse(name, context: arn)
        try LayerRules.requireVersionNumber(version)
        return try read { db in
            guard let record = try LayerVersionRecord.fetchOne(db, key: ["layer_name": name, "version": version]),
                !record.deleted
            else {
                throw LayerRules.notFound
            }
            return layerVersion(record)
        }
    }

    /// ListLayerVersions, newest first. An unknown layer has no versions (not an error, as on AWS).
    public func listLayerVersions(
        name: String, compatibleRuntime: String? = nil, compatibleArchitecture: String? = nil, marker: String? = nil,
        maxItems: Int? = nil
    ) throws(RelctlError) -> Page<LayerVersion> {
        let name = try LayerName.parse(name, context: arn)
        let limit = try pageSize(maxItems, max: 50)
        let before = try LayerRules.versionMarker(marker) ?? Int.max
        return try read { db in
            let records = try LayerVersionRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM layer_versions WHERE layer_name = ?1 AND deleted = 0 AND version < ?2
                      AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(compatible_runtimes) WHERE value = ?3))
                      AND (?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(compatible_architectures) WHERE value = ?5))
                    ORDER BY version DESC LIMIT ?4
                    """, arguments: [name, before, compatibleRuntime, limit + 1, compatibleArchitecture])
            let page = records.prefix(limit)
            return Page(
                items: page.map(layerVersion),
                nextMarker: records.count > limit ? page.last.map { String($0.version) } : nil)
        }
    }

    /// ListLayers: each layer with a live version, and its newest (matching) version.
    public func listLayers(
        compatibleRuntime: String? = nil, compatibleArchitecture: String? = nil, marker: String? = nil,
        maxItems: Int? = nil
    ) throws(RelctlError) -> Page<LayerSummary> {
        let limit = try pageSize(maxItems, max: 50)
        return try read { db in
            let records = try LayerVersionRecord.fetchAll(
                db,
                sql: """
                    SELECT lv.* FROM layer_versions lv
                    WHERE lv.layer_name > ?1 AND lv.deleted = 0
                      AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(lv.compatible_runtimes) WHERE value = ?2))
                      AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(lv.compatible_architectures) WHERE value = ?4))
                      AND lv.version = (SELECT MAX(o.version) FROM layer_versions o WHERE o.layer_name = lv.layer_name AND o.deleted = 0
                          AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(o.compatible_runtimes) WHERE value = ?2))
                          AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(o.compatible_architectures) WHERE value = ?4)))
                    ORDER BY lv.layer_name LIMIT ?3
                    """, arguments: [marker ?? "", compatibleRuntime, limit + 1, compatibleArchitecture])
            let page = records.prefix(limit)
            let items = page.map {
                LayerSummary(
                    LayerName: $0.layerName, LayerArn: arn.layerArn($0.layerName),
                    LatestMatchingVersion: layerVersion($0))
            }
            return Page(items: items, nextMarker: records.count > limit ? page.last?.layerName : nil)
        }
    }

    /// DeleteLayerVersion, idempotent. A version that functions still use disappears from lists
    /// but its code stays until the last function version using it goes (as AWS keeps "a copy").
    @discardableResult
    public func deleteLayerVersion(name: String, version: Int) throws(RelctlError) -> Bool {
        let name = try LayerName.parse(name, context: arn)
        return try write { db, effects in
            guard var record = try LayerVersionRecord.fetchOne(db, key: ["layer_name": name, "version": version]),
                !record.deleted
            else {
                return false
            }
            let before = layerVersion(record)
            record.deleted = true
            try record.update(db, columns: ["deleted"])
            try purgeLayerVersionIfUnused(db, record, &effects)
            try audit(db, "DeleteLayerVersion", function: nil, resource: before.LayerVersionArn, before: before)
            return true
        }
    }

    func layerVersion(_ record: LayerVersionRecord) -> LayerVersion {
        .stored(
            arn, name: record.layerName, version: record.version,
            codeSha256: CodeHash.base64(fromHex: record.codeSha256), codeSize: record.codeSize,
            description: record.description, createdDate: record.createdDate,
            compatibleRuntimes: record.compatibleRuntimes, compatibleArchitectures: record.compatibleArchitectures,
            licenseInfo: record.licenseInfo)
    }

    static func jsonArray(_ values: [String]) -> String { LayerRules.storedList(values) }

    static func decodeArray(_ text: String) -> [String] { LayerRules.decodeStoredList(text) }
}

// MARK: - Inside a transaction

extension Registry {
    func layers(_ db: Database, of function: String, version: Int) throws -> [LayerVersionRecord] {
        // Compiled once per connection: every invoke's target resolution asks.
        try LayerVersionRecord.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT lv.* FROM version_layers vl
                    JOIN layer_versions lv ON lv.layer_name = vl.layer_name AND lv.version = vl.layer_version
                    WHERE vl.function_name = ? AND vl.version = ? ORDER BY vl.position
                    """), arguments: [function, version])
    }

    /// Resolves layer version ARNs for a function, with Lambda's rules and messages.
    func resolveLayers(_ db: Database, _ arns: [String]) throws -> [LayerVersionRecord] {
        try requireLayersInRegion(arns)
        return try LayerRules.references(arns).map { text, reference in
            guard reference.account == arn.account,
                let layer = try LayerVersionRecord.fetchOne(
                    db, key: ["layer_name": reference.name, "version": reference.version]),
                !layer.deleted
            else {
                throw LayerRules.missing(text)
            }
            return layer
        }
    }

    /// A function's layers live in its region (`LayerRules.requireInRegion`).
    func requireLayersInRegion(_ arns: [String]) throws(RelctlError) {
        try LayerRules.requireInRegion(arns, region: arn.region)
    }

    /// The function's code plus its layers, unzipped, must fit Lambda's 250 MB.
    func requireUnzippedFits(code: Int64, layers: [LayerVersionRecord]) throws {
        try LayerRules.requireUnzippedFits(code: code, layers: layers.map(\.unzippedSize))
    }

    func setLayers(_ db: Database, function: String, version: Int, _ layers: [LayerVersionRecord]) throws {
        try db.execute(
            sql: "DELETE FROM version_layers WHERE function_name = ? AND version = ?", arguments: [function, version])
        for (position, layer) in layers.enumerated() {
            try VersionLayerRecord(
                functionName: function, version: version, position: position,
                layerName: layer.layerName, layerVersion: layer.version
            ).insert(db)
        }
    }

    func purgeLayerVersionIfUnused(_ db: Database, _ layer: LayerVersionRecord, _ effects: inout WriteEffects) throws {
        let used =
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM version_layers WHERE layer_name = ? AND layer_version = ?)
                    """, arguments: [layer.layerName, layer.version]) ?? true
        guard !used else { return }
        try layer.delete(db)
        try addUsage(db, codeSize: -layer.codeSize)
        try releaseBlobIfUnreferenced(db, layer.codeSha256, &effects)
    }
}
