import Foundation
import GRDB
import RelctlCore
import RelctlPackages

struct FunctionRecord: SnakeCaseRecord {
    static let databaseTableName = "functions"
    var name: String
    var createdAt: String
    var highestVersion: Int
    var changedSincePublish: Bool
    var reservedConcurrency: Int?
}

extension Registry {
    /// CreateFunction. With `publish`, version 1 is published in the same transaction. With `settle`
    /// seconds (the API server's `--settle`), the function is `Pending` until `settleTransition`.
    public func createFunction(
        name: String, settings: FunctionSettings, code package: InspectedPackage, publish: Bool = false,
        tags: [String: String] = [:],
        settle: Double? = nil
    ) throws(RelctlError) -> FunctionConfiguration {
        try FunctionReference.validateName(name)
        try settings.validate()
        try Self.validateTags(tags)
        try requireLayersInRegion(settings.layers)
        return try write(staging: package) { db, effects, staged in
            if try db.functionExists(name) {
                throw RelctlError(.resourceConflict, "Function already exist: \(name)")
            }
            let layers = try resolveLayers(db, settings.layers)
            try requireUnzippedFits(code: package.unzippedSize, layers: layers)
            try requireQuota(db, adding: package.size * (publish ? 2 : 1))
            try installBlob(db, staged!)
            let at = now
            try FunctionRecord(
                name: name, createdAt: at, highestVersion: 0, changedSincePublish: true, reservedConcurrency: nil
            ).insert(db)
            var latest = VersionRecord(
                functionName: name, version: AliasTarget.latestVersionNumber, codeSha256: package.sha256Hex,
                codeSize: package.size, unzippedSize: package.unzippedSize, runtime: nil, handler: nil, role: "",
                description: "", memorySize: 0, timeout: 0, environment: nil, architecture: "x86_64",
                lastModified: at, revisionId: Registry.newRevisionId())
            latest.apply(settings)
            try latest.insert(db)
            try setLayers(db, function: name, version: latest.version, layers)
            try addUsage(db, codeSize: package.size)
            for (key, value) in tags { try FunctionTagRecord(functionName: name, key: key, value: value).insert(db) }
            try beginTransition(db, name, kind: "create", settle: settle)
            let configuration = try configuration(db, latest, arnQualifier: nil)
            try audit(db, "CreateFunction", function: name, resource: arn.functionArn(name), after: configuration)
            if publish {
                var published = try publishLatest(db, name, description: nil)
                // AWS answers CreateFunction(Publish) with the unqualified ARN and Version "1".
                published.FunctionArn = arn.functionArn(name)
                Self.applyState((settle ?? 0) > 0 ? "create" : nil, to: &published)
                return published
            }
            return configuration
        }
    }

    /// UpdateFunctionCode: new code for `$LATEST`; with `publish`, also publishes it.
    public func updateFunctionCode(
        _ function: FunctionReference, code package: InspectedPackage, expectedRevisionId: String? = nil,
        publish: Bool = false,
        settle: Double? = nil
    ) throws(RelctlError) -> FunctionConfiguration {
        try requireUnqualified(function)
        return try write(staging: package) { db, effects, staged in
            var function = try requireFunction(db, function.name)
            try requireSettled(db, function.name, settle: settle)
            var latest = try latest(db, function.name)
            if let expectedRevisionId, expectedRevisionId != latest.revisionId { throw RelctlError.revisionMismatch }
            try requireUnzippedFits(code: package.unzippedSize, layers: try layers(db, of: function.name, version: 0))
            try requireQuota(db, adding: package.size - latest.codeSize + (publish ? package.size : 0))
            try installBlob(db, staged!)
            let before = try configuration(db, latest, arnQualifier: nil)
            let oldHash = latest.codeSha256
            try addUsage(db, codeSize: package.size - latest.codeSize)
            latest.codeSha256 = package.sha256Hex
            latest.codeSize = package.size
            latest.unzippedSize = package.unzippedSize
            latest.lastModified = now
            latest.revisionId = Registry.newRevisionId()
            try latest.update(db)
            function.changedSincePublish = true
            try function.update(db)
            try releaseBlobIfUnreferenced(db, oldHash, &effects)
            try beginTransition(db, function.name, kind: "update", settle: settle)
            let after = try configuration(db, latest, arnQualifier: nil)
            try audit(
                db, "UpdateFunctionCode", function: function.name, resource: after.FunctionArn, before: before,
                after: after)
            return publish ? try publishLatest(db, function.name, description: nil) : after
        }
    }

