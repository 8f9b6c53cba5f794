import Foundation
import RelctlCore
import RelctlPostgres
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

// `relctl invoke` and `relctl traffic` on `--database postgres://…` (issue 10 §3): the runtime that
// `relctl serve --database` builds — functions resolved in the database, packages from `--code-store`
// (else this data directory's blobs), metrics written to the database, and reserved concurrency
// counted with lease rows across every server and command line.

/// What a runtime pool runs on: the records it invokes, where its metrics go, who counts reservations.
struct RuntimeParts {
    var store: any InvocationStore
    var rollout: RolloutEngine
    /// nil: the pool counts its own invocations (SQLite in the data directory).
    var leases: (any ConcurrencyLeases)?

    func pool() -> RuntimePool { RuntimePool(store: store, rollout: rollout, leases: leases) }
}

extension GlobalOptions {
    /// The runtime's parts on the database `--database` names (the data directory's SQLite by default).
    func runtimeParts() async throws -> RuntimeParts {
        guard let store = try await postgresStore() else {
            let registry = try registry()
            return RuntimeParts(store: registry, rollout: RolloutEngine(store: registry), leases: nil)
        }
        return try runtimeParts(on: store)
    }

    /// The runtime's parts on a PostgreSQL store `--database` opened.
    func runtimeParts(on store: PostgresStore) throws -> RuntimeParts {
        RuntimeParts(
            store: PostgresInvocationStore(
                store: store, dataDirectory: resolvedDataDirectory, objects: try databaseCodeStore().store),
            rollout: RolloutEngine(store: store),
            leases: PostgresConcurrencyLeases(store: store, holder: "\(ProcessInfo.processInfo.hostName):\(getpid())"))
    }
}
