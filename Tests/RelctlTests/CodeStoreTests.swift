import Foundation
import RelctlCore
import RelctlPackages
import RelctlProcess
import RelctlStorage
import RelctlStore
import Testing

@testable import RelctlS3

/// `--code-store` / `RELCTL_CODE_STORE` and their companions: one clear error per mistake.
@Suite("Code store location")
struct CodeStoreLocationTests {
    let keys = ["RELCTL_S3_ACCESS_KEY_ID": "AKID", "RELCTL_S3_SECRET_ACCESS_KEY": "secret"]

    @Test func unsetOrEmptyMeansTheDataDirectory() throws {
        #expect(try CodeStoreLocation.parse(codeStore: nil, s3Endpoint: nil, environment: [:]) == .dataDirectory)
        #expect(
            try CodeStoreLocation.parse(codeStore: "", s3Endpoint: "http://x:1", environment: ["RELCTL_CODE_STORE": ""])
                == .dataDirectory)
    }

    @Test func aBucketURLWithEndpointRegionAndKeys() throws {
        let environment = keys.merging(["RELCTL_CODE_STORE": "s3://ignored-by-flag", "RELCTL_S3_REGION": "eu-west-1"]) {
            $1
        }
        let location = try CodeStoreLocation.parse(
            codeStore: "s3://relctl-code/team/a/", s3Endpoint: "http://127.0.0.1:9000/", environment: environment)
        guard case .s3(let settings) = location else { Issue.record("\(location)"); return }
        #expect(settings.bucket == "relctl-code" && settings.prefix == "team/a" && settings.region == "eu-west-1")
        #expect(settings.endpoint.absoluteString == "http://127.0.0.1:9000")
        #expect(settings.url == "s3://relctl-code/team/a")
        let hash = String(repeating: "ab", count: 32)
        #expect(settings.key(for: hash) == "team/a/sha256/ab/\(hash)")
        #expect(settings.sha256Hex(ofKey: "team/a/sha256/ab/\(hash)") == hash)
        #expect(
            settings.sha256Hex(ofKey: "team/a/sha256/cd/\(hash)") == nil, "a hash outside its folder is not an object")
        #expect(settings.sha256Hex(ofKey: "team/a/sha256/ab/\(hash).tmp") == nil)
    }

    @Test func theEnvironmentAloneAndAWSsEndpointByDefault() throws {
        let location = try CodeStoreLocation.parse(
            codeStore: nil, s3Endpoint: nil, environment: keys.merging(["RELCTL_CODE_STORE": "s3://code-bucket"]) { $1 }
        )
        guard case .s3(let settings) = location else { Issue.record("\(location)"); return }
        #expect(settings.prefix == "" && settings.key(for: String(repeating: "0", count: 64)).hasPrefix("sha256/00/"))
        #expect(
            settings.endpoint.absoluteString == "https://s3.us-east-1.amazonaws.com" && settings.region == "us-east-1")
    }

    @Test(arguments: [
        ("file:///srv/code", "has the scheme 'file'"),
        ("bucket/prefix", "is not a URL"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://Upper_Case", "is not a bucket name"),
        ("s3://ab", "is not a bucket name"),
        ("s3://bucket/a//b", "the prefix 'a//b' is not allowed"),
        ("s3://bucket/a/../b", "is not allowed"),
        ("s3://bucket/a b", "is not allowed"),
        ("s3://bucket/p?versionId=1", "has a query or fragment"),
    ])
    func aWrongCodeStoreURLIsOneClearError(url: String, says: String) {
        let error = expectRelctlError(.invalidParameterValue) {
            try CodeStoreLocation.parse(codeStore: url, s3Endpoint: "http://127.0.0.1:9000", environment: keys)
        }
        #expect(error?.message.contains(says) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
        #expect(error?.message.contains("--code-store") == true, "names the setting")
    }

    @Test(arguments: ["ftp://host", "http://", "http://host/path", "http://host?x=1", "not a url"])
    func aWrongEndpointIsOneClearError(endpoint: String) {
        let error = expectRelctlError(.invalidParameterValue) {
            try CodeStoreLocation.parse(
                codeStore: "s3://bucket", s3Endpoint: nil,
                environment: keys.merging(["RELCTL_S3_ENDPOINT": endpoint]) { $1 })
        }
        #expect(
            error?.message.hasPrefix("RELCTL_S3_ENDPOINT '") == true
                && error?.message.contains("http(s)://HOST[:PORT]") == true, "\(error?.message ?? "")")
    }

    @Test func missingKeysOrABadRegionAreNamed() {
        let noSecret = expectRelctlError(.invalidParameterValue) {
            try CodeStoreLocation.parse(
                codeStore: "s3://bucket", s3Endpoint: "http://h:1", environment: ["RELCTL_S3_ACCESS_KEY_ID": "k"])
        }
        #expect(noSecret?.message.contains("set RELCTL_S3_SECRET_ACCESS_KEY (") == true, "\(noSecret?.message ?? "")")
        let region = expectRelctlError(.invalidParameterValue) {
            try CodeStoreLocation.parse(
                codeStore: "s3://bucket", s3Endpoint: nil,
                environment: keys.merging(["RELCTL_S3_REGION": "US East"]) { $1 })
        }
        #expect(region?.message.hasPrefix("RELCTL_S3_REGION 'US East'") == true)
    }
}

