import Foundation
import RelctlPostgres
import RelctlStacks

// `relctl sam deploy` and `relctl stack list|get|events|delete` on `--database postgres://…` (issue 10):
// the same stack engine `relctl serve --database` runs its CloudFormation subset on — the database's
// records (code in `--code-store`, else this data directory's blobs), its stacks and CodeDeploy rows —
// with the custom policies of this data directory, as `relctl deploy --database` reads them.

extension GlobalOptions {
    /// The stack engine on the database `--database` names (the data directory's SQLite registry by default).
    func stackApplier() async throws -> StackApplier {
        guard let records = try await postgresRecords() else { return StackApplier(registry: try registry()) }
        return StackApplier(
            records: records, stacks: records.store, rollout: records.store, arn: records.store.arn,
            policiesFolder: resolvedDataDirectory.appendingPathComponent("policies", isDirectory: true))
    }
}
