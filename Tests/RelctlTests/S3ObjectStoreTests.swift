import Foundation
import RelctlCore
import RelctlPackages
import RelctlStorage
import RelctlStore
import Testing

/// The S3 subset's storage (what `sam deploy` uploads to `relctl serve`): objects in a bucket, their
/// bytes content-addressed under `s3/sha256/`, kept apart from code blobs and removed when no object names them.
@Suite("S3 object store")
struct S3ObjectStoreTests {
    let sandbox: Sandbox
    var registry: Registry { sandbox.registry }

    init() throws { sandbox = try Sandbox() }

    func bytesFile(_ data: Data) -> URL {
        let hash = CodeHash.hex(of: data)
        return sandbox.dataDirectory.appendingPathComponent("s3/sha256/\(hash.prefix(2))/\(hash)")
    }

    @Test func putObjectNeedsItsBucketAndKeepsBytesUntilNoObjectNamesThem() throws {
        let zip = Data("artifact-1".utf8)
        #expect(
            try registry.putS3Object(
                bucket: "artifacts", key: "a", data: zip, etag: "e", contentType: nil, metadata: [:]) == nil)
        #expect(try registry.createS3Bucket("artifacts"))
        #expect(try !registry.createS3Bucket("artifacts"), "a second CreateBucket finds it")
        let first = try #require(
            try registry.putS3Object(
                bucket: "artifacts", key: "dir/a.zip", data: zip, etag: "e1",
                contentType: "application/zip", metadata: ["checksum": "x"]))
        _ = try registry.putS3Object(
            bucket: "artifacts", key: "dir/b.zip", data: zip, etag: "e1", contentType: nil, metadata: [:])
        #expect(first.size == Int64(zip.count) && first.metadata == ["checksum": "x"])
        #expect(
            try registry.s3ObjectData(try #require(try registry.s3Object(bucket: "artifacts", key: "dir/a.zip"))) == zip
        )
        #expect(FileManager.default.fileExists(atPath: bytesFile(zip).path))
        #expect(
            !FileManager.default.fileExists(
                atPath: sandbox.dataDirectory.appendingPathComponent(
                    "blobs/sha256/\(first.sha256.prefix(2))/\(first.sha256)"
                ).path),
            "objects are not code blobs")

        // Replacing one key and deleting the other: the bytes go only once neither names them.
        let replacement = Data("artifact-2".utf8)
        _ = try registry.putS3Object(
            bucket: "artifacts", key: "dir/a.zip", data: replacement, etag: "e2", contentType: nil, metadata: [:])
        #expect(FileManager.default.fileExists(atPath: bytesFile(zip).path), "dir/b.zip still names the first bytes")
        try registry.deleteS3Object(bucket: "artifacts", key: "dir/b.zip")
        #expect(!FileManager.default.fileExists(atPath: bytesFile(zip).path))
        #expect(try registry.s3Object(bucket: "artifacts", key: "dir/b.zip") == nil)
        try registry.deleteS3Object(bucket: "artifacts", key: "dir/b.zip")  // as S3: deleting nothing succeeds

        #expect(try registry.deleteS3Bucket("artifacts") == false, "a bucket with objects stays")
        try registry.deleteS3Object(bucket: "artifacts", key: "dir/a.zip")
        #expect(!FileManager.default.fileExists(atPath: bytesFile(replacement).path))
        #expect(try registry.deleteS3Bucket("artifacts") == true)
        #expect(try registry.deleteS3Bucket("artifacts") == nil)
    }

    @Test func listingIsInKeyOrderUnderAPrefixAfterAKey() throws {
        #expect(try registry.createS3Bucket("b1"))
        for key in ["x/2", "x/1", "y/1", "x_1", "x%1"] {
            _ = try registry.putS3Object(
                bucket: "b1", key: key, data: Data(key.utf8), etag: key, contentType: nil, metadata: [:])
        }
        #expect(
            try registry.s3Objects(bucket: "b1", prefix: "x/", startAfter: nil, limit: 10).map(\.key) == ["x/1", "x/2"])
        #expect(
            try registry.s3Objects(bucket: "b1", prefix: "x_", startAfter: nil, limit: 10).map(\.key) == ["x_1"],
            "_ and % in a prefix are literal")
        #expect(
            try registry.s3Objects(bucket: "b1", prefix: "", startAfter: "x/2", limit: 2).map(\.key) == ["x_1", "y/1"])
    }
}
