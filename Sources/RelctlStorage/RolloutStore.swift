import Foundation
import RelctlCore

/// What the rollout engine reads and writes inside one transaction. Every method runs in the
/// caller's transaction; nothing here commits on its own. The methods are synchronous because a
/// transaction's body runs where its engine keeps the connection (GRDB's writer queue for SQLite);
/// the store's `read`/`write` that open a transaction are `async` and never block a caller's thread.
public protocol RolloutTransaction: ReleaseTransaction {
    /// The transaction's clock, seconds since 1970.
    var now: Double { get }
    /// Who is recorded in the audit log and in deployment events.
    var actor: String { get }
    var arn: ArnContext { get }

    // Deployments and their event logs.
    /// Created, InProgress or Paused, oldest first.
    func activeDeployments() throws -> [Deployment]
    func deployment(id: String) throws -> Deployment?
    func activeDeployment(function: String, alias: String) throws -> Deployment?
    func insertDeployment(_ deployment: Deployment) throws
    func updateDeployment(_ deployment: Deployment) throws
    func appendEvents(_ events: [DeploymentEvent], to deploymentId: String) throws
    /// The same for a deployment in hand: its function, alias and versions need not be read again.
    func appendEvents(_ events: [DeploymentEvent], to deployment: Deployment) throws
    /// The target version of the function's active deployment (on `alias` when given), else of its latest one.
    func latestTargetVersion(function: String, alias: String?) throws -> Int?

    // The registry records a deployment touches.
    func functionExists(_ name: String) throws -> Bool
    func versionExists(function: String, version: Int) throws -> Bool
    func aliasTarget(function: String, alias: String) throws -> AliasTarget?
    /// The alias as GetAlias answers it; a missing alias (or function) is Lambda's not-found error.
    func requireAliasConfiguration(function: String, alias: String) throws -> AliasConfiguration
    /// Points the alias at `target`: a new RevisionId, a history row with `cause`, an audit row.
    @discardableResult
    func moveAlias(function: String, alias: String, to target: AliasTarget, cause: String) throws -> AliasConfiguration
    /// Compare and set: points the alias at `target` only while it still points at `expected` (one read of
    /// the alias where the engine can; `RolloutTransaction`'s extension reads and then moves).
    func moveAlias(
        function: String, alias: String, ifAt expected: AliasTarget, to target: AliasTarget, cause: String
    )
        throws -> AliasSwap
    /// The primary version the alias pointed at before it pointed at `current`, since it was last created.
    func previousPrimaryVersion(function: String, alias: String, current: Int) throws -> Int?
    func audit(_ action: String, function: String?, resource: String, after: [String: String]) throws

    // Alarms and metrics.
    func alarm(_ name: String) throws -> StoredAlarm?
    /// Every alarm, by name.
    func alarms() throws -> [StoredAlarm]
    func saveAlarmState(
        _ name: String, state: AlarmState, reason: String, datapoints: [AlarmEvaluation.Datapoint], changedAt: Double)
        throws
    func metricSamples(_ query: MetricQuery) throws -> [MetricSample]
    func insertMetricData(_ datapoints: [MetricDatapoint]) throws

    // The canary judge of a deployment whose policy has a `judge:` section.
    /// How far the judge has read and the weight it last saw, without decoding its state (nil: no judge yet).
    func judgeCursor(deploymentId: String) throws -> JudgeCursor?
    func deploymentJudge(deploymentId: String) throws -> DeploymentJudge?
    /// Inserts or replaces the judge's row.
    func saveDeploymentJudge(_ judge: DeploymentJudge, deploymentId: String) throws
}

/// What a compare-and-set move of an alias found.
public enum AliasSwap: Sendable {
    /// It pointed at the expected target and now points at the new one.
    case moved(AliasConfiguration)
    /// It points somewhere else (nothing was written).
    case elsewhere(AliasTarget)
    /// There is no such alias.
    case missing
}

extension RolloutTransaction {
    public func appendEvents(_ events: [DeploymentEvent], to deployment: Deployment) throws {
        try appendEvents(events, to: deployment.id)
    }

    public func moveAlias(
        function: String, alias: String, ifAt expected: AliasTarget, to target: AliasTarget, cause: String
    ) throws -> AliasSwap {
        guard let current = try aliasTarget(function: function, alias: alias) else { return .missing }
        guard current == expected else { return .elsewhere(current) }
        return .moved(try moveAlias(function: function, alias: alias, to: target, cause: cause))
    }
}

/// The cheap part of a judge's row: whether a tick has anything new to feed it.
public struct JudgeCursor: Sendable, Equatable {
    public var judgedThrough: Double
    public var weight: Double

    public init(judgedThrough: Double, weight: Double) {
        self.judgedThrough = judgedThrough
        self.weight = weight
    }
}

