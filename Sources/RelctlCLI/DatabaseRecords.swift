import Foundation
import RelctlPostgres
import RelctlStorage
import RelctlStore

// The commands that write code on `--database postgres://…` (issue 10 §3): `function create|update-code`
// and `layer publish` store the package in `--code-store` (else this data directory's blobs, as
// `relctl serve --database` keeps it) before the row that names it commits.

extension GlobalOptions {
    /// On `--database postgres://…`: its records with their code store; nil on SQLite.
    func postgresRecords() async throws -> PostgresRecords? {
        guard let store = try await postgresStore() else { return nil }
        return PostgresRecords(store: store, code: try databaseCodeStore().store)
    }

    /// The store the `--database` rows' code is in, and whether it is the data directory's blobs.
    func databaseCodeStore() throws -> (store: any CodeObjectStore, isDataDirectory: Bool) {
        if let remote = try remoteCodeStore() { return (remote, false) }
        let blobs = BlobStore(dataDirectory: resolvedDataDirectory)
        return (blobs, true)
    }
}
