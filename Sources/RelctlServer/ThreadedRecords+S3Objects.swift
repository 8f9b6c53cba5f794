import Foundation
import RelctlCore
import RelctlStorage
import RelctlStore

// The S3 subset on the SQLite registry, each call on the server's store threads (as the S3 routes'
// `context.store` calls ran before they moved onto `S3ObjectStore`).
extension ThreadedRecords: S3ObjectStore {
    func scopedS3Objects(region: String, actor: String) -> any S3ObjectStore {
        ThreadedRecords(registry: registry.scoped(region: region, actor: actor), threads: threads)
    }

    func createS3Bucket(_ name: String) async throws(RelctlError) -> Bool {
        try await run { try $0.createS3Bucket(name) }
    }

    func s3Buckets() async throws(RelctlError) -> [(name: String, createTime: Double)] {
        try await run { try $0.s3Buckets().map { S3BucketEntry(name: $0.name, createTime: $0.createTime) } }.map {
            ($0.name, $0.createTime)
        }
    }

    func s3BucketExists(_ name: String) async throws(RelctlError) -> Bool {
        try await run { try $0.s3BucketExists(name) }
    }

    func deleteS3Bucket(_ name: String) async throws(RelctlError) -> Bool? {
        try await run { try $0.deleteS3Bucket(name) }
    }

    func putS3Object(
        bucket: String, key: String, data: Data, etag: String, contentType: String?, metadata: [String: String]
    ) async throws(RelctlError) -> S3Object? {
        try await run {
            try $0.putS3Object(
                bucket: bucket, key: key, data: data, etag: etag, contentType: contentType, metadata: metadata)
        }
    }

    func s3Object(bucket: String, key: String) async throws(RelctlError) -> S3Object? {
        try await run { try $0.s3Object(bucket: bucket, key: key) }
    }

    func s3ObjectData(_ object: S3Object) async throws(RelctlError) -> Data {
        try await run { try $0.s3ObjectData(object) }
    }

    func s3Objects(
        bucket: String, prefix: String, startAfter: String?, limit: Int
    ) async throws(RelctlError) -> [S3Object] {
        try await run { try $0.s3Objects(bucket: bucket, prefix: prefix, startAfter: startAfter, limit: limit) }
    }

    func deleteS3Object(bucket: String, key: String) async throws(RelctlError) {
        try await run { try $0.deleteS3Object(bucket: bucket, key: key) }
    }
}

/// A bucket crossing from a store thread.
private struct S3BucketEntry: Sendable {
    var name: String
    var createTime: Double
}