/// A store the rollout engine runs on: SQLite (GRDB) today.
public protocol RolloutStore: Sendable {
    var arn: ArnContext { get }
    var actor: String { get }
    /// A folder on this machine that every process using the store shares (the SQLite data
    /// directory), for cross-process wake-ups and hook logs; nil when there is none.
    var localDirectory: URL? { get }
    /// One read-only snapshot.
    func read<T: Sendable>(
        _ body: @escaping @Sendable (any RolloutTransaction) throws -> T
    ) async throws(RelctlError) -> T
    /// One write transaction: everything the body does commits together, or nothing does.
    func write<T: Sendable>(
        _ body: @escaping @Sendable (any RolloutTransaction) throws -> T
    ) async throws(RelctlError) -> T
    /// Deployment configs created with CodeDeploy's CreateDeploymentConfig, as stored JSON.
    func deploymentConfigDefinitions() async throws(RelctlError) -> [DeploymentConfigDefinition]
}

public struct DeploymentConfigDefinition: Sendable {
    public var name: String
    public var definition: String

    public init(name: String, definition: String) {
        self.name = name
        self.definition = definition
    }
}

/// One stored alarm: its definition and the state last saved for it.
public struct StoredAlarm: Sendable, Equatable {
    public var definition: AlarmDefinition
    public var state: AlarmState
    public var reason: String
    public var datapoints: [AlarmEvaluation.Datapoint]
    public var updatedAt: Double

    public init(
        definition: AlarmDefinition, state: AlarmState, reason: String, datapoints: [AlarmEvaluation.Datapoint],
        updatedAt: Double
    ) {
        self.definition = definition
        self.state = state
        self.reason = reason
        self.datapoints = datapoints
        self.updatedAt = updatedAt
    }

    public var name: String { definition.name }
}

/// Samples of one metric of one function in `[from, to)`, optionally of one Resource / ExecutedVersion.
public struct MetricQuery: Sendable, Equatable {
    public var function: String
    public var metric: String
    public var from: Double
    public var to: Double
    public var resource: String?
    public var executedVersion: String?

    public init(
        function: String, metric: String, from: Double, to: Double, resource: String? = nil,
        executedVersion: String? = nil
    ) {
        self.function = function
        self.metric = metric
        self.from = from
        self.to = to
        self.resource = resource
        self.executedVersion = executedVersion
    }
}

/// One datapoint of `relctl metrics put` and of the runtime.
public struct MetricDatapoint: Sendable, Equatable {
    public var functionName: String
    public var resource: String?
    public var executedVersion: String?
    public var metric: String
    public var value: Double
    public var unit: String?
    public var timestamp: Date

    public init(
        functionName: String, resource: String? = nil, executedVersion: String? = nil, metric: String,
        value: Double, unit: String? = nil, timestamp: Date
    ) {
        self.functionName = functionName
        self.resource = resource
        self.executedVersion = executedVersion
        self.metric = metric
        self.value = value
        self.unit = unit
        self.timestamp = timestamp
    }
}

/// One line of a deployment's event log.
public struct DeploymentEventEntry: Sendable, Codable, Equatable {
    public var id: Int64
    public var event: DeploymentEvent

    public init(id: Int64, event: DeploymentEvent) {
        self.id = id
        self.event = event
    }
}

/// A hook a runner took on.
public struct ClaimedHook: Sendable {
    public var deploymentId: String
    public var execution: HookExecution
    /// What a Lambda hook receives: DeploymentId, LifecycleEventHookExecutionId, FunctionName, Alias, CurrentVersion, TargetVersion.
    public var payload: [String: String]

    public init(deploymentId: String, execution: HookExecution, payload: [String: String]) {
        self.deploymentId = deploymentId
        self.execution = execution
        self.payload = payload
    }
}

/// Where hook outcomes go (the rollout engine): the runtime reports a function hook's result here.
public protocol HookStatusReporter: Sendable {
    func reportHookStatus(
        deploymentId: String, executionId: String, status: HookStatus, output: String?) async throws(RelctlError)
}

/// Where metric datapoints go (the rollout engine, which evaluates the alarms they concern at once).
public protocol MetricSink: Sendable {
    func putMetricData(_ datapoints: [MetricDatapoint]) async throws(RelctlError)
}

/// What the runtime needs from storage: resolving what an invocation runs, the code it runs, a setting.
public protocol InvocationStore: Sendable {
    var arn: ArnContext { get }
    /// This machine's folder for logs and extracted packages.
    var dataDirectory: URL { get }
    var code: any CodeStore { get }
    /// Resolves `name`, `name:version`, `name:alias` (or an ARN) for an invocation.
    func resolveInvocation(_ function: FunctionReference) async throws(RelctlError) -> InvocationTarget
    /// A setting's stored value (nil: never set).
    func readSetting(_ key: String) async throws(RelctlError) -> String?
    /// Every provisioned-concurrency setting (PutProvisionedConcurrencyConfig), resolved as of now:
    /// the runtime keeps that many instances of the versions they route to warm.
    func provisionedConcurrencyTargets() async throws(RelctlError) -> [ProvisionedConcurrencyTarget]
}

/// Content-addressed code: zip packages by their SHA-256 (64 lowercase hex digits).
public protocol CodeStore: Sendable {
    /// The whole package, checked against its hash.
    func read(_ sha256Hex: String) throws(RelctlError) -> Data
    /// The same, for async callers: a store that may download (a bucket) does it here without
    /// blocking a thread. By default, `read`.
    func fetch(_ sha256Hex: String) async throws(RelctlError) -> Data
}

extension CodeStore {
    public func fetch(_ sha256Hex: String) async throws(RelctlError) -> Data { try read(sha256Hex) }
}