/// A package staged to a file, as publish stages one.
struct StagedFile {
    let url: URL
    let bytes: Data
    var hash: String { CodeHash.hex(of: bytes) }
    var size: Int64 { Int64(bytes.count) }

    init(in folder: URL, _ bytes: Data) throws {
        self.bytes = bytes
        url = folder.appendingPathComponent("staged-\(UUID().uuidString).zip")
        try bytes.write(to: url)
    }
}

/// What every engine of `CodeObjectStore` must do, run on the data directory's blob store.
@Suite("Code object store: filesystem")
struct FileCodeObjectStoreTests {
    let sandbox: Sandbox
    let store: BlobStore

    init() throws {
        sandbox = try Sandbox()
        store = BlobStore(root: sandbox.dataDirectory.appendingPathComponent("blobs/sha256", isDirectory: true))
    }

    @Test func putReadsBackByHashAndListsWithItsSize() async throws {
        let staged = try StagedFile(in: sandbox.root, TestData.noise(300_000, seed: 1))
        try await store.put(staged.hash, size: staged.size, from: staged.url)
        #expect(try await store.get(staged.hash) == staged.bytes)
        #expect(try await store.size(of: staged.hash) == staged.size)
        #expect(try await store.list().map(\.sha256Hex) == [staged.hash])
        #expect(FileManager.default.fileExists(atPath: staged.url.path), "the staged file is the caller's")
        #expect(store.files().allSatisfy { $0.isBlob }, "no temporary file is left")
        try await store.delete(staged.hash)
        #expect(try await store.size(of: staged.hash) == nil)
        try await store.delete(staged.hash)
    }

    @Test func aStagedFileThatIsNotItsHashIsRefused() async throws {
        let staged = try StagedFile(in: sandbox.root, Data("package".utf8))
        await expectRelctlErrorAsync(.integrityCheckFailed) {
            try await store.put(String(repeating: "0", count: 64), size: staged.size, from: staged.url)
        }
        #expect(try await store.list().isEmpty)
    }

    @Test func aChangedBlobIsDetectedOnRead() async throws {
        let staged = try StagedFile(in: sandbox.root, Data("original".utf8))
        try await store.put(staged.hash, size: staged.size, from: staged.url)
        try Data("tampered".utf8).write(to: store.url(for: staged.hash))
        await expectRelctlErrorAsync(.integrityCheckFailed) { try await store.get(staged.hash) }
        #expect(
            try await CodeObjectMaintenance.check(store, expected: [staged.hash: staged.size], verifyHashes: true)
                == ["Code object \(staged.hash)'s content in \(store.location) does not match its hash"])
    }

    @Test func gcRemovesOnlyOldUnreferencedObjects() async throws {
        try await CodeObjectStoreContract.gcRespectsTheAgeGuard(store, folder: sandbox.root)
    }
}

/// The behaviours both engines share, so each suite runs the same checks.
enum CodeObjectStoreContract {
    static func gcRespectsTheAgeGuard(_ store: any CodeObjectStore, folder: URL) async throws {
        let kept = try StagedFile(in: folder, Data("referenced".utf8))
        let orphan = try StagedFile(in: folder, Data("orphan".utf8))
        for staged in [kept, orphan] { try await store.put(staged.hash, size: staged.size, from: staged.url) }
        let written = try #require(try await store.list().first?.lastModified)
        let referenced: @Sendable () async throws(RelctlError) -> Set<String> = { [kept.hash] }
        // Just written: an upload whose row may not have committed yet is never collected.
        let young = try await CodeObjectMaintenance.collectGarbage(
            in: store, referenced: referenced, now: written, minimumAge: 3600)
        #expect(young.removed.isEmpty && young.keptYoung == 1)
        let old = try await CodeObjectMaintenance.collectGarbage(
            in: store, referenced: referenced, now: written.addingTimeInterval(7200), minimumAge: 3600)
        #expect(old.removed.map(\.sha256Hex) == [orphan.hash] && old.removedBytes == orphan.size && old.keptYoung == 0)
        #expect(try await store.list().map(\.sha256Hex) == [kept.hash])
        #expect(
            try await CodeObjectMaintenance.check(store, expected: [kept.hash: kept.size], verifyHashes: true).isEmpty)
        let problems = try await CodeObjectMaintenance.check(
            store, expected: [kept.hash: kept.size + 1, orphan.hash: orphan.size], verifyHashes: false)
        #expect(problems.count == 2 && problems.contains { $0.contains("\(orphan.hash) has a row but is not in") })
    }
}

