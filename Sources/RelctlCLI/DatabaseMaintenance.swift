import Foundation
import RelctlCore
import RelctlPostgres
import RelctlStorage
import RelctlStore

// `relctl gc` and `relctl fsck` on `--database postgres://…` (issue 10 §3). The code objects are in
// `--code-store`, else in this data directory's blobs, which its own SQLite registry shares: gc then
// keeps what either the database's rows or that registry names.

extension GC {
    /// Deletes the objects no row names that are older than `--temporary-age` (the store is listed
    /// before the rows are read, so an upload whose row has not committed yet is young and stays).
    func collectOnDatabase(_ store: PostgresStore) async throws {
        defer { store.close() }
        let (objects, isDataDirectory) = try global.databaseCodeStore()
        let registry = isDataDirectory ? try Registry(dataDirectory: global.resolvedDataDirectory) : nil
        let collected = try await CodeObjectMaintenance.collectGarbage(
            in: objects,
            referenced: { () async throws(RelctlError) in
                var names = Set(try await store.referencedCodeObjects().keys)
                if let registry { names.formUnion(try registry.blobSizes().keys) }
                return names
            }, now: Date(), minimumAge: temporaryAge)
        // Writes on this machine stage in the data directory's blob folder whichever code store they go to:
        // an interrupted one leaves a temporary file there, removed once it is older than --temporary-age.
        let temporaries = BlobStore(dataDirectory: global.resolvedDataDirectory).removeTemporaryFiles(
            modifiedBefore: Date().addingTimeInterval(-temporaryAge))
        let report = GarbageReport(
            RemovedFiles: 0, RemovedBytes: 0, RemovedTemporaryFiles: temporaries,
            RemovedObjects: collected.removed.count, RemovedObjectBytes: collected.removedBytes)
        if global.output == .json { return Output.json(report) }
        print(
            "gc: the rows of PostgreSQL \(store.location.description) against the code objects in \(objects.location)")
        print(
            "Removed \(collected.removed.count) unreferenced object(s) (\(Output.size(collected.removedBytes))) older than \(Int(temporaryAge)) s from \(objects.location); kept \(collected.keptYoung) younger one(s); removed \(temporaries) stale temporary file(s)."
        )
    }
}

extension Fsck {
    /// The row invariants on PostgreSQL, then every object a row names: present, of its recorded size,
    /// and (unless `--skip-hashes`) of its hash.
    func checkDatabase(_ store: PostgresStore) async throws {
        defer { store.close() }
        let objects = try global.databaseCodeStore().store
        let rows = try await store.checkRows()
        let problems = try await CodeObjectMaintenance.check(
            objects, expected: rows.objects, verifyHashes: !skipHashes)
        if global.output != .json {
            print(
                "fsck: the rows of PostgreSQL \(store.location.description) and the code objects in \(objects.location)"
            )
        }
        try finish(
            IntegrityReport(
                Problems: rows.problems + problems, Notices: [], CheckedVersions: rows.checkedVersions,
                CheckedBlobs: rows.objects.count))
    }
}