    /// UpdateFunctionConfiguration: only the fields set in `update` change.
    public func updateFunctionConfiguration(
        _ function: FunctionReference, _ update: ConfigurationUpdate, expectedRevisionId: String? = nil,
        settle: Double? = nil
    ) throws(RelctlError) -> FunctionConfiguration {
        try requireUnqualified(function)
        return try write { db, effects in
            var record = try requireFunction(db, function.name)
            try requireSettled(db, function.name, settle: settle)
            var latest = try latest(db, function.name)
            if let expectedRevisionId, expectedRevisionId != latest.revisionId { throw RelctlError.revisionMismatch }
            var settings = latest.settings
            settings.layers = try layers(db, of: function.name, version: 0).map {
                arn.layerVersionArn($0.layerName, version: $0.version)
            }
            settings = update.applied(to: settings)
            try settings.validate()
            let before = try configuration(db, latest, arnQualifier: nil)
            if let layerArns = update.layers {
                let layers = try resolveLayers(db, layerArns)
                try requireUnzippedFits(code: latest.unzippedSize, layers: layers)
                let previous = try self.layers(db, of: function.name, version: 0)
                try setLayers(db, function: function.name, version: 0, layers)
                for layer in previous where layer.deleted { try purgeLayerVersionIfUnused(db, layer, &effects) }
            }
            latest.apply(settings)
            latest.lastModified = now
            latest.revisionId = Registry.newRevisionId()
            try latest.update(db)
            record.changedSincePublish = true
            try record.update(db)
            try beginTransition(db, function.name, kind: "update", settle: settle)
            let after = try configuration(db, latest, arnQualifier: nil)
            try audit(
                db, "UpdateFunctionConfiguration", function: function.name, resource: after.FunctionArn, before: before,
                after: after)
            return after
        }
    }

    /// GetFunctionConfiguration: `$LATEST` (unqualified ARN), `:$LATEST`, a version, or an alias's version under the alias ARN.
    public func getFunction(_ function: FunctionReference) throws(RelctlError) -> FunctionConfiguration {
        try read { db in
            let (record, qualifier) = try resolve(db, function)
            return try configuration(db, record, arnQualifier: qualifier)
        }
    }

    /// The version a reference names, and the qualifier its ARN shows.
    func resolve(_ db: Database, _ function: FunctionReference) throws -> (VersionRecord, String?) {
        try requireAccount(function)
        let qualifiedArn = arn.functionArn(function.name, qualifier: function.qualifier?.description)
        switch function.qualifier {
        case nil:
            return (try latest(db, function.name), nil)
        case .latest:
            return (try latest(db, function.name), "$LATEST")
        case .version(let number):
            guard let record = try version(db, function.name, number) else {
                throw RelctlError.functionNotFound(qualifiedArn)
            }
            return (record, String(number))
        case .alias(let name):
            guard let alias = try AliasRecord.fetchOne(db, key: ["function_name": function.name, "name": name]),
                let record = try version(db, function.name, alias.functionVersion)
            else { throw RelctlError.functionNotFound(qualifiedArn) }
            return (record, name)
        }
    }

    func requireAccount(_ function: FunctionReference) throws {
        if let account = function.account, account != arn.account {
            throw RelctlError.functionNotFound(
                "arn:aws:lambda:\(arn.region):\(account):function:\(function.name)")
        }
    }

