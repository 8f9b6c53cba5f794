import Foundation
import GRDB
import RelctlCore
import RelctlPackages

extension Registry {
    /// PublishLayerVersion: always a new version, numbered after the highest ever.
    public func publishLayerVersion(
        name: String, code package: InspectedPackage, description: String = "", compatibleRuntimes: [String] = [],
        compatibleArchitectures: [String] = [], licenseInfo: String? = nil
    ) throws(RelctlError) -> LayerVersion {
        let name = try LayerName.parse(name, context: arn)
        try Self.validateDescription(description)
        for runtime in compatibleRuntimes where !FunctionSettings.runtimes.contains(runtime) {
            throw .validation(value: runtime, field: "compatibleRuntimes",
                              constraint: "Member must satisfy enum value set: [\(FunctionSettings.runtimes.joined(separator: ", "))]")
        }
        guard compatibleRuntimes.count <= 15 else {
            throw .validation(value: "\(compatibleRuntimes)", field: "compatibleRuntimes", constraint: "Member must have length less than or equal to 15")
        }
        for architecture in compatibleArchitectures where !FunctionSettings.architectures.contains(architecture) {
            throw .validation(value: architecture, field: "compatibleArchitectures",
                              constraint: "Member must satisfy enum value set: [\(FunctionSettings.architectures.joined(separator: ", "))]")
        }
        return try write(staging: package) { db, _, staged in
            try requireQuota(db, adding: package.size)
            try installBlob(db, staged!)
            var layer = try LayerRecord.fetchOne(db, key: name) ?? LayerRecord(name: name, highestVersion: 0)
            layer.highestVersion += 1
            try layer.save(db)
            let record = LayerVersionRecord(
                layerName: name, version: layer.highestVersion, codeSha256: package.sha256Hex, codeSize: package.size,
                unzippedSize: package.unzippedSize, description: description,
                compatibleRuntimes: Self.jsonArray(compatibleRuntimes), compatibleArchitectures: Self.jsonArray(compatibleArchitectures),
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
        guard version >= 1 else { throw RelctlError(.invalidParameterValue, "Layer Version Cannot be less than 1") }
        return try read { db in
            guard let record = try LayerVersionRecord.fetchOne(db, key: ["layer_name": name, "version": version]), !record.deleted else {
                throw RelctlError(.resourceNotFound, "The resource you requested does not exist.")
            }
            return layerVersion(record)
        }
    }

    /// ListLayerVersions, newest first. An unknown layer has no versions (not an error, as on AWS).
    public func listLayerVersions(name: String, compatibleRuntime: String? = nil, marker: String? = nil, maxItems: Int? = nil) throws(RelctlError) -> Page<LayerVersion> {
        let name = try LayerName.parse(name, context: arn)
        let limit = try pageSize(maxItems, max: 50)
        let before = try marker.map { text throws(RelctlError) -> Int in
            guard let number = Int(text) else { throw RelctlError(.invalidParameterValue, "Invalid marker '\(text)': pass the NextMarker of the previous page.") }
            return number
        } ?? Int.max
        return try read { db in
            let records = try LayerVersionRecord.fetchAll(db, sql: """
                SELECT * FROM layer_versions WHERE layer_name = ? AND deleted = 0 AND version < ?
                  AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(compatible_runtimes) WHERE value = ?3))
                ORDER BY version DESC LIMIT ?
                """, arguments: [name, before, compatibleRuntime, limit + 1])
            let page = records.prefix(limit)
            return Page(items: page.map(layerVersion), nextMarker: records.count > limit ? page.last.map { String($0.version) } : nil)
        }
    }

    /// ListLayers: each layer with a live version, and its newest (matching) version.
    public func listLayers(compatibleRuntime: String? = nil, marker: String? = nil, maxItems: Int? = nil) throws(RelctlError) -> Page<LayerSummary> {
        let limit = try pageSize(maxItems, max: 50)
        return try read { db in
            let records = try LayerVersionRecord.fetchAll(db, sql: """
                SELECT lv.* FROM layer_versions lv
                WHERE lv.layer_name > ? AND lv.deleted = 0
                  AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(lv.compatible_runtimes) WHERE value = ?2))
                  AND lv.version = (SELECT MAX(o.version) FROM layer_versions o WHERE o.layer_name = lv.layer_name AND o.deleted = 0
                      AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(o.compatible_runtimes) WHERE value = ?2)))
                ORDER BY lv.layer_name LIMIT ?
                """, arguments: [marker ?? "", compatibleRuntime, limit + 1])
            let page = records.prefix(limit)
            let items = page.map {
                LayerSummary(LayerName: $0.layerName, LayerArn: arn.layerArn($0.layerName), LatestMatchingVersion: layerVersion($0))
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
            guard var record = try LayerVersionRecord.fetchOne(db, key: ["layer_name": name, "version": version]), !record.deleted else {
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
        LayerVersion(
            Content: LayerVersionContent(CodeSha256: CodeHash.base64(fromHex: record.codeSha256), CodeSize: record.codeSize),
            LayerArn: arn.layerArn(record.layerName),
            LayerVersionArn: arn.layerVersionArn(record.layerName, version: record.version),
            Description: record.description, CreatedDate: record.createdDate, Version: record.version,
            CompatibleRuntimes: Self.decodeArray(record.compatibleRuntimes),
            CompatibleArchitectures: Self.decodeArray(record.compatibleArchitectures),
            LicenseInfo: record.licenseInfo)
    }

    static func jsonArray(_ values: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeArray(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}
