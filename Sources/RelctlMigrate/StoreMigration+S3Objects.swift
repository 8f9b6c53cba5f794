import Foundation
import GRDB
import RelctlCore
import RelctlStorage
import RelctlStore

// The S3 subset's objects (what `sam deploy` uploaded to `relctl serve`) in a migration: on SQLite their
// bytes are the data directory's `s3/sha256/…`; on PostgreSQL they are code objects, read from the code
// store (PostgresStore+S3Objects.swift). So their bytes go where the target's servers read code — the
// bucket, or this data directory's blobs when the code stays here — before the rows naming them are copied.
extension StoreMigration {
    var localArtifacts: BlobStore {
        BlobStore(root: dataDirectory.appendingPathComponent("s3/sha256", isDirectory: true))
    }

    /// Puts every S3 object's bytes into the code store unless an object of that size is there; the
    /// hashes it wrote.
    func copyArtifacts(
        _ source: SourceRegistry, progress: @Sendable (String) -> Void
    ) async throws(RelctlError) -> Set<String> {
        let artifacts = try source.s3ObjectBytes()
        guard !artifacts.isEmpty else { return [] }
        let store: any CodeObjectStore = codeStore ?? localBlobs
        progress("Copying \(artifacts.count) S3 objects' bytes to \(store.location)…")
        var written = Set<String>()
        for (hash, size) in artifacts.sorted(by: { $0.key < $1.key }) {
            if try await store.size(of: hash) == size { continue }
            let file = localArtifacts.url(for: hash)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw RelctlError(
                    .resourceNotFound,
                    "The S3 object bytes \(hash) are named by the registry but missing from \(localArtifacts.root.path); nothing was copied into the database."
                )
            }
            try await store.put(hash, size: size, from: file)
            written.insert(hash)
        }
        return written
    }
}

extension SourceRegistry {
    /// The bytes the S3 subset's objects name: hash → size.
    func s3ObjectBytes() throws(RelctlError) -> [String: Int64] {
        try snapshot { db in
            var sizes: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT sha256, MAX(size) FROM s3_objects GROUP BY sha256") {
                let hash: String = row[0]
                let size: Int64 = row[1]
                sizes[hash] = size
            }
            return sizes
        }
    }
}
