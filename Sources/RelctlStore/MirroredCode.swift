import Foundation
import RelctlCore
import RelctlPackages
import RelctlStorage

/// The code the runtime reads when a bucket is the code store: this machine's blob first; a package
/// that is not here (its blob file gone, or published by another machine) is fetched by hash from
/// the bucket, its hash checked, and kept in the blobs as this machine's copy (written durably
/// and renamed into place, like any blob).
struct MirroredCode: CodeStore {
    let local: BlobStore
    let remote: any CodeObjectStore

    func read(_ sha256Hex: String) throws(RelctlError) -> Data {
        if let bytes = try localCopy(sha256Hex) { return bytes }
        return try OffPoolWait.run { () async throws(RelctlError) in try await download(sha256Hex) }
    }

    func fetch(_ sha256Hex: String) async throws(RelctlError) -> Data {
        if let bytes = try localCopy(sha256Hex) { return bytes }
        return try await download(sha256Hex)
    }

    private func localCopy(_ sha256Hex: String) throws(RelctlError) -> Data? {
        guard sha256Hex.isSHA256Hex, FileManager.default.fileExists(atPath: local.url(for: sha256Hex).path) else {
            return nil
        }
        return try local.read(sha256Hex)
    }

    private func download(_ sha256Hex: String) async throws(RelctlError) -> Data {
        let bytes = try await remote.get(sha256Hex)
        // A copy that cannot be kept costs a download next time, not the invocation.
        if let staged = try? local.stage(
            InspectedPackage(bytes: bytes, sha256Hex: sha256Hex, unzippedSize: 0, entryCount: 0))
        {
            do { try local.install(staged) } catch { local.discard(staged) }
        }
        return bytes
    }
}
