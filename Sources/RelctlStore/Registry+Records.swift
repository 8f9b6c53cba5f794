import Foundation
import GRDB
import RelctlCore
import RelctlPackages
import RelctlStorage

// The SQLite registry as `RegistryRecords` (the protocol PostgreSQL implements too). createAlias,
// updateAlias, getAlias, deployment(id:), deploymentEvents and putAlarm are the registry's own methods.
extension Registry: RegistryRecords {
    public func createFunction(
        name: String, settings: FunctionSettings, zip: Data, publish: Bool, tags: [String: String], settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        let package = try PackageInspector.inspect(zip)
        return try createFunction(
            name: name, settings: settings, code: package, publish: publish, tags: tags, settle: settle)
    }

    public func updateFunctionCode(
        _ function: FunctionReference, zip: Data, expectedRevisionId: String?, publish: Bool, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try updateFunctionCode(
            function, code: try PackageInspector.inspect(zip), expectedRevisionId: expectedRevisionId,
            publish: publish, settle: settle)
    }

    public func publishVersion(name: String, description: String?) async throws(RelctlError) -> Int {
        let published = try publishVersion(FunctionReference(name: name), description: description)
        return Int(published.Version) ?? 0
    }

    public func aliasMoves(function: String, alias: String, limit: Int) async throws(RelctlError) -> [AliasMove] {
        try read { db in
            try AliasMoveRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM alias_moves WHERE function_name = ? AND alias_name = ? ORDER BY id DESC LIMIT ?
                    """, arguments: [function, alias, limit]
            )
            .map { AliasMove(id: $0.id ?? 0, at: $0.at, actor: $0.actor, cause: $0.cause, from: $0.from, to: $0.to) }
        }
    }
}

// The Lambda API's records: getFunction, publishVersion(_:…) and deleteAlias are the registry's own methods,
// and so are deleteFunction, updateFunctionConfiguration, accountSettings, quotaReport, setQuota, tags, tagFunction,
// untagFunction, history and listDeployments (their synchronous forms answer the async requirements).
extension Registry {
    public func scopedRecords(region: String, actor: String) -> any RegistryRecords {
        scoped(region: region, actor: actor)
    }

    public func functionPage(
        allVersions: Bool, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        let page = try listFunctions(allVersions: allVersions, marker: marker, maxItems: maxItems)
        return RecordPage(items: page.items, nextMarker: page.nextMarker)
    }

    public func versionPage(
        _ function: FunctionReference, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        let page = try listVersions(function, marker: marker, maxItems: maxItems)
        return RecordPage(items: page.items, nextMarker: page.nextMarker)
    }

    public func aliasPage(
        function: String, functionVersion: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<AliasConfiguration> {
        let page = try listAliases(
            function: function, functionVersion: functionVersion, marker: marker, maxItems: maxItems)
        return RecordPage(items: page.items, nextMarker: page.nextMarker)
    }
}

// MARK: - Resource policies and provisioned concurrency (issue 10 §1, §5)
// addPermission, getPolicy, removePermission, putProvisionedConcurrency, provisionedConcurrency and
// deleteProvisionedConcurrency are the registry's own methods (Policies.swift, ProvisionedConcurrency.swift).
extension Registry {
    public func provisionedConcurrencyPage(
        _ function: String, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<ProvisionedConcurrencyConfig> {
        try provisionedConcurrencies(function, marker: marker, maxItems: maxItems).records
    }
}

extension Registry.Page {
    /// The same page as `RegistryRecords` answers it.
    public var records: RecordPage<Item> { RecordPage(items: items, nextMarker: nextMarker) }
}

// MARK: - Layers: getLayerVersion, deleteLayerVersion and the layer-version permissions are the registry's own
// methods (Layers.swift, Policies.swift).
extension Registry {
    public func publishLayerVersion(
        name: String, zip: Data, description: String, compatibleRuntimes: [String], compatibleArchitectures: [String],
        licenseInfo: String?
    ) async throws(RelctlError) -> LayerVersion {
        try publishLayerVersion(
            name: name, code: try PackageInspector.inspect(zip), description: description,
            compatibleRuntimes: compatibleRuntimes, compatibleArchitectures: compatibleArchitectures,
            licenseInfo: licenseInfo)
    }

    public func layerVersionPage(
        name: String, compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerVersion> {
        let page = try listLayerVersions(
            name: name, compatibleRuntime: compatibleRuntime, compatibleArchitecture: compatibleArchitecture,
            marker: marker, maxItems: maxItems)
        return RecordPage(items: page.items, nextMarker: page.nextMarker)
    }

    public func layerPage(
        compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerSummary> {
        let page = try listLayers(
            compatibleRuntime: compatibleRuntime, compatibleArchitecture: compatibleArchitecture, marker: marker,
            maxItems: maxItems)
        return RecordPage(items: page.items, nextMarker: page.nextMarker)
    }

    public func usedCode(_ sha256Hex: String) async throws(RelctlError) -> Data? {
        try isReadableCode(sha256Hex) ? blobs.read(sha256Hex) : nil
    }
}
