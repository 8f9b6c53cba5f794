import Foundation
import NIOPosix
import RelctlCore
import RelctlPackages
import RelctlStorage
import RelctlStore

/// The SQLite registry as the server's `RegistryRecords`: each call runs on the server's store
/// threads (a write waits for fsync), never on an event loop or the cooperative pool — the same
/// threads `AppRequestContext.store` uses, so moving a route onto the records changes nothing on SQLite.
struct ThreadedRecords: RegistryRecords {
    let registry: Registry
    let threads: NIOThreadPool

    func run<T: Sendable>(_ body: @escaping @Sendable (Registry) throws -> T) async throws(RelctlError) -> T {
        let registry = registry
        do {
            return try await threads.runIfActive { try body(registry) }
        } catch let error as RelctlError {
            throw error
        } catch {
            throw RelctlError(.service, "The registry call failed: \(error)")
        }
    }

    /// A write with code: the zip is checked and staged on the store threads; with a bucket it is then uploaded by
    /// the async client (`Registry.uploadAhead`), so no store thread waits for the upload, and `write` records it
    /// on the store threads again. Without a bucket, one trip to the threads like any other call.
    func run<T: Sendable>(
        staging inspect: @escaping @Sendable (BlobStore) throws -> InspectedPackage,
        _ write: @escaping @Sendable (Registry, InspectedPackage) throws -> T
    ) async throws(RelctlError) -> T {
        guard registry.remoteCode != nil else { return try await run { try write($0, try inspect($0.blobs)) } }
        let inspected = try await run { try inspect($0.blobs) }
        let uploaded = try await registry.uploadAhead(inspected)
        return try await run { try write($0, uploaded) }
    }

    func scopedRecords(region: String, actor: String) -> any RegistryRecords {
        ThreadedRecords(registry: registry.scoped(region: region, actor: actor), threads: threads)
    }

    func createFunction(
        name: String, settings: FunctionSettings, zip: Data, publish: Bool, tags: [String: String], settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try await run(staging: { try $0.inspectAndStage(zip) }) {
            try $0.createFunction(
                name: name, settings: settings, code: $1, publish: publish, tags: tags, settle: settle)
        }
    }

    func updateFunctionCode(
        _ function: FunctionReference, zip: Data, expectedRevisionId: String?, publish: Bool, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try await run(staging: { try $0.inspectAndStage(zip) }) {
            try $0.updateFunctionCode(
                function, code: $1, expectedRevisionId: expectedRevisionId, publish: publish, settle: settle)
        }
    }

    func publishVersion(name: String, description: String?) async throws(RelctlError) -> Int {
        try await registry.publishVersion(name: name, description: description)
    }

    func createAlias(
        function: String, name: String, functionVersion: String, additionalVersionWeights: [String: Double],
        description: String
    ) async throws(RelctlError) -> AliasConfiguration {
        try await run {
            try $0.createAlias(
                function: function, name: name, functionVersion: functionVersion,
                additionalVersionWeights: additionalVersionWeights, description: description)
        }
    }

    func updateAlias(
        function: String, name: String, functionVersion: String?, additionalVersionWeights: [String: Double]?,
        description: String?, expectedRevisionId: String?, cause: String
    ) async throws(RelctlError) -> AliasConfiguration {
        try await run {
            try $0.updateAlias(
                function: function, name: name, functionVersion: functionVersion,
                additionalVersionWeights: additionalVersionWeights, description: description,
                expectedRevisionId: expectedRevisionId, cause: cause)
        }
    }

    func resolveInvocation(_ function: FunctionReference) async throws(RelctlError) -> InvocationTarget {
        try await run { try $0.invocationTarget(function) }
    }

    func getAlias(function: String, name: String) async throws(RelctlError) -> AliasConfiguration {
        try await run { try $0.getAlias(function: function, name: name) }
    }

    func aliasMoves(function: String, alias: String, limit: Int) async throws(RelctlError) -> [AliasMove] {
        try await registry.aliasMoves(function: function, alias: alias, limit: limit)
    }

    func deployment(id: String) async throws(RelctlError) -> Deployment {
        try await run { try $0.deployment(id: id) }
    }

