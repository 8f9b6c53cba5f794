import Foundation
import PostgresNIO
import RelctlCore
import RelctlPackages
import RelctlStorage

// The S3 subset (what `sam deploy` uploads to `relctl serve`) on PostgreSQL, with SQLite's answers
// (RelctlStore/S3Objects.swift). Rows in `s3_buckets` / `s3_objects`; bytes in the code store,
// content-addressed like packages (an artifact zip is often the very package a function is then
// created from: one object). The object is written and checked before the row that names it commits;
// a replaced or deleted object's bytes are never deleted here (another row, or an upload in flight on
// another server, may name them): `relctl gc` collects objects no row names once they are old enough,
// and `s3_objects` is among the rows it reads (PostgresStore+Maintenance.swift).
//
// Keys are listed in byte order (`COLLATE "C"`), as S3 and SQLite list them, whatever the database's locale.

extension PostgresRecords: S3ObjectStore {
    public func scopedS3Objects(region: String, actor: String) -> any S3ObjectStore {
        PostgresRecords(store: store.scoped(region: region, actor: actor), code: code)
    }

    public func createS3Bucket(_ name: String) async throws(RelctlError) -> Bool {
        try await store.quietWrite { db in
            guard try db.db.rows("SELECT 1 FROM s3_buckets WHERE name = \(name)").isEmpty else { return false }
            try db.db.execute("INSERT INTO s3_buckets (name, create_time) VALUES (\(name), \(db.now))")
            try db.audit(
                "CreateBucket", function: nil, resource: "s3:\(name)", before: nil as String?, after: nil as String?)
            return true
        }
    }

    public func s3Buckets() async throws(RelctlError) -> [(name: String, createTime: Double)] {
        let rows = try await store.readRecords { db in
            try db.db.rows(#"SELECT name, create_time FROM s3_buckets ORDER BY name COLLATE "C""#).map {
                let (name, time) = try $0.decode((String, Double).self)
                return S3BucketRow(name: name, createTime: time)
            }
        }
        return rows.map { ($0.name, $0.createTime) }
    }

    public func s3BucketExists(_ name: String) async throws(RelctlError) -> Bool {
        try await store.readRecords { db in try db.s3BucketExists(name) }
    }

    public func deleteS3Bucket(_ name: String) async throws(RelctlError) -> Bool? {
        try await store.quietWrite { db -> Bool? in
            guard try db.s3BucketExists(name) else { return nil }
            guard try db.db.rows("SELECT 1 FROM s3_objects WHERE bucket = \(name) LIMIT 1").isEmpty else {
                return false
            }
            try db.db.execute("DELETE FROM s3_buckets WHERE name = \(name)")
            try db.audit(
                "DeleteBucket", function: nil, resource: "s3:\(name)", before: nil as String?, after: nil as String?)
            return true
        }
    }

    public func putS3Object(
        bucket: String, key: String, data: Data, etag: String, contentType: String?, metadata: [String: String]
    ) async throws(RelctlError) -> S3Object? {
        // A missing bucket uploads nothing; one deleted meanwhile is caught again under the write lock.
        guard try await s3BucketExists(bucket) else { return nil }
        let sha256 = CodeHash.hex(of: data)
        try await putCodeObject(data, sha256Hex: sha256, what: "s3://\(bucket)/\(key)")
        let metadataJSON: String
        do { metadataJSON = try JSON.encode(metadata) } catch {
            throw RelctlError(.service, "Cannot encode the metadata of s3://\(bucket)/\(key): \(error)")
        }
        return try await store.quietWrite { db -> S3Object? in
            guard try db.s3BucketExists(bucket) else { return nil }
            let object = S3Object(
                bucket: bucket, key: key, sha256: sha256, size: Int64(data.count), etag: etag,
                contentType: contentType, metadata: metadata, lastModified: db.now)
            try db.db.execute(
                """
                INSERT INTO s3_objects (bucket, key, sha256, size, etag, content_type, metadata, last_modified)
                VALUES (\(bucket), \(key), \(sha256), \(object.size), \(etag), \(contentType), \(metadataJSON),
                        \(object.lastModified))
                ON CONFLICT (bucket, key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
                    etag = excluded.etag, content_type = excluded.content_type, metadata = excluded.metadata,
                    last_modified = excluded.last_modified
                """)
            return object
        }
    }

    public func s3Object(bucket: String, key: String) async throws(RelctlError) -> S3Object? {
        try await store.readRecords { db in
            try db.s3Objects(
                "SELECT \(unescaped: PostgresTransaction.s3ObjectColumns) FROM s3_objects WHERE bucket = \(bucket) AND key = \(key)"
            ).first
        }
    }

    public func s3ObjectData(_ object: S3Object) async throws(RelctlError) -> Data {
        do {
            return try await code.get(object.sha256)
        } catch {
            throw RelctlError(error.code, "Cannot read s3://\(object.bucket)/\(object.key): \(error.message)")
        }
    }

    public func s3Objects(
        bucket: String, prefix: String, startAfter: String?, limit: Int
    ) async throws(RelctlError) -> [S3Object] {
        try await store.readRecords { db in
            try db.s3Objects(
                """
                SELECT \(unescaped: PostgresTransaction.s3ObjectColumns) FROM s3_objects
                WHERE bucket = \(bucket) AND starts_with(key, \(prefix))
                  AND (\(startAfter)::text IS NULL OR key COLLATE "C" > \(startAfter))
                ORDER BY key COLLATE "C" LIMIT \(limit)
                """)
        }
    }

    public func deleteS3Object(bucket: String, key: String) async throws(RelctlError) {
        try await store.quietWrite { db in
            try db.db.execute("DELETE FROM s3_objects WHERE bucket = \(bucket) AND key = \(key)")
        }
    }
}

/// A bucket row crossing from the blocking thread (a labelled tuple is not Sendable-checked as one).
private struct S3BucketRow: Sendable {
    var name: String
    var createTime: Double
}

extension PostgresStore {
    /// A write of the S3 subset or of a stack's records: the store's write transaction (unfenced),
    /// without waking the controller (no deployment reads these rows).
    func quietWrite<T: Sendable>(
        _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws(RelctlError) -> T {
        let unfenced = self.unfenced
        return try await unfenced.blocking(write: true) { db in try body(PostgresTransaction(db: db, store: unfenced)) }
    }
}

extension PostgresTransaction {
    static let s3ObjectColumns = "bucket, key, sha256, size, etag, content_type, metadata, last_modified"

    func s3BucketExists(_ name: String) throws -> Bool {
        try !db.rows("SELECT 1 FROM s3_buckets WHERE name = \(name)").isEmpty
    }

    func s3Objects(_ query: PostgresQuery) throws -> [S3Object] {
        try db.rows(query).map { row in
            let (bucket, key, sha256, size, etag, contentType, metadata, lastModified) = try row.decode(
                (String, String, String, Int64, String, String?, String, Double).self)
            return S3Object(
                bucket: bucket, key: key, sha256: sha256, size: size, etag: etag, contentType: contentType,
                metadata: (try? JSON.decode([String: String].self, metadata)) ?? [:], lastModified: lastModified)
        }
    }
}