/// A real moto_server on a free port of 127.0.0.1, killed (its whole group) when the test ends.
final class MotoServer: @unchecked Sendable {
    let process: ChildProcess
    let endpoint: URL

    init(environment extra: [String: String] = [:]) throws {
        let port = LoopbackPort.free()
        process = try ChildProcess.spawn(
            .init(
                arguments: ["/usr/bin/env", "moto_server", "-H", "127.0.0.1", "-p", String(port)],
                environment: ProcessInfo.processInfo.environment.merging(extra) { $1 }, logPath: "/dev/null"))
        endpoint = URL(string: "http://127.0.0.1:\(port)")!
        // Up within 30 s or the test fails (and the group is killed by deinit).
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if LoopbackPort.accepts(port) { return }
            if process.hasExited { break }
            usleep(100_000)
        }
        process.killGroupAndWait()
        throw RelctlError(
            .service,
            "moto_server did not start on port \(port) within 30 s (is it on PATH? `scripts/setup test` installs it)")
    }

    deinit { process.killGroupAndWait() }

    func settings(
        bucket: String = "relctl-code", prefix: String = "team", keyId: String = "AKIDTEST", secret: String = "secret"
    ) -> S3CodeStoreSettings {
        S3CodeStoreSettings(
            bucket: bucket, prefix: prefix, endpoint: endpoint, region: "us-east-1", accessKeyId: keyId,
            secretAccessKey: secret)
    }
}

/// The S3 code store against a real S3-compatible endpoint (moto_server), signed with relctl's SigV4.
@Suite("Code object store: S3 (moto_server)", .serialized)
struct S3CodeStoreTests {
    let sandbox: Sandbox
    let moto: MotoServer

    init() throws {
        sandbox = try Sandbox()
        moto = try MotoServer()
    }

    func store(pageSize: Int = 1000) async throws -> S3CodeStore {
        let store = S3CodeStore(settings: moto.settings(), pageSize: pageSize)
        try await store.createBucket()
        return store
    }

    @Test func putStreamsTheStagedFileAndReadsBackVerified() async throws {
        let store = try await store()
        try await store.checkBucket()
        // Larger than one upload chunk, so the body is sent in several.
        let staged = try StagedFile(in: sandbox.root, TestData.noise(3 * FileChunks.chunkSize + 12_345, seed: 7))
        try await store.put(staged.hash, size: staged.size, from: staged.url)
        #expect(try await store.get(staged.hash) == staged.bytes)
        #expect(try await store.size(of: staged.hash) == staged.size)
        let listed = try await store.list()
        #expect(listed.map(\.sha256Hex) == [staged.hash] && listed.first?.size == staged.size)
        // The same hash again is allowed (a second publish of the same code).
        try await store.put(staged.hash, size: staged.size, from: staged.url)
        try await store.delete(staged.hash)
        #expect(try await store.size(of: staged.hash) == nil)
        await expectRelctlErrorAsync(.resourceNotFound) { try await store.get(staged.hash) }
        try await store.delete(staged.hash)
    }

    @Test func aStagedFileOfTheWrongSizeIsNotUploaded() async throws {
        let store = try await store()
        let staged = try StagedFile(in: sandbox.root, Data("package".utf8))
        await expectRelctlErrorAsync(.integrityCheckFailed) {
            try await store.put(staged.hash, size: staged.size + 1, from: staged.url)
        }
        #expect(try await store.list().isEmpty)
    }

