import Foundation
import RelctlCore
import RelctlPackages
import RelctlStorage
import RelctlSystem

/// The data directory's blob store as a `CodeObjectStore`. The registry keeps using `stage` and
/// `install` (rename under the write lock); this is the engine-neutral face the S3 store shares, with
/// the same durability: a copy is written and fsynced under a temporary name, its hash checked, then
/// renamed into place and the folder fsynced.
extension BlobStore: CodeObjectStore {
    public var location: String { root.path }

    public func put(_ sha256Hex: String, size: Int64, from stagedFile: URL) async throws(RelctlError) {
        try Self.requireHash(sha256Hex)
        let bytes: Data
        do {
            bytes = try Data(contentsOf: stagedFile, options: .alwaysMapped)
        } catch {
            throw RelctlError(
                .service, "Cannot read the staged package \(stagedFile.path): \(error.localizedDescription)")
        }
        guard Int64(bytes.count) == size, CodeHash.hex(of: bytes) == sha256Hex else {
            throw RelctlError(
                .integrityCheckFailed,
                "The staged package \(stagedFile.path) is \(bytes.count) bytes with another hash than the \(size) bytes of \(sha256Hex) it was staged as; nothing was stored."
            )
        }
        try store(bytes, as: sha256Hex)
    }

    /// Stores `bytes`, whose hash the caller checked, as the object `sha256Hex`: written and fsynced under a
    /// temporary name, renamed into place, the folder fsynced.
    public func store(_ bytes: Data, as sha256Hex: String) throws(RelctlError) {
        try Self.requireHash(sha256Hex)
        let package = InspectedPackage(
            bytes: bytes, sha256Hex: sha256Hex, unzippedSize: 0, entryCount: 0, prestaged: nil)
        try install(try stage(package))
    }

    public func get(_ sha256Hex: String) async throws(RelctlError) -> Data {
        let bytes = try read(sha256Hex)
        guard CodeHash.hex(of: bytes) == sha256Hex else {
            throw RelctlError(
                .integrityCheckFailed,
                "The code blob \(sha256Hex) in \(root.path) does not match its hash: it was changed on disk (`relctl fsck --verify-hashes` lists every such blob)."
            )
        }
        return bytes
    }

    public func size(of sha256Hex: String) async throws(RelctlError) -> Int64? {
        try Self.requireHash(sha256Hex)
        return FileStatus.of(path: url(for: sha256Hex).path)?.size
    }

    public func delete(_ sha256Hex: String) async throws(RelctlError) {
        try Self.requireHash(sha256Hex)
        remove(sha256Hex)
    }

    public func list() async throws(RelctlError) -> [CodeObject] {
        files().filter(\.isBlob).map { CodeObject(sha256Hex: $0.name, size: $0.size, lastModified: $0.modified) }
    }

    private static func requireHash(_ sha256Hex: String) throws(RelctlError) {
        guard sha256Hex.isSHA256Hex else {
            throw RelctlError(
                .invalidParameterValue,
                "'\(sha256Hex.prefix(80))' is not a code object's name: the 64 lowercase hex digits of its SHA-256.")
        }
    }
}
