import Foundation
import GRDB
import RelctlCore
import RelctlPackages

// Building blocks every write shares: quota, blobs, audit, lookups. All run inside a transaction.
extension Registry {
    static let quotaLimitKey = "quota-limit"

    func usage(_ db: Database) throws -> UsageRecord {
        guard let usage = try UsageRecord.fetchOne(db, key: 1) else {
            throw RelctlError(.service, "The registry's usage row is missing; run `relctl fsck`.")
        }
        return usage
    }

    func limit(_ db: Database) throws -> Int64 {
        try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [Registry.quotaLimitKey])
            .flatMap { Int64($0) } ?? Limits.defaultTotalCodeSize
    }

    /// Refuses, before anything is written, a change that would take usage past the limit.
    func requireQuota(_ db: Database, adding bytes: Int64) throws {
        guard bytes > 0 else { return }
        let usage = try usage(db).totalCodeSize
        if usage + bytes > (try limit(db)) { throw RelctlError.codeStorageExceeded }
    }

    func addUsage(_ db: Database, codeSize delta: Int64) throws {
        guard delta != 0 else { return }
        try db.execute(sql: "UPDATE usage SET total_code_size = total_code_size + ? WHERE id = 1", arguments: [delta])
        if delta > 0 {
            let after = try usage(db).totalCodeSize
            try recordQuotaWarnings(db, before: after - delta, after: after)
        }
    }

    /// Makes the staged blob part of the store, under the write lock.
    func installBlob(_ db: Database, _ staged: StagedBlob) throws {
        if try BlobRecord.exists(db, key: staged.sha256Hex) {
            // Holding the lock, an existing row guarantees an existing file.
            blobs.discard(staged)
            return
        }
        try blobs.install(staged)
        try BlobRecord(sha256: staged.sha256Hex, size: staged.size, unzippedSize: staged.unzippedSize).insert(db)
        try db.execute(sql: "UPDATE usage SET stored_bytes = stored_bytes + ? WHERE id = 1", arguments: [staged.size])
    }

    /// Drops the blob row when no version or layer version uses the hash any more; its file goes after commit.
    func releaseBlobIfUnreferenced(_ db: Database, _ hash: String, _ effects: inout WriteEffects) throws {
        let used = try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM versions WHERE code_sha256 = ?1)
                OR EXISTS (SELECT 1 FROM layer_versions WHERE code_sha256 = ?1)
            """, arguments: [hash]) ?? true
        guard !used, let blob = try BlobRecord.fetchOne(db, key: hash) else { return }
        try blob.delete(db)
        try db.execute(sql: "UPDATE usage SET stored_bytes = stored_bytes - ? WHERE id = 1", arguments: [blob.size])
        effects.releasedBlobs.insert(hash)
    }

    func audit(_ db: Database, _ action: String, function: String?, resource: String,
               before: (any Encodable)? = nil, after: (any Encodable)? = nil) throws {
        func json(_ value: (any Encodable)?) -> String? {
            guard let value else { return nil }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
        }
        let record = AuditRecord(
            at: now, actor: actor, action: action, functionName: function, resource: resource,
            before: json(before), after: json(after))
        try record.insert(db)
    }

    func requireFunction(_ db: Database, _ name: String) throws -> FunctionRecord {
        guard let function = try FunctionRecord.fetchOne(db, key: name) else {
            throw RelctlError.functionNotFound(arn.functionArn(name))
        }
        return function
    }

    func version(_ db: Database, _ function: String, _ version: Int) throws -> VersionRecord? {
        try VersionRecord.fetchOne(db, key: ["function_name": function, "version": version])
    }

    func latest(_ db: Database, _ function: String) throws -> VersionRecord {
        guard let latest = try version(db, function, AliasTarget.latestVersionNumber) else {
            throw RelctlError.functionNotFound(arn.functionArn(function))
        }
        return latest
    }

    func layers(_ db: Database, of function: String, version: Int) throws -> [LayerVersionRecord] {
        try LayerVersionRecord.fetchAll(db, sql: """
            SELECT lv.* FROM version_layers vl
            JOIN layer_versions lv ON lv.layer_name = vl.layer_name AND lv.version = vl.layer_version
            WHERE vl.function_name = ? AND vl.version = ? ORDER BY vl.position
            """, arguments: [function, version])
    }

    /// Resolves layer version ARNs for a function, with Lambda's rules and messages.
    func resolveLayers(_ db: Database, _ arns: [String]) throws -> [LayerVersionRecord] {
        guard arns.count <= Limits.layersPerFunction else {
            throw RelctlError(.invalidParameterValue, "Cannot reference more than 5 layers.")
        }
        try requireLayersInRegion(arns)
        var resolved: [LayerVersionRecord] = []
        var byName: [String: String] = [:]
        for text in arns {
            let reference = try LayerVersionReference(parsing: text)
            if let other = byName[reference.name] {
                throw RelctlError(
                    .invalidParameterValue,
                    "Two different versions of the same layer are not allowed to be referenced in the same function. \(other) and \(text) are versions of the same layer.")
            }
            byName[reference.name] = text
            guard reference.account == arn.account,
                  let layer = try LayerVersionRecord.fetchOne(db, key: ["layer_name": reference.name, "version": reference.version]),
                  !layer.deleted
            else {
                throw RelctlError(.invalidParameterValue, "Layer version \(text) does not exist.")
            }
            resolved.append(layer)
        }
        return resolved
    }

    /// A function's layers live in its region. AWS checks this before anything about the function
    /// itself, even whether it already exists. A malformed ARN is left to `resolveLayers`.
    func requireLayersInRegion(_ arns: [String]) throws(RelctlError) {
        for text in arns {
            guard let reference = try? LayerVersionReference(parsing: text), reference.region != arn.region else { continue }
            throw RelctlError(
                .invalidParameterValue,
                "Layers are not in the same region as the function. Layers are expected to be in region \(arn.region).")
        }
    }

    /// The function's code plus its layers, unzipped, must fit Lambda's 250 MB.
    func requireUnzippedFits(code: Int64, layers: [LayerVersionRecord]) throws {
        let total = layers.reduce(code) { $0 + $1.unzippedSize }
        guard total <= Limits.codeSizeUnzipped else {
            throw RelctlError(.invalidParameterValue, "Unzipped size must be smaller than \(Limits.codeSizeUnzipped) bytes")
        }
    }

    func setLayers(_ db: Database, function: String, version: Int, _ layers: [LayerVersionRecord]) throws {
        try db.execute(sql: "DELETE FROM version_layers WHERE function_name = ? AND version = ?", arguments: [function, version])
        for (position, layer) in layers.enumerated() {
            try VersionLayerRecord(
                functionName: function, version: version, position: position,
                layerName: layer.layerName, layerVersion: layer.version
            ).insert(db)
        }
    }

    /// `qualifier` is what the ARN ends with: nil for the unqualified ARN.
    func configuration(_ db: Database, _ record: VersionRecord, arnQualifier: String?) throws -> FunctionConfiguration {
        configuration(record, layers: try layers(db, of: record.functionName, version: record.version), arnQualifier: arnQualifier)
    }

    /// Many configurations with one layer query, for lists.
    func configurations(_ db: Database, _ records: some Collection<VersionRecord>, arnQualifier: (VersionRecord) -> String?) throws -> [FunctionConfiguration] {
        var layersByKey: [String: [LayerVersionRecord]] = [:]
        // One range query per function in the list (a page is usually one function, or one version each).
        for (function, versions) in Dictionary(grouping: records, by: \.functionName) {
            let numbers = versions.map(\.version)
            let rows = try Row.fetchAll(db, sql: """
                SELECT vl.version AS owner, lv.* FROM version_layers vl
                JOIN layer_versions lv ON lv.layer_name = vl.layer_name AND lv.version = vl.layer_version
                WHERE vl.function_name = ? AND vl.version BETWEEN ? AND ? ORDER BY vl.version, vl.position
                """, arguments: [function, numbers.min()!, numbers.max()!])
            for row in rows {
                layersByKey["\(function):\(row["owner"] as Int)", default: []].append(try LayerVersionRecord(row: row))
            }
        }
        return records.map {
            configuration($0, layers: layersByKey["\($0.functionName):\($0.version)"] ?? [], arnQualifier: arnQualifier($0))
        }
    }

    func configuration(_ record: VersionRecord, layers: [LayerVersionRecord], arnQualifier: String?) -> FunctionConfiguration {
        FunctionConfiguration(
            FunctionName: record.functionName,
            FunctionArn: arn.functionArn(record.functionName, qualifier: arnQualifier),
            Runtime: record.runtime, Role: record.role, Handler: record.handler, CodeSize: record.codeSize,
            Description: record.description, Timeout: record.timeout, MemorySize: record.memorySize,
            LastModified: record.lastModified, CodeSha256: CodeHash.base64(fromHex: record.codeSha256),
            Version: AliasTarget.versionText(record.version),
            Environment: record.environmentVariables.map { EnvironmentResponse(Variables: $0) },
            RevisionId: record.revisionId,
            Layers: layers.isEmpty ? nil : layers.map {
                LayerReference(Arn: arn.layerVersionArn($0.layerName, version: $0.version), CodeSize: $0.codeSize)
            },
            Architectures: [record.architecture])
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

    func purgeLayerVersionIfUnused(_ db: Database, _ layer: LayerVersionRecord, _ effects: inout WriteEffects) throws {
        let used = try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM version_layers WHERE layer_name = ? AND layer_version = ?)
            """, arguments: [layer.layerName, layer.version]) ?? true
        guard !used else { return }
        try layer.delete(db)
        try addUsage(db, codeSize: -layer.codeSize)
        try releaseBlobIfUnreferenced(db, layer.codeSha256, &effects)
    }
}

