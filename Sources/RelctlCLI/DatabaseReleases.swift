import Foundation
import RelctlCore
import RelctlPostgres
import RelctlRollout
import RelctlStorage

// `relctl release create` on `--database postgres://…` (issue 10 §3): the release is created in the
// database and the leading controller, on whichever server or `controller run` leads, advances it;
// `release list|get` read either engine through the rollout store.

extension GlobalOptions {
    /// The one catalogue on `store`: presets, `<data-dir>/policies/*.yaml` and the configs created over
    /// the CodeDeploy API that the store keeps.
    func policies(on store: any RolloutStore) async throws -> PolicyCatalog {
        try PolicyCatalog(
            customFolder: resolvedDataDirectory.appendingPathComponent("policies", isDirectory: true),
            deploymentConfigs: try await store.deploymentConfigDefinitions().map { ($0.name, $0.definition) })
    }
}

extension ReleaseCommand.Create {
    /// Creates the release; without `--detach`, follows it (one line per event, then its outcome) while
    /// the leading controller advances it, as `deploy --database` follows a deployment.
    func runOnDatabase(_ store: PostgresStore) async throws {
        defer { store.close() }
        var release = try await RolloutEngine(store: store).createRelease(
            try request(try await global.policies(on: store)))
        let json = global.output == .json
        if detach {
            if json { return Output.json(ReleaseInfo(release)) }
            print(
                "Created release \(release.name) (\(release.id), \(release.status.rawValue)); the leading controller (`relctl controller run --database …` or `relctl serve --database …`) advances it, `relctl release get \(release.name)` shows it."
            )
            return
        }
        if !json {
            Output.note("release: following \(release.id); the leading controller on this database advances it")
        }
        let id = release.id
        try await followOnDatabase(id: id, json: json, interval: interval) { after in
            let (current, events) = try await store.read { tx in
                (try tx.requireRelease(id), try tx.releaseEvents(id: id, after: after))
            }
            release = current
            return (events, release.status.isActive)
        }
        if json {
            Output.json(ReleaseInfo(release, events: try await store.read { try $0.releaseEvents(id: id, after: 0) }))
        } else {
            print(ReleaseText.outcome(release))
        }
        if release.status != .succeeded { throw CommandFailure(status: 1) }
    }
}

/// Follows a deployment or a release on the database until it ends: every `interval`, `poll` reads it
/// with its events after `after` and says whether it is still active; the new events are printed one
/// line each (not with `--output json`), as the foreground run on SQLite prints them off a terminal.
func followOnDatabase(
    id: String, json: Bool, interval: Double,
    poll: (_ after: Int64) async throws -> (events: [DeploymentEventEntry], active: Bool)
) async throws {
    var lastEvent: Int64 = 0
    while true {
        let (events, active) = try await poll(lastEvent)
        lastEvent = events.last?.id ?? lastEvent
        if !json {
            for entry in events {
                print("\(DeploymentText.clock(entry.event.at))  \(id)  \(entry.event.kind): \(entry.event.message)")
            }
            fflush(nil)
        }
        if !active { return }
        try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
    }
}
