import Foundation
import RelctlCore

/// The registry records every engine keeps — functions, versions, aliases and their history,
/// deployments as recorded, alarms — as one async protocol, so the same code (tests first, the server
/// later) runs on SQLite and on PostgreSQL. The start of issue 9 §1's registry-records protocol: only
/// what the rollout engine's callers need so far; each method is one transaction.
public protocol RegistryRecords: Sendable {
    /// CreateFunction from a zip package (validated by the engine); `$LATEST` is version 0. `publish` freezes
    /// version 1 in the same transaction and answers it under the unqualified ARN, as AWS does; `tags` are
    /// stored with the function; `settle` > 0 answers Pending (engines that settle at once ignore it).
    func createFunction(
        name: String, settings: FunctionSettings, zip: Data, publish: Bool, tags: [String: String], settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration
    /// UpdateFunctionCode of `$LATEST` from a zip package: a RevisionId that is not `$LATEST`'s is refused;
    /// `publish` also publishes it (the answer is then the new version).
    func updateFunctionCode(
        _ function: FunctionReference, zip: Data, expectedRevisionId: String?, publish: Bool, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration
    /// PublishVersion: `$LATEST` frozen as the next number (never reused), or the last number when nothing changed.
    func publishVersion(name: String, description: String?) async throws(RelctlError) -> Int

    func createAlias(
        function: String, name: String, functionVersion: String, additionalVersionWeights: [String: Double],
        description: String
    ) async throws(RelctlError) -> AliasConfiguration
    /// UpdateAlias: nil leaves a field as it is; `additionalVersionWeights: [:]` removes the routing;
    /// a RevisionId that is not the alias's current one is refused (PreconditionFailed).
    func updateAlias(
        function: String, name: String, functionVersion: String?, additionalVersionWeights: [String: Double]?,
        description: String?, expectedRevisionId: String?, cause: String
    ) async throws(RelctlError) -> AliasConfiguration
    func getAlias(function: String, name: String) async throws(RelctlError) -> AliasConfiguration
    /// An alias's moves, newest first.
    func aliasMoves(function: String, alias: String, limit: Int) async throws(RelctlError) -> [AliasMove]

    /// A deployment as last saved (ResourceNotFound when there is none).
    func deployment(id: String) async throws(RelctlError) -> Deployment
    /// A deployment's event log, oldest first, after `afterId`.
    func deploymentEvents(id: String, after afterId: Int64) async throws(RelctlError) -> [DeploymentEventEntry]

    /// PutMetricAlarm: creates or replaces an alarm (its state is kept when it already exists).
    func putAlarm(_ definition: AlarmDefinition) async throws(RelctlError)
    /// Invoke: resolves `name`, `name:version`, `name:alias` (or an ARN) to where the traffic goes and how
    /// each candidate version runs (`InvocationTarget`, which the runtime pool runs).
    func resolveInvocation(_ function: FunctionReference) async throws(RelctlError) -> InvocationTarget

    // The Lambda function/version/alias API (issue 10 §5: every server answers it from the shared engine).

    /// The same records answering in another region and recording another actor (the server makes
    /// one per request from the SigV4 scope and the access key).
    func scopedRecords(region: String, actor: String) -> any RegistryRecords
    /// GetFunctionConfiguration: `$LATEST` (unqualified ARN), `:$LATEST`, a version, or an alias's
    /// version under the alias ARN.
    func getFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionConfiguration
    /// ListFunctions: `$LATEST` of each function, by name (with `allVersions`, FunctionVersion=ALL: every
    /// version of each, `$LATEST` first, under qualified ARNs); the marker is the previous page's NextMarker.
    func functionPage(
        allVersions: Bool, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration>
    /// ListVersionsByFunction: `$LATEST`, then versions ascending.
    func versionPage(
        _ function: FunctionReference, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration>
    /// PublishVersion through the API: RevisionId and CodeSha256 of `$LATEST` checked when given;
    /// `settle` > 0 answers a new version as Pending, as AWS does (engines that settle at once ignore it).
    func publishVersion(
        _ function: FunctionReference, description: String?, expectedCodeSha256: String?,
        expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration
    /// ListAliases, by name; `functionVersion` keeps the aliases whose primary version it is.
    func aliasPage(
        function: String, functionVersion: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<AliasConfiguration>
    /// DeleteAlias: false when there was none (not an error, as on AWS); refused while a deployment shifts it.
    func deleteAlias(function: String, name: String) async throws(RelctlError) -> Bool

    // Issue 10 §1, §3: function deletes, configuration, tags, quota, history and deployment lists.

    /// DeleteFunction: the whole function (aliases, versions, `$LATEST`), or one version (refused while
    /// an alias or an active deployment references it). Rows go first; code objects no row names are
    /// left to the engine's collection (never deleted before the rows that name them).
    func deleteFunction(_ function: FunctionReference) async throws(RelctlError) -> FunctionDeletion
    /// UpdateFunctionConfiguration of `$LATEST`: only the fields set change; a stale RevisionId is refused.
    func updateFunctionConfiguration(
        _ function: FunctionReference, _ update: ConfigurationUpdate, expectedRevisionId: String?, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration
    /// GetAccountSettings: the limit and the usage as the quota counts it.
    func accountSettings() async throws(RelctlError) -> AccountSettings
    /// `relctl quota`: the account settings, the bytes stored after dedupe and the biggest consumers.
    func quotaReport(top: Int) async throws(RelctlError) -> QuotaReport
    /// Sets the code-storage limit (more than 0 bytes); below the current usage, new code is then refused.
    func setQuota(_ bytes: Int64) async throws(RelctlError)
    /// PutFunctionConcurrency (a number) / DeleteFunctionConcurrency (nil): the reservation, which at most
    /// leaves 100 of the account's concurrency unreserved. 0 throttles every invocation.
    @discardableResult
    func putFunctionConcurrency(_ function: String, reserved: Int?) async throws(RelctlError) -> Int?
    /// GetFunctionConcurrency: nil when the function has no reservation.
    func reservedConcurrency(_ function: String) async throws(RelctlError) -> Int?
    /// ListTags of a function (empty when it has none).
    func tags(of function: String) async throws(RelctlError) -> [String: String]
    /// TagResource: adds the tags, replacing the values of keys that exist (at most 50 in all).
    func tagFunction(_ function: String, _ tags: [String: String]) async throws(RelctlError)
    /// UntagResource: removes the keys (absent ones are ignored, as on AWS).
    func untagFunction(_ function: String, keys: [String]) async throws(RelctlError)
    /// An alias's moves, or (without an alias) a function's audited changes, newest first.
    func history(function: String, alias: String?, limit: Int) async throws(RelctlError) -> [HistoryEntry]
    /// Deployments, newest first, optionally of one function and in one status.
    func listDeployments(
        function: String?, status: DeploymentStatus?, limit: Int
    ) async throws(RelctlError) -> [Deployment]

    // MARK: Resource policies and provisioned concurrency (issue 10 §1, §5)

    /// AddPermission: a statement (validated) on the function, a version or an alias (each has a policy of
    /// its own; `$LATEST` has none); a statement id already there or a RevisionId that is not the
    /// policy's is refused. Returns the statement's JSON.
    func addPermission(
        _ function: FunctionReference, _ grant: PermissionGrant, expectedRevisionId: String?
    ) async throws(RelctlError) -> String
    /// GetPolicy: the policy document's JSON and its RevisionId (ResourceNotFound when there is none).
    func getPolicy(_ function: FunctionReference) async throws(RelctlError) -> (policy: String, revisionId: String)
    /// RemovePermission (RevisionId checked); the policy goes with its last statement.
    func removePermission(
        _ function: FunctionReference, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError)
    /// PutProvisionedConcurrencyConfig on a published version or an alias: the function's settings
    /// together stay within its reserved concurrency.
    func putProvisionedConcurrency(
        _ function: String, qualifier: Qualifier, executions: Int
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig
    /// GetProvisionedConcurrencyConfig (ProvisionedConcurrencyConfigNotFound when there is none).
    func provisionedConcurrency(
        _ function: String, qualifier: Qualifier
    ) async throws(RelctlError) -> ProvisionedConcurrencyConfig
    /// ListProvisionedConcurrencyConfigs: by qualifier; the marker is the previous page's NextMarker (≤ 50 a page).
    func provisionedConcurrencyPage(
        _ function: String, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<ProvisionedConcurrencyConfig>
    /// DeleteProvisionedConcurrencyConfig (nothing to delete is not an error, as on AWS).
    func deleteProvisionedConcurrency(_ function: String, qualifier: Qualifier) async throws(RelctlError)

    // MARK: - Layers (issue 10 §1, §5): layer versions, their permissions; a function's layers are in its settings.

    /// PublishLayerVersion: the zip's code object stored (before the row commits), the quota checked in the
    /// write transaction, and always a new version, numbered after the highest ever (numbers are never reused).
    func publishLayerVersion(
        name: String, zip: Data, description: String, compatibleRuntimes: [String], compatibleArchitectures: [String],
        licenseInfo: String?
    ) async throws(RelctlError) -> LayerVersion
    /// GetLayerVersion (and GetLayerVersionByArn): a live version; a deleted one is not found.
    func getLayerVersion(name: String, version: Int) async throws(RelctlError) -> LayerVersion
    /// ListLayerVersions, newest first; the filters keep versions that list the runtime / architecture.
    /// An unknown layer has no versions (not an error, as on AWS).
    func layerVersionPage(
        name: String, compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerVersion>
    /// ListLayers: each layer with a live (matching) version, by name, with its newest (matching) version.
    func layerPage(
        compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerSummary>
    /// DeleteLayerVersion, idempotent (false: there was none). A version that function versions still use
    /// leaves the lists at once; its row (and its code's usage) goes with the last of them.
    func deleteLayerVersion(name: String, version: Int) async throws(RelctlError) -> Bool
    /// AddLayerVersionPermission: the statement's JSON and the policy's new RevisionId.
    func addLayerVersionPermission(
        layer name: String, version: Int, statementId: String, action: String, principal: String,
        organizationId: String?, expectedRevisionId: String?
    ) async throws(RelctlError) -> (statement: String, revisionId: String)
    /// GetLayerVersionPolicy: the policy document's JSON and its RevisionId.
    func getLayerVersionPolicy(
        layer name: String, version: Int
    ) async throws(RelctlError) -> (policy: String, revisionId: String)
    /// RemoveLayerVersionPermission (the policy goes with its last statement); a stale RevisionId is refused.
    func removeLayerVersionPermission(
        layer name: String, version: Int, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError)
    /// The presigned code download (`Content.Location`, `Code.Location`): the bytes of a code object that a
    /// function version or a live layer version uses; nil when none does any more.
    func usedCode(_ sha256Hex: String) async throws(RelctlError) -> Data?

    // MARK: - The remaining commands on --database (K): `relctl alarm delete`
    /// DeleteAlarms: false when there is no such alarm; an alarm an active deployment watches cannot go.
    @discardableResult
    func deleteAlarm(name: String) async throws(RelctlError) -> Bool
}

extension RegistryRecords {
    /// CreateFunction without Publish or tags.
    public func createFunction(name: String, settings: FunctionSettings, zip: Data) async throws(RelctlError) {
        _ = try await createFunction(name: name, settings: settings, zip: zip, publish: false, tags: [:], settle: nil)
    }

    /// ListFunctions: `$LATEST` of each function.
    public func functionPage(
        marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<FunctionConfiguration> {
        try await functionPage(allVersions: false, marker: marker, maxItems: maxItems)
    }

    /// UpdateFunctionCode of `$LATEST`, unchecked and unpublished.
    public func updateFunctionCode(name: String, zip: Data) async throws(RelctlError) {
        _ = try await updateFunctionCode(
            FunctionReference(name: name), zip: zip, expectedRevisionId: nil, publish: false, settle: nil)
    }
}

/// One page of a list and the marker of the next one (nil: the last page).
public struct RecordPage<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextMarker: String?

    public init(items: [Item], nextMarker: String?) {
        self.items = items
        self.nextMarker = nextMarker
    }
}

/// One recorded move of an alias: what caused it and where it pointed before and after (nil: no alias).
public struct AliasMove: Sendable, Equatable {
    public var id: Int64
    public var at: String
    public var actor: String
    public var cause: String
    public var from: AliasTarget?
    public var to: AliasTarget?

    public init(id: Int64, at: String, actor: String, cause: String, from: AliasTarget?, to: AliasTarget?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.cause = cause
        self.from = from
        self.to = to
    }
}

extension AliasTarget {
    /// A target from its stored columns (nil when there is no primary version: a move's missing side).
    public static func stored(_ version: Int?, additional: Int?, weight: Double?) -> AliasTarget? {
        version.map {
            AliasTarget(
                functionVersion: $0, additional: additional.map { Additional(version: $0, weight: weight ?? 0) })
        }
    }

    /// `version 3`, `version 3 + 10% to version 4`, `(none)`: an alias target in an event's words
    /// (the same on every engine).
    public static func eventWords(_ target: AliasTarget?) -> String {
        guard let target else { return "(none)" }
        let primary = "version \(AliasTarget.versionText(target.functionVersion))"
        guard let additional = target.additional else { return primary }
        let percent = (additional.weight * 100 * 1000).rounded() / 1000
        // Shortest form without FormatStyle (ICU is most of the cost of an alias move's event otherwise).
        let text = percent == percent.rounded() ? String(Int(percent)) : String(percent)
        return primary + " + \(text)% to version \(additional.version)"
    }
}
