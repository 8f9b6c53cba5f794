import Foundation
import GRDB
import RelctlCore
import RelctlPackages
import RelctlStorage

struct S3BucketRecord: SnakeCaseRecord {
    static let databaseTableName = "s3_buckets"
    var name: String
    var createTime: Double
}

struct S3ObjectRecord: SnakeCaseRecord {
    static let databaseTableName = "s3_objects"
    var bucket: String
    var key: String
    var sha256: String
    var size: Int64
    var etag: String
    var contentType: String?
    var metadata: String
    var lastModified: Double

    func decoded() -> S3Object {
        S3Object(
            bucket: bucket, key: key, sha256: sha256, size: size, etag: etag, contentType: contentType,
            metadata: (try? JSONDecoder().decode([String: String].self, from: Data(metadata.utf8))) ?? [:],
            lastModified: lastModified)
    }
}

extension Registry {
    /// Where S3 objects' bytes live: `s3/sha256/ab/…`, apart from code blobs (their own references, their own cleanup).
    var s3Blobs: BlobStore { BlobStore(root: dataDirectory.appendingPathComponent("s3/sha256", isDirectory: true)) }

    /// Creates a bucket; false when it exists already.
    public func createS3Bucket(_ name: String) throws(RelctlError) -> Bool {
        try write { db, _ in
            guard try !S3BucketRecord.exists(db, key: name) else { return false }
            try S3BucketRecord(name: name, createTime: clock().timeIntervalSince1970).insert(db)
            try audit(db, "CreateBucket", function: nil, resource: "s3:\(name)")
            return true
        }
    }

    /// The buckets with their creation times, by name.
    public func s3Buckets() throws(RelctlError) -> [(name: String, createTime: Double)] {
        try read { db in try S3BucketRecord.order(Column("name")).fetchAll(db).map { ($0.name, $0.createTime) } }
    }

    public func s3BucketExists(_ name: String) throws(RelctlError) -> Bool {
        try read { db in try S3BucketRecord.exists(db, key: name) }
    }

    /// Deletes an empty bucket: nil when there is none, false when it still holds objects.
    public func deleteS3Bucket(_ name: String) throws(RelctlError) -> Bool? {
        try write { db, _ in
            guard try S3BucketRecord.exists(db, key: name) else { return nil }
            guard try S3ObjectRecord.filter(Column("bucket") == name).isEmpty(db) else { return false }
            try S3BucketRecord.deleteOne(db, key: name)
            try audit(db, "DeleteBucket", function: nil, resource: "s3:\(name)")
            return true
        }
    }

    /// Stores an object's bytes durably, then its row (replacing an object of the same key); nil when
    /// the bucket does not exist.
    public func putS3Object(
        bucket: String, key: String, data: Data, etag: String, contentType: String?,
        metadata: [String: String]
    ) throws(RelctlError) -> S3Object? {
        let sha256 = CodeHash.hex(of: data)
        let store = s3Blobs
        let final = store.url(for: sha256)
        let folder = final.deletingLastPathComponent()
        try FileSystem.createDirectory(folder)
        let temporary = folder.appendingPathComponent(".tmp-\(sha256.prefix(16))-\(UUID().uuidString)")
        try FileSystem.writeDurably(data, to: temporary)
        var replaced: String?
        let object: S3Object?
        do {
            object = try write { db, _ -> S3Object? in
                guard try S3BucketRecord.exists(db, key: bucket) else { return nil }
                replaced = try S3ObjectRecord.fetchOne(db, key: ["bucket": bucket, "key": key])?.sha256
                guard rename(temporary.path, final.path) == 0 else {
                    throw RelctlError(.service, "Cannot move an object into \(final.path): \(FileSystem.errnoText())")
                }
                try FileSystem.syncDirectory(folder)
                let record = S3ObjectRecord(
                    bucket: bucket, key: key, sha256: sha256, size: Int64(data.count), etag: etag,
                    contentType: contentType,
                    metadata: String(decoding: try JSONEncoder.sorted.encode(metadata), as: UTF8.self),
                    lastModified: clock().timeIntervalSince1970)
                try record.save(db)
                return record.decoded()
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
        if object == nil { unlink(temporary.path) }
        if let replaced, replaced != sha256 { removeUnreferencedS3Bytes(replaced) }
        return object
    }

    public func s3Object(bucket: String, key: String) throws(RelctlError) -> S3Object? {
        try read { db in try S3ObjectRecord.fetchOne(db, key: ["bucket": bucket, "key": key])?.decoded() }
    }

    /// An object's bytes.
    public func s3ObjectData(_ object: S3Object) throws(RelctlError) -> Data {
        do { return try Data(contentsOf: s3Blobs.url(for: object.sha256)) } catch {
            throw RelctlError(
                .service, "Cannot read s3://\(object.bucket)/\(object.key): \(error.localizedDescription)")
        }
    }

    /// A bucket's objects in key order: those under `prefix`, after `startAfter`, at most `limit`.
    public func s3Objects(
        bucket: String, prefix: String, startAfter: String?, limit: Int
    ) throws(RelctlError) -> [S3Object] {
        try read { db in
            var request = S3ObjectRecord.filter(Column("bucket") == bucket).order(Column("key"))
            // Case-sensitive, as S3's prefixes are (SQLite's LIKE folds ASCII case).
            if !prefix.isEmpty {
                request = request.filter(sql: "substr(key, 1, length(?)) = ?", arguments: [prefix, prefix])
            }
            if let startAfter { request = request.filter(Column("key") > startAfter) }
            return try request.limit(limit).fetchAll(db).map { $0.decoded() }
        }
    }

    /// Deletes an object (S3 answers the same whether it existed or not); its bytes go once nothing names them.
    public func deleteS3Object(bucket: String, key: String) throws(RelctlError) {
        let removed = try write { db, _ -> String? in
            guard let record = try S3ObjectRecord.fetchOne(db, key: ["bucket": bucket, "key": key]) else { return nil }
            try record.delete(db)
            return record.sha256
        }
        if let removed { removeUnreferencedS3Bytes(removed) }
    }

    /// Unlinks an object file no row names any more, holding the write lock (a put of the same bytes renames under it too).
    private func removeUnreferencedS3Bytes(_ sha256: String) {
        let store = s3Blobs
        _ = try? write { db, _ in
            if try S3ObjectRecord.filter(Column("sha256") == sha256).isEmpty(db) { store.remove(sha256) }
        }
    }
}

// The S3 subset's store protocol: the registry's synchronous methods above answer its async requirements.
extension Registry: S3ObjectStore {
    public func scopedS3Objects(region: String, actor: String) -> any S3ObjectStore {
        scoped(region: region, actor: actor)
    }
}