    func requireUnqualified(_ function: FunctionReference) throws(RelctlError) {
        if let qualifier = function.qualifier, qualifier != .latest {
            throw RelctlError(
                .invalidParameterValue,
                "\(function.name):\(qualifier) is qualified; only $LATEST can be updated (published versions are immutable)."
            )
        }
    }

    /// One page of a list, with the marker for the next page.
    public struct Page<Item: Sendable>: Sendable {
        public var items: [Item]
        public var nextMarker: String?
    }

    /// ListFunctions: `$LATEST` of each function, or every version with `allVersions`.
    public func listFunctions(
        allVersions: Bool = false, marker: String? = nil, maxItems: Int? = nil
    ) throws(RelctlError) -> Page<FunctionConfiguration> {
        let limit = try pageSize(maxItems, max: 10_000)
        let (afterName, afterVersion) = try Self.functionMarker(marker)
        return try read { db in
            let records = try VersionRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM versions
                    WHERE (function_name, version) > (?, ?) \(allVersions ? "" : "AND version = 0")
                    ORDER BY function_name, version LIMIT ?
                    """, arguments: [afterName, afterVersion, limit + 1])
            let page = records.prefix(limit)
            let items = try configurations(db, page, listItems: true) {
                allVersions ? AliasTarget.versionText($0.version) : nil
            }
            let next = records.count > limit ? page.last.map { "\($0.functionName):\($0.version)" } : nil
            return Page(items: items, nextMarker: next)
        }
    }

    static func functionMarker(_ marker: String?) throws(RelctlError) -> (String, Int) {
        guard let marker else { return ("", -1) }
        let parts = marker.split(separator: ":")
        guard parts.count == 2, let version = Int(parts[1]) else {
            throw RelctlError(
                .invalidParameterValue, "Invalid marker '\(marker)': pass the NextMarker of the previous page.")
        }
        return (String(parts[0]), version)
    }

    func pageSize(_ maxItems: Int?, max: Int) throws(RelctlError) -> Int {
        guard let maxItems else { return max }
        guard (1...max).contains(maxItems) else {
            throw .validation(
                value: String(maxItems), field: "maxItems", constraint: "Member must have value between 1 and \(max)")
        }
        return maxItems
    }

    /// ListVersionsByFunction: `$LATEST`, then versions ascending.
    public func listVersions(
        _ function: FunctionReference, marker: String? = nil, maxItems: Int? = nil
    ) throws(RelctlError) -> Page<FunctionConfiguration> {
        let limit = try pageSize(maxItems, max: Int.max / 2)
        let after: Int
        if let marker {
            guard let number = Int(marker), number >= 0 else {
                throw RelctlError(
                    .invalidParameterValue, "Invalid marker '\(marker)': pass the NextMarker of the previous page.")
            }
            after = number
        } else {
            after = -1
        }
        return try read { db in
            _ = try requireFunction(db, function.name)
            let records =
                try VersionRecord
                .filter(VersionRecord.Columns.functionName == function.name && VersionRecord.Columns.version > after)
                .order(VersionRecord.Columns.version)
                .limit(limit + 1)
                .fetchAll(db)
            let page = records.prefix(limit)
            let items = try configurations(db, page, listItems: true) { AliasTarget.versionText($0.version) }
            return Page(items: items, nextMarker: records.count > limit ? page.last.map { String($0.version) } : nil)
        }
    }

    /// What DeleteFunction did (the same value on every engine).
    public typealias Deletion = FunctionDeletion

    /// DeleteFunction: the whole function (aliases, versions, `$LATEST`), or one version.
    @discardableResult
    public func deleteFunction(_ function: FunctionReference) throws(RelctlError) -> Deletion {
        switch function.qualifier {
        case .latest:
            throw RelctlError(
                .invalidParameterValue, "$LATEST version cannot be deleted without deleting the function.")
        case .alias(let name) where !name.allSatisfy(\.isNameCharacter):
            // `$latest`, `$LATES`: the qualifier pattern allows `$`, alias names do not, so it names
            // nothing: AWS's "not found" with the qualifier as given (once the function exists).
            try read { db in
                try requireAccount(function)
                _ = try requireFunction(db, function.name)
            }
            throw RelctlError.functionNotFound(arn.functionArn(function.name, qualifier: name))
        case .alias:
            throw RelctlError(.invalidParameterValue, "Deletion of aliases is not currently supported.")
        case .version, nil:
            break
        }
        return try write { db, effects in
            try requireAccount(function)
            let record = try requireFunction(db, function.name)
            if case .version(let number) = function.qualifier {
                guard let version = try version(db, function.name, number) else { return .nothing }
                let referencing = try String.fetchAll(
                    db,
                    sql: """
                        SELECT name FROM aliases WHERE function_name = ?1 AND (function_version = ?2 OR additional_version = ?2) ORDER BY name
                        """, arguments: [function.name, number])
                guard referencing.isEmpty else {
                    throw RelctlError(
                        .resourceConflict,
                        "Unable to delete version because the following aliases reference it: [\(referencing.joined(separator: ", "))]"
                    )
                }
                if let deployments = try versionsInDeployments(db)["\(function.name):\(number)"] {
                    throw RelctlError(
                        .resourceConflict,
                        "Unable to delete version because an active deployment references it: \(deployments.joined(separator: ", ")); stop it or let it finish first."
                    )
                }
                let before = try configuration(db, version, arnQualifier: String(number))
                try deleteVersionRow(db, version, &effects)
                try audit(db, "DeleteFunction", function: function.name, resource: before.FunctionArn, before: before)
                return .version(number)
            }
            for deployment in try activeDeployments(db) where deployment.functionName == function.name {
                throw RelctlError(
                    .resourceConflict,
                    "Function \(function.name) has an active deployment (\(deployment.id)); stop it or let it finish before deleting the function."
                )
            }
            let aliasCount = try AliasRecord.filter(Column("function_name") == function.name).deleteAll(db)
            let versions = try VersionRecord.filter(VersionRecord.Columns.functionName == function.name)
                .order(VersionRecord.Columns.version.desc).fetchAll(db)
            let before = try configuration(db, versions.last!, arnQualifier: nil)
            for version in versions { try deleteVersionRow(db, version, &effects) }
            try record.delete(db)
            try audit(
                db, "DeleteFunction", function: function.name, resource: arn.functionArn(function.name), before: before)
            return .function(versions: versions.count - 1, aliases: aliasCount)
        }
    }
}

// MARK: - Inside a transaction

extension Registry {
    func requireFunction(_ db: Database, _ name: String) throws -> FunctionRecord {
        guard let function = try FunctionRecord.fetchOne(db, key: name) else {
            throw RelctlError.functionNotFound(arn.functionArn(name))
        }
        return function
    }

    func latest(_ db: Database, _ function: String) throws -> VersionRecord {
        guard let latest = try version(db, function, AliasTarget.latestVersionNumber) else {
            throw RelctlError.functionNotFound(arn.functionArn(function))
        }
        return latest
    }

    /// `qualifier` is what the ARN ends with: nil for the unqualified ARN.
    /// One configuration as a single read shows it: `$LATEST` with its state fields.
    func configuration(_ db: Database, _ record: VersionRecord, arnQualifier: String?) throws -> FunctionConfiguration {
        var configuration = configuration(
            record, layers: try layers(db, of: record.functionName, version: record.version), arnQualifier: arnQualifier
        )
        if record.version == AliasTarget.latestVersionNumber { try applyState(db, to: &configuration) }
        return configuration
    }

    /// Many configurations with one layer query, for lists.
    /// `listItems`: as list answers show them (`FunctionConfiguration.listItem`), made so at once rather than
    /// copied and cleared: ListVersionsByFunction of a million versions is mostly this.
    func configurations(
        _ db: Database, _ records: some Collection<VersionRecord>, listItems: Bool = false,
        arnQualifier: (VersionRecord) -> String?
    ) throws -> [FunctionConfiguration] {
        var layersByVersion: [String: [Int: [LayerVersionRecord]]] = [:]
        // One range query per function in the list (a page is usually one function, or one version each).
        var ranges: [String: ClosedRange<Int>] = [:]
        for record in records {
            let range = ranges[record.functionName]
            ranges[record.functionName] =
                range.map { min($0.lowerBound, record.version)...max($0.upperBound, record.version) }
                ?? record.version...record.version
        }
        for (function, range) in ranges {
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT vl.version AS owner, lv.* FROM version_layers vl
                    JOIN layer_versions lv ON lv.layer_name = vl.layer_name AND lv.version = vl.layer_version
                    WHERE vl.function_name = ? AND vl.version BETWEEN ? AND ? ORDER BY vl.version, vl.position
                    """, arguments: [function, range.lowerBound, range.upperBound])
            for row in rows {
                layersByVersion[function, default: [:]][row["owner"] as Int, default: []].append(
                    try LayerVersionRecord(row: row))
            }
        }
        // Versions of one function mostly share their code: each hash is turned into base64 once.
        var base64: [String: String] = [:]
        var result: [FunctionConfiguration] = []
        result.reserveCapacity(records.count)
        for record in records {
            let hash: String
            if let known = base64[record.codeSha256] {
                hash = known
            } else {
                hash = CodeHash.base64(fromHex: record.codeSha256)
                base64[record.codeSha256] = hash
            }
            result.append(
                configuration(
                    record, layers: layersByVersion[record.functionName]?[record.version] ?? [],
                    arnQualifier: arnQualifier(record), codeSha256: hash, listItem: listItems))
        }
        return result
    }

    func configuration(
        _ record: VersionRecord, layers: [LayerVersionRecord], arnQualifier: String?, codeSha256: String? = nil,
        listItem: Bool = false
    ) -> FunctionConfiguration {
        var configuration = FunctionConfiguration(
            FunctionName: record.functionName,
            FunctionArn: arn.functionArn(record.functionName, qualifier: arnQualifier),
            Runtime: record.runtime, Role: record.role, Handler: record.handler, CodeSize: record.codeSize,
            Description: record.description, Timeout: record.timeout, MemorySize: record.memorySize,
            LastModified: record.lastModified, CodeSha256: codeSha256 ?? CodeHash.base64(fromHex: record.codeSha256),
            Version: AliasTarget.versionText(record.version),
            Environment: record.environmentVariables.map { EnvironmentResponse(Variables: $0) },
            RevisionId: record.revisionId,
            Layers: layers.isEmpty
                ? nil
                : layers.map {
                    LayerReference(Arn: arn.layerVersionArn($0.layerName, version: $0.version), CodeSize: $0.codeSize)
                },
            Architectures: [record.architecture])
        configuration.LoggingConfig = FunctionSettings.effectiveLoggingConfig(
            record.settings.loggingConfig, functionName: record.functionName)
        configuration.EphemeralStorage = EphemeralStorage(Size: record.ephemeralStorageSize ?? 512)
        configuration.TracingConfig = TracingConfig(Mode: record.tracingMode ?? "PassThrough")
        if listItem {
            configuration.State = nil
            configuration.LastUpdateStatus = nil
            return configuration
        }
        configuration.RuntimeVersionConfig = record.runtime.map {
            RuntimeVersionConfig(RuntimeVersionArn: runtimeVersionArn($0))
        }
        return configuration
    }

    /// The RuntimeVersionArn AWS reports (`arn:aws:lambda:REGION::runtime:<64 hex>`): one per runtime
    /// identifier here, since relctl runs the runtime the machine has.
    func runtimeVersionArn(_ runtime: String) -> String {
        "arn:aws:lambda:\(arn.region)::runtime:\(CodeHash.hex(of: Data("relctl:\(runtime)".utf8)))"
    }
}
