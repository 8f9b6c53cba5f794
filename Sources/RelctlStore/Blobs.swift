import Foundation
import GRDB
import RelctlCore

struct BlobRecord: SnakeCaseRecord {
    static let databaseTableName = "blobs"
    var sha256: String
    var size: Int64
    var unzippedSize: Int64
}

extension Registry {
    /// Whether code with this hash is something a caller may read: the code of a function's
    /// `$LATEST` or of a published version, or the content of a layer version that is not deleted.
    public func isReadableCode(_ sha256Hex: String) throws(RelctlError) -> Bool {
        try read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM versions WHERE code_sha256 = ?)
                        OR EXISTS (SELECT 1 FROM layer_versions WHERE code_sha256 = ? AND deleted = 0)
                    """, arguments: [sha256Hex, sha256Hex]) ?? false
        }
    }
}

extension Registry {
    /// Every stored package's hash and size (the `blobs` rows): what gc keeps and fsck expects in a code store.
    public func blobSizes() throws(RelctlError) -> [String: Int64] {
        try read { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT sha256, size FROM blobs").map { ($0[0] as String, $0[1] as Int64) },
                uniquingKeysWith: { a, _ in a })
        }
    }
}

// MARK: - Inside a transaction

extension Registry {
    /// Makes the staged blob part of the store, under the write lock.
    func installBlob(_ db: Database, _ staged: StagedBlob) throws {
        if try BlobRecord.exists(db, key: staged.sha256Hex) {
            // Holding the lock, an existing row guarantees an existing file.
            blobs.discard(staged)
            return
        }
        try blobs.install(staged)
        try BlobRecord(sha256: staged.sha256Hex, size: staged.size, unzippedSize: staged.unzippedSize).insert(db)
        try db.execute(sql: "UPDATE usage SET stored_bytes = stored_bytes + ? WHERE id = 1", arguments: [staged.size])
    }

    /// Drops the blob row when no version or layer version uses the hash any more; its file goes after commit.
    func releaseBlobIfUnreferenced(_ db: Database, _ hash: String, _ effects: inout WriteEffects) throws {
        let used =
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM versions WHERE code_sha256 = ?1)
                        OR EXISTS (SELECT 1 FROM layer_versions WHERE code_sha256 = ?1)
                    """, arguments: [hash]) ?? true
        guard !used, let blob = try BlobRecord.fetchOne(db, key: hash) else { return }
        try blob.delete(db)
        try db.execute(sql: "UPDATE usage SET stored_bytes = stored_bytes - ? WHERE id = 1", arguments: [blob.size])
        effects.releasedBlobs.insert(hash)
    }
}
