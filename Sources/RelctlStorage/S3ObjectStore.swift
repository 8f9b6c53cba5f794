import Foundation
import RelctlCore

/// An object of the server's S3 subset (the artifacts `sam deploy` uploads): where its bytes are
/// and what HeadObject answers.
public struct S3Object: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var sha256: String
    public var size: Int64
    /// The MD5 of the bytes in hex (S3's ETag of a single-part upload), without quotes.
    public var etag: String
    public var contentType: String?
    /// `x-amz-meta-*` headers, by their name after the prefix.
    public var metadata: [String: String]
    public var lastModified: Double

    public init(
        bucket: String, key: String, sha256: String, size: Int64, etag: String, contentType: String?,
        metadata: [String: String], lastModified: Double
    ) {
        self.bucket = bucket
        self.key = key
        self.sha256 = sha256
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.metadata = metadata
        self.lastModified = lastModified
    }
}

/// The S3 subset's buckets and objects (what `sam deploy` uploads to `relctl serve`) on any engine:
/// rows in the registry's database, bytes content-addressed where the engine keeps them (SQLite: the
/// data directory's `s3/sha256/`; PostgreSQL: the code store). An object's bytes are stored, whole and
/// checked, before the row that names it commits. Each call is one transaction.
public protocol S3ObjectStore: Sendable {
    /// The same store recording another actor in its audit rows (one per request).
    func scopedS3Objects(region: String, actor: String) -> any S3ObjectStore

    /// CreateBucket: false when the bucket exists already.
    func createS3Bucket(_ name: String) async throws(RelctlError) -> Bool
    /// The buckets with their creation times, by name.
    func s3Buckets() async throws(RelctlError) -> [(name: String, createTime: Double)]
    func s3BucketExists(_ name: String) async throws(RelctlError) -> Bool
    /// DeleteBucket of an empty bucket: nil when there is none, false when it still holds objects.
    func deleteS3Bucket(_ name: String) async throws(RelctlError) -> Bool?

    /// PutObject: the bytes stored durably, then the row (replacing an object of the same key); nil when
    /// the bucket does not exist.
    func putS3Object(
        bucket: String, key: String, data: Data, etag: String, contentType: String?, metadata: [String: String]
    ) async throws(RelctlError) -> S3Object?
    /// HeadObject: nil when there is no such object (or bucket).
    func s3Object(bucket: String, key: String) async throws(RelctlError) -> S3Object?
    /// GetObject's bytes.
    func s3ObjectData(_ object: S3Object) async throws(RelctlError) -> Data
    /// ListObjectsV2: a bucket's objects in key order, those under `prefix`, after `startAfter`, at most `limit`.
    func s3Objects(
        bucket: String, prefix: String, startAfter: String?, limit: Int
    ) async throws(RelctlError) -> [S3Object]
    /// DeleteObject: answers the same whether the object existed or not, as S3 does.
    func deleteS3Object(bucket: String, key: String) async throws(RelctlError)
}