    func deploymentEvents(id: String, after afterId: Int64) async throws(RelctlError) -> [DeploymentEventEntry] {
        try await run { try $0.deploymentEvents(id: id, after: afterId) }
    }

    func putAlarm(_ definition: AlarmDefinition) async throws(RelctlError) {
        try await run { _ = try $0.putAlarm(definition) }
    }

    func getFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionConfiguration {
        try await run { try $0.getFunction(function) }
    }

    func functionPage(
        allVersions: Bool, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        try await run {
            let page = try $0.listFunctions(allVersions: allVersions, marker: marker, maxItems: maxItems)
            return RecordPage(items: page.items, nextMarker: page.nextMarker)
        }
    }

    func versionPage(
        _ function: FunctionReference, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        try await run {
            let page = try $0.listVersions(function, marker: marker, maxItems: maxItems)
            return RecordPage(items: page.items, nextMarker: page.nextMarker)
        }
    }

    func publishVersion(
        _ function: FunctionReference, description: String?, expectedCodeSha256: String?,
        expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try await run {
            try $0.publishVersion(
                function, description: description, expectedCodeSha256: expectedCodeSha256,
                expectedRevisionId: expectedRevisionId, settle: settle)
        }
    }

    func aliasPage(
        function: String, functionVersion: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<AliasConfiguration> {
        try await run {
            let page = try $0.listAliases(
                function: function, functionVersion: functionVersion, marker: marker, maxItems: maxItems)
            return RecordPage(items: page.items, nextMarker: page.nextMarker)
        }
    }

    func deleteAlias(function: String, name: String) async throws(RelctlError) -> Bool {
        try await run { try $0.deleteAlias(function: function, name: name) }
    }

    func deleteFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionDeletion {
        try await run { try $0.deleteFunction(function) }
    }

    func updateFunctionConfiguration(
        _ function: FunctionReference, _ update: ConfigurationUpdate, expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try await run {
            try $0.updateFunctionConfiguration(function, update, expectedRevisionId: expectedRevisionId, settle: settle)
        }
    }

    func accountSettings() async throws(RelctlError) -> AccountSettings {
        try await run { try $0.accountSettings() }
    }

    func quotaReport(top: Int) async throws(RelctlError) -> QuotaReport {
        try await run { try $0.quotaReport(top: top) }
    }

    func setQuota(_ bytes: Int64) async throws(RelctlError) {
        try await run { try $0.setQuota(bytes) }
    }

    func putFunctionConcurrency(_ function: String, reserved: Int?) async throws(RelctlError) -> Int? {
        try await run { try $0.putFunctionConcurrency(function, reserved: reserved) }
    }

    func reservedConcurrency(_ function: String) async throws(RelctlError) -> Int? {
        try await run { try $0.reservedConcurrency(function) }
    }

    func tags(of function: String) async throws(RelctlError) -> [String: String] {
        try await run { try $0.tags(of: function) }
    }

    func tagFunction(_ function: String, _ tags: [String: String]) async throws(RelctlError) {
        try await run { try $0.tagFunction(function, tags) }
    }

    func untagFunction(_ function: String, keys: [String]) async throws(RelctlError) {
        try await run { try $0.untagFunction(function, keys: keys) }
    }

    func history(function: String, alias: String?, limit: Int) async throws(RelctlError) -> [HistoryEntry] {
        try await run { try $0.history(function: function, alias: alias, limit: limit) }
    }

    func listDeployments(
        function: String?, status: DeploymentStatus?, limit: Int
    ) async throws(RelctlError) -> [Deployment] {
        try await run { try $0.listDeployments(function: function, status: status, limit: limit) }
    }

    // MARK: Resource policies and provisioned concurrency

    func addPermission(
        _ function: FunctionReference, _ grant: PermissionGrant, expectedRevisionId: String?
    ) async throws(RelctlError) -> String {
        try await run { try $0.addPermission(function, grant, expectedRevisionId: expectedRevisionId) }
    }

    func getPolicy(_ function: FunctionReference) async throws(RelctlError) -> (policy: String, revisionId: String) {
        try await run { try $0.getPolicy(function) }
    }

    func removePermission(
        _ function: FunctionReference, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError) {
        try await run {
            try $0.removePermission(function, statementId: statementId, expectedRevisionId: expectedRevisionId)
        }
    }

    func putProvisionedConcurrency(
        _ function: String, qualifier: Qualifier, executions: Int
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try await run { try $0.putProvisionedConcurrency(function, qualifier: qualifier, executions: executions) }
    }

    func provisionedConcurrency(
        _ function: String, qualifier: Qualifier
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig {
        try await run { try $0.provisionedConcurrency(function, qualifier: qualifier) }
    }

    func provisionedConcurrencyPage(
        _ function: String, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<ProvisionedConcurrencyConfig> {
        try await run { try $0.provisionedConcurrencies(function, marker: marker, maxItems: maxItems).records }
    }

    func deleteProvisionedConcurrency(_ function: String, qualifier: Qualifier) async throws(RelctlError) {
        try await run { try $0.deleteProvisionedConcurrency(function, qualifier: qualifier) }
    }

    // MARK: - Layers

    /// The zip is checked while it is staged in the blob store (as the SQLite routes stage packages), on the
    /// store threads.
    func publishLayerVersion(
        name: String, zip: Data, description: String, compatibleRuntimes: [String], compatibleArchitectures: [String],
        licenseInfo: String?
    ) async throws(RelctlError) -> LayerVersion {
        try await run(staging: { try $0.inspectAndStage(zip, zippedLimit: Limits.codeSizeZipped) }) {
            try $0.publishLayerVersion(
                name: name, code: $1, description: description, compatibleRuntimes: compatibleRuntimes,
                compatibleArchitectures: compatibleArchitectures, licenseInfo: licenseInfo)
        }
    }

    func getLayerVersion(name: String, version: Int) async throws(RelctlError) -> LayerVersion {
        try await run { try $0.getLayerVersion(name: name, version: version) }
    }

    func layerVersionPage(
        name: String, compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerVersion> {
        let page = try await run {
            try $0.listLayerVersions(
                name: name, compatibleRuntime: compatibleRuntime, compatibleArchitecture: compatibleArchitecture,
                marker: marker, maxItems: maxItems)
        }
        return RecordPage(items: page.items, nextMarker: page.nextMarker)
    }

    func layerPage(
        compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerSummary> {
        let page = try await run {
            try $0.listLayers(
                compatibleRuntime: compatibleRuntime, compatibleArchitecture: compatibleArchitecture, marker: marker,
                maxItems: maxItems)
        }
        return RecordPage(items: page.items, nextMarker: page.nextMarker)
    }

    func deleteLayerVersion(name: String, version: Int) async throws(RelctlError) -> Bool {
        try await run { try $0.deleteLayerVersion(name: name, version: version) }
    }

    func addLayerVersionPermission(
        layer name: String, version: Int, statementId: String, action: String, principal: String,
        organizationId: String?, expectedRevisionId: String?
    ) async throws(RelctlError) -> (statement: String, revisionId: String) {
        try await run {
            try $0.addLayerVersionPermission(
                layer: name, version: version, statementId: statementId, action: action, principal: principal,
                organizationId: organizationId, expectedRevisionId: expectedRevisionId)
        }
    }

    func getLayerVersionPolicy(
        layer name: String, version: Int
    ) async throws(RelctlError) -> (policy: String, revisionId: String) {
        try await run { try $0.getLayerVersionPolicy(layer: name, version: version) }
    }

    func removeLayerVersionPermission(
        layer name: String, version: Int, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError) {
        try await run {
            try $0.removeLayerVersionPermission(
                layer: name, version: version, statementId: statementId, expectedRevisionId: expectedRevisionId)
        }
    }

    func usedCode(_ sha256Hex: String) async throws(RelctlError) -> Data? {
        try await run { try $0.isReadableCode(sha256Hex) ? $0.blobs.read(sha256Hex) : nil }
    }

    // MARK: - The remaining commands on --database (K)
    func deleteAlarm(name: String) async throws(RelctlError) -> Bool {
        try await run { try $0.deleteAlarm(name: name) }
    }
}