    @Test func aCorruptedObjectIsDetectedOnReadAndByFsck() async throws {
        let store = try await store()
        let staged = try StagedFile(in: sandbox.root, Data("the real package".utf8))
        try await store.put(staged.hash, size: staged.size, from: staged.url)
        // Someone overwrites the object in the bucket with other bytes of the same length.
        try await store.overwrite(key: store.settings.key(for: staged.hash), with: Data("the fake package".utf8))
        let error = await expectRelctlErrorAsync(.integrityCheckFailed) { try await store.get(staged.hash) }
        #expect(error?.message.contains("does not match its hash") == true)
        #expect(
            try await CodeObjectMaintenance.check(store, expected: [staged.hash: staged.size], verifyHashes: false)
                .isEmpty, "the size is right")
        #expect(
            try await CodeObjectMaintenance.check(store, expected: [staged.hash: staged.size], verifyHashes: true).count
                == 1)
    }

    @Test func gcRespectsTheAgeGuard() async throws {
        try await CodeObjectStoreContract.gcRespectsTheAgeGuard(try await store(), folder: sandbox.root)
    }

    /// The server's writes with code: the package uploaded by the async client before the write, which then records
    /// it without touching the bucket (from synchronous code, an upload is a thread waiting for it).
    @Test func aPackageUploadedAheadIsRecordedWithoutUploadingAgain() async throws {
        let store = try await store()
        let registry = try Registry(
            dataDirectory: sandbox.root.appendingPathComponent("ahead"), actor: "test", remoteCode: store)
        let zip = try PackageBuilder.zip(directory: try sandbox.folder(["bootstrap": Data("#!/bin/sh\necho a\n".utf8)]))
        let uploaded = try await registry.uploadAhead(try registry.blobs.inspectAndStage(zip))
        #expect(uploaded.uploadedAhead)
        #expect(try await store.get(uploaded.sha256Hex) == zip)
        // A package without a prestaged file is left for the write to upload.
        let plain = try PackageInspector.inspect(
            try PackageBuilder.zip(directory: try sandbox.folder(["bootstrap": Data("#!/bin/sh\necho b\n".utf8)])))
        #expect(try await registry.uploadAhead(plain).uploadedAhead == false)

        // With the bucket gone, only the package uploaded ahead can still be recorded.
        moto.process.killGroupAndWait()
        _ = try registry.createFunction(name: "ahead", settings: TestData.settings, code: uploaded)
        #expect(try registry.getFunction(FunctionReference(name: "ahead")).CodeSha256 == uploaded.codeSha256)
        #expect(throws: RelctlError.self) {
            _ = try registry.createFunction(name: "plain", settings: TestData.settings, code: plain)
        }
        #expect(throws: RelctlError.self) { try registry.getFunction(FunctionReference(name: "plain")) }
    }

    @Test func listFollowsContinuationTokensAndSkipsForeignKeys() async throws {
        let store = try await store(pageSize: 3)
        var hashes: Set<String> = []
        for index in 0..<8 {
            let staged = try StagedFile(in: sandbox.root, Data("object \(index)".utf8))
            try await store.put(staged.hash, size: staged.size, from: staged.url)
            hashes.insert(staged.hash)
        }
        // A key under the prefix that is not a package object is not listed (and so never collected).
        try await store.overwrite(key: "team/sha256/README", with: Data("notes".utf8))
        let listed = try await store.list()
        #expect(listed.count == 8 && Set(listed.map(\.sha256Hex)) == hashes)
    }

    @Test func aMissingBucketIsOneClearError() async throws {
        let store = S3CodeStore(settings: moto.settings(bucket: "no-such-bucket"))
        for operation in [{ try await store.checkBucket() }, { _ = try await store.list() }]
            as [@Sendable () async throws -> Void]
        {
            let error = await expectRelctlErrorAsync(.resourceNotFound) { try await operation() }
            #expect(
                error?.message.hasPrefix(
                    "The bucket 'no-such-bucket' does not exist at \(moto.endpoint.absoluteString)") == true,
                "\(error?.message ?? "")")
        }
        let staged = try StagedFile(in: sandbox.root, Data("package".utf8))
        await expectRelctlErrorAsync(.resourceNotFound, messagePrefix: "The bucket 'no-such-bucket' does not exist") {
            try await store.put(staged.hash, size: staged.size, from: staged.url)
        }
    }

    @Test func anUnreachableEndpointIsOneClearError() async throws {
        var settings = moto.settings()
        settings.endpoint = URL(string: "http://127.0.0.1:\(LoopbackPort.free())")!
        let store = S3CodeStore(settings: settings)
        let error = await expectRelctlErrorAsync(.service) { try await store.checkBucket() }
        #expect(
            error?.message.hasPrefix(
                "Cannot reach the S3 endpoint \(settings.endpoint.absoluteString) for HeadBucket on s3://relctl-code")
                == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
    }
}

/// Keys moto does not know: moto checks them only when started with INITIAL_NO_AUTH_ACTION_COUNT=0.
@Suite("Code object store: S3 keys")
struct S3CodeStoreKeyTests {
    @Test func unknownKeysAreOneClearError() async throws {
        let moto = try MotoServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"])
        let store = S3CodeStore(settings: moto.settings(keyId: "AKIAUNKNOWNKEY000000"))
        let listing = await expectRelctlErrorAsync(.accessDenied) { _ = try await store.list() }
        #expect(
            listing?.message.contains("InvalidAccessKeyId") == true
                && listing?.message.contains("RELCTL_S3_ACCESS_KEY_ID") == true,
            "\(listing?.message ?? "")")
        await expectRelctlErrorAsync(
            .accessDenied, messagePrefix: "The S3 endpoint \(moto.endpoint.absoluteString) refused relctl's keys"
        ) {
            try await store.checkBucket()
        }
    }
}
