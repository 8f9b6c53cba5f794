import Foundation
import RelctlCore

/// One package object as a listing sees it: what gc's age guard and fsck's size check need.
public struct CodeObject: Sendable, Equatable {
    public var sha256Hex: String
    public var size: Int64
    /// When the object was last written (S3's LastModified, a file's mtime).
    public var lastModified: Date

    public init(sha256Hex: String, size: Int64, lastModified: Date) {
        self.sha256Hex = sha256Hex
        self.size = size
        self.lastModified = lastModified
    }
}

/// Where content-addressed packages live — the data directory's `blobs/` or a bucket — as relctl uses it:
/// whole objects named by their SHA-256, written from a staged file, read with the hash checked, listed
/// with their ages for gc. The safety rules are the caller's and the same for every engine: `put`
/// returns before the row naming the object commits; rows are deleted before `delete`; gc deletes
/// only objects older than its age guard that no row names (`CodeObjectMaintenance`).
public protocol CodeObjectStore: Sendable {
    /// Where the objects are, for messages: a folder's path or `s3://bucket/prefix`.
    var location: String { get }
    /// Stores the staged file as the object `sha256Hex`, and returns only once the whole object is
    /// stored with `size` bytes and that hash (checked, not assumed). Writing the same hash again is
    /// allowed and refreshes the object's age. The staged file is left where it is.
    func put(_ sha256Hex: String, size: Int64, from stagedFile: URL) async throws(RelctlError)
    /// The whole object, checked against its hash: a mismatch is an `IntegrityCheckFailed` error,
    /// a missing object ResourceNotFoundException.
    func get(_ sha256Hex: String) async throws(RelctlError) -> Data
    /// The stored size, nil when there is no such object.
    func size(of sha256Hex: String) async throws(RelctlError) -> Int64?
    /// Removes the object (nothing happens when it is already gone).
    func delete(_ sha256Hex: String) async throws(RelctlError)
    /// Every package object (names that are not `…/sha256/ab/<hash>` are not listed), by hash.
    func list() async throws(RelctlError) -> [CodeObject]
}
