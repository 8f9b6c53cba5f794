import Foundation
import RelctlCore
import RelctlPackages
import RelctlPolicies
import RelctlPostgres
import RelctlRollout
import RelctlStorage
import RelctlStore
import Testing

/// The store engines the rollout tests run on (Swift Testing `arguments:`).
enum StoreEngine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// `RolloutFixture` on either engine: a function `orders` (versions 1–3 published), alias `live` → 1,
/// a manual clock; records through `RegistryRecords`, the engine through `RolloutStore`. On SQLite a
/// data directory of its own; on PostgreSQL a database of its own in the shared test cluster.
final class EngineFixture: Sendable {
    let clock: ManualClock
    let kind: StoreEngine
    /// Builds zips (and holds the SQLite registry on that engine).
    let sandbox: Sandbox
    let records: any RegistryRecords
    let store: any RolloutStore
    let postgres: PostgresStore?
    var engine: RolloutEngine { RolloutEngine(store: store) }

    static func make(_ kind: StoreEngine) async throws -> EngineFixture {
        let clock = ManualClock()
        let sandbox = try Sandbox(clock: { clock.now() })
        let fixture: EngineFixture
        switch kind {
        case .sqlite:
            fixture = EngineFixture(
                clock: clock, kind: kind, sandbox: sandbox, records: sandbox.registry, store: sandbox.registry,
                postgres: nil)
        case .postgres:
            let store = try await PostgresStore.open(
                try PostgresCluster.database(), actor: "test", clock: { clock.now() })
            fixture = EngineFixture(
                clock: clock, kind: kind, sandbox: sandbox, records: store, store: store, postgres: store)
        }
        try await fixture.createFunction("orders", marker: "v0")
        for index in 1...3 {
            try await fixture.records.updateFunctionCode(name: "orders", zip: try sandbox.code("v\(index)").bytes)
            _ = try await fixture.records.publishVersion(name: "orders", description: nil)
        }
        _ = try await fixture.records.createAlias(
            function: "orders", name: "live", functionVersion: "1", additionalVersionWeights: [:], description: "")
        return fixture
    }

    private init(
        clock: ManualClock, kind: StoreEngine, sandbox: Sandbox, records: any RegistryRecords, store: any RolloutStore,
        postgres: PostgresStore?
    ) {
        self.clock = clock
        self.kind = kind
        self.sandbox = sandbox
        self.records = records
        self.store = store
        self.postgres = postgres
    }

    deinit { postgres?.close() }

    /// The same registry as another process (another server) opens it: its own connection(s), same clock.
    func openAnother() async throws -> (
        store: any RolloutStore, records: any RegistryRecords, close: @Sendable () -> Void
    ) {
        let clock = self.clock
        switch kind {
        case .sqlite:
            let other = try sandbox.openAnotherRegistry(clock: { clock.now() })
            return (other, other, {})
        case .postgres:
            let other = try await PostgresStore.open(
                try #require(postgres).location, actor: "test-2", clock: { clock.now() })
            return (other, other, { other.close() })
        }
    }

    func createFunction(_ name: String, marker: String) async throws {
        try await records.createFunction(name: name, settings: TestData.settings, zip: try sandbox.code(marker).bytes)
    }

    func deploy(
        _ policy: String, to version: String = "2", pre: String? = nil, post: String? = nil, alarms: [String] = [],
        hookTimeout: Double = 3600, autoRollback: Bool = true
    ) async throws -> Deployment {
        try await engine.create(
            DeploymentRequest(
                function: "orders", alias: "live", targetVersion: version,
                policy: try RolloutFixture.catalog.policy(named: policy),
                preTrafficHook: pre, postTrafficHook: post, alarms: alarms, hookTimeout: hookTimeout,
                autoRollback: autoRollback))
    }

    func alias(_ name: String = "live") async throws -> AliasTarget {
        let alias = try await records.getAlias(function: "orders", name: name)
        return try AliasTarget.from(
            functionVersion: try AliasTarget.parseVersion(alias.FunctionVersion),
            additionalVersionWeights: alias.RoutingConfig?.AdditionalVersionWeights ?? [:])
    }

    func deployment(_ id: String) async throws -> Deployment { try await records.deployment(id: id) }

    func events(_ id: String) async throws -> [DeploymentEventEntry] {
        try await records.deploymentEvents(id: id, after: 0)
    }

    /// Alias moves recorded for `live` by deployments (newest first).
    func deploymentMoves() async throws -> [AliasMove] {
        try await records.aliasMoves(function: "orders", alias: "live", limit: 1000).filter {
            $0.cause.hasPrefix("Deployment")
        }
    }

    func errorsAlarm(period: Int = 60) async throws {
        try await records.putAlarm(
            AlarmDefinition(
                name: "orders-errors", functionName: "orders", executedVersion: "target", metric: "Errors",
                statistic: .sum,
                period: period, evaluationPeriods: 1, threshold: 1, comparisonOperator: .greaterThanOrEqualToThreshold,
                treatMissingData: .notBreaching))
    }

    func putErrors(version: String, _ value: Double) async throws {
        try await engine.putMetricData([
            MetricDatapoint(
                functionName: "orders", executedVersion: version, metric: "Errors", value: value,
                timestamp: clock.now())
        ])
    }
}
