import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import RelctlCore
import RelctlSigV4
import RelctlStorage

/// Content-addressed code in a bucket of any S3-compatible endpoint (AWS S3, MinIO, Ceph, moto):
/// objects at `PREFIX/sha256/ab/<hash>`, path-style URLs, every request signed with relctl's SigV4.
///
/// An upload streams the staged file in 1 MiB chunks (no second copy of the package in memory) and
/// signs `x-amz-content-sha256` with the package's known SHA-256, so an endpoint that checks payload
/// hashes (AWS S3, MinIO, Ceph) refuses a body that is not the package; `x-amz-checksum-sha256` asks
/// for the same check where supported. relctl hashes what it sent as it sends it (SHA-256 and MD5),
/// then a HEAD must show the size, and the MD5 as ETag or the SHA-256 as checksum where the
/// endpoint reports them, before `put` returns. A read checks the hash of what came back.
public struct S3CodeStore: CodeObjectStore {
    public let settings: S3CodeStoreSettings
    let client: HTTPClient
    /// Keys per ListObjectsV2 page (S3's maximum is 1000; tests use a small one to page).
    let pageSize: Int
    /// No package is larger than Lambda's unzipped limit, so no read collects more.
    static let maximumObjectSize = Int(Limits.codeSizeUnzipped)
    static let emptyPayloadHash = SHA256.hash(data: Data()).hexString

    /// The client every store shares unless given another: an endpoint that refuses connections
    /// fails the request at once (AsyncHTTPClient's default retries the connection until the request's
    /// deadline, minutes for an upload), and a connection attempt gives up after 10 s.
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        // Lives as long as the process, as `HTTPClient.shared` does.
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(settings: S3CodeStoreSettings, client: HTTPClient = S3CodeStore.client, pageSize: Int = 1000) {
        self.settings = settings
        self.client = client
        self.pageSize = max(1, min(pageSize, 1000))
    }

    public var location: String { settings.url }

    // MARK: - The bucket

    /// A HEAD of the bucket: whether the endpoint answers, the bucket exists and the keys are accepted,
    /// as one error saying which is wrong.
    public func checkBucket() async throws(RelctlError) {
        let response = try await send(.HEAD, path: bucketPath, query: nil, what: "HeadBucket")
        guard response.status == .ok else { throw error(for: response, body: nil, what: "HeadBucket", key: nil) }
    }

    /// CreateBucket in the store's region (us-east-1 takes no location body); an existing bucket of
    /// the same owner is not an error.
    public func createBucket() async throws(RelctlError) {
        let location =
            settings.region == "us-east-1"
            ? nil
            : Data(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(settings.region)</LocationConstraint></CreateBucketConfiguration>"
                    .utf8)
        let response = try await send(
            .PUT, path: bucketPath, query: nil, what: "CreateBucket",
            payloadHash: SHA256.hash(data: location ?? Data()).hexString,
            body: location.map { .bytes(ByteBuffer(bytes: $0)) })
        let body = try await collect(response, what: "CreateBucket")
        guard response.status == .ok || S3ErrorBody.parse(body)?.code == "BucketAlreadyOwnedByYou" else {
            throw error(for: response, body: body, what: "CreateBucket", key: nil)
        }
    }

    // MARK: - CodeObjectStore

    public func put(_ sha256Hex: String, size: Int64, from stagedFile: URL) async throws(RelctlError) {
        try Self.requireHash(sha256Hex)
        let key = settings.key(for: sha256Hex)
        let reader: FileChunks
        do {
            reader = try FileChunks(url: stagedFile)
        } catch {
            throw RelctlError(
                .service, "Cannot read the staged package \(stagedFile.path): \(error.localizedDescription)")
        }
        guard reader.size == size else {
            throw RelctlError(
                .integrityCheckFailed,
                "The staged package \(stagedFile.path) is \(reader.size) bytes, not the \(size) of \(sha256Hex); nothing was uploaded."
            )
        }
        let checksum = Data(hexString: sha256Hex).base64EncodedString()
        let response = try await send(
            .PUT, path: objectPath(key), query: nil, what: "PutObject", payloadHash: sha256Hex,
            headers: [("x-amz-checksum-sha256", checksum)], extraHeaders: [("Content-Type", "application/zip")],
            body: .stream(reader, length: .known(size)))
        let body = try await collect(response, what: "PutObject")
        guard response.status == .ok else { throw error(for: response, body: body, what: "PutObject", key: key) }
        let sent = reader.digests()
        guard sent.count == size, sent.sha256 == sha256Hex else {
            // Only an endpoint that ignores the signed payload hash (moto) stores such a body; the
            // object may be referenced already, so it is reported, not deleted.
            throw RelctlError(
                .integrityCheckFailed,
                "The staged package \(stagedFile.path) changed while it was uploaded to s3://\(settings.bucket)/\(key) (sent \(sent.count) bytes hashing to \(sent.sha256)); run `relctl fsck --verify-hashes`."
            )
        }
        let head = try await send(
            .HEAD, path: objectPath(key), query: nil, what: "HeadObject", headers: [("x-amz-checksum-mode", "ENABLED")])
        guard head.status == .ok else {
            throw error(for: head, body: nil, what: "HeadObject after PutObject", key: key)
        }
        let storedSize = head.headers.first(name: "content-length").flatMap { Int64($0) }
        guard storedSize == size else {
            throw RelctlError(
                .integrityCheckFailed,
                "s3://\(settings.bucket)/\(key) is \(storedSize.map(String.init) ?? "an unknown number of") bytes after PutObject, not \(size)."
            )
        }
        let etag = head.headers.first(name: "etag")?.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            .lowercased()
        // A single PUT's ETag is the body's MD5, except under SSE-KMS or SSE-C where it is opaque.
        let opaqueETag =
            head.headers.first(name: "x-amz-server-side-encryption")?.hasPrefix("aws:kms") == true
            || head.headers.contains(name: "x-amz-server-side-encryption-customer-algorithm")
        if let etag, !opaqueETag, etag.utf8.count == 32,
            etag.utf8.allSatisfy({ $0 < 0x80 && Character(UnicodeScalar($0)).isHexDigit }), etag != sent.md5
        {
            throw RelctlError(
                .integrityCheckFailed,
                "s3://\(settings.bucket)/\(key) has ETag \(etag) after PutObject, but the MD5 of the \(size) bytes sent is \(sent.md5)."
            )
        }
        if let stored = head.headers.first(name: "x-amz-checksum-sha256"), stored != checksum {
            throw RelctlError(
                .integrityCheckFailed,
                "s3://\(settings.bucket)/\(key) has x-amz-checksum-sha256 \(stored) after PutObject, not \(checksum).")
        }
    }

    public func get(_ sha256Hex: String) async throws(RelctlError) -> Data {
        try Self.requireHash(sha256Hex)
        let key = settings.key(for: sha256Hex)
        let response = try await send(.GET, path: objectPath(key), query: nil, what: "GetObject")
        let body = try await collect(response, what: "GetObject")
        guard response.status == .ok else { throw error(for: response, body: body, what: "GetObject", key: key) }
        guard SHA256.hash(data: body).hexString == sha256Hex else {
            throw RelctlError(
                .integrityCheckFailed,
                "s3://\(settings.bucket)/\(key) does not match its hash (\(body.count) bytes hashing to \(SHA256.hash(data: body).hexString)): it was changed in the bucket; `relctl fsck --verify-hashes` lists every such object."
            )
        }
        return body
    }

    public func size(of sha256Hex: String) async throws(RelctlError) -> Int64? {
        try Self.requireHash(sha256Hex)
        let key = settings.key(for: sha256Hex)
        let response = try await send(.HEAD, path: objectPath(key), query: nil, what: "HeadObject")
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw error(for: response, body: nil, what: "HeadObject", key: key) }
        return response.headers.first(name: "content-length").flatMap { Int64($0) }
    }

    public func delete(_ sha256Hex: String) async throws(RelctlError) {
        try Self.requireHash(sha256Hex)
        let key = settings.key(for: sha256Hex)
        let response = try await send(.DELETE, path: objectPath(key), query: nil, what: "DeleteObject")
        let body = try await collect(response, what: "DeleteObject")
        guard [.noContent, .ok, .notFound].contains(response.status) else {
            throw error(for: response, body: body, what: "DeleteObject", key: key)
        }
    }

    public func list() async throws(RelctlError) -> [CodeObject] {
        var objects: [CodeObject] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("max-keys", String(pageSize)), ("prefix", settings.objectKeyPrefix)]
            if let token { query.append(("continuation-token", token)) }
            let encoded = query.map { "\($0.0)=\(SigV4.uriEncode($0.1, keepSlash: false))" }.joined(separator: "&")
            let response = try await send(.GET, path: bucketPath, query: encoded, what: "ListObjectsV2")
            let body = try await collect(response, what: "ListObjectsV2")
            guard response.status == .ok else {
                throw error(for: response, body: body, what: "ListObjectsV2", key: nil)
            }
            let page = try ListObjectsPage.parse(body, bucket: settings.bucket)
            for entry in page.entries {
                if let hash = settings.sha256Hex(ofKey: entry.key) {
                    objects.append(CodeObject(sha256Hex: hash, size: entry.size, lastModified: entry.lastModified))
                }
            }
            token = page.isTruncated ? page.nextContinuationToken : nil
            if page.isTruncated && token == nil {
                throw RelctlError(
                    .service,
                    "ListObjectsV2 on s3://\(settings.bucket) said the listing is truncated but gave no NextContinuationToken."
                )
            }
        } while token != nil
        return objects
    }

    /// Writes bytes at a key as they are, with none of `put`'s checks: tests play someone changing the bucket.
    func overwrite(key: String, with bytes: Data) async throws(RelctlError) {
        let response = try await send(
            .PUT, path: objectPath(key), query: nil, what: "PutObject", payloadHash: SHA256.hash(data: bytes).hexString,
            body: .bytes(ByteBuffer(bytes: bytes)))
        let body = try await collect(response, what: "PutObject")
        guard response.status == .ok else { throw error(for: response, body: body, what: "PutObject", key: key) }
    }

    // MARK: - Requests

    var bucketPath: String { "/\(settings.bucket)" }

    /// Path-style: `/bucket/key`. Bucket and keys are plain ASCII (the parser allows nothing else), so the path signed is the path sent.
    func objectPath(_ key: String) -> String { "/\(settings.bucket)/\(SigV4.uriEncode(key, keepSlash: true))" }

    func send(
        _ method: HTTPMethod, path: String, query: String?, what: String,
        payloadHash: String = S3CodeStore.emptyPayloadHash,
        headers signedExtra: [(String, String)] = [], extraHeaders: [(String, String)] = [],
        body: HTTPClientRequest.Body? = nil
    ) async throws(RelctlError) -> HTTPClientResponse {
        let endpoint = settings.endpoint.absoluteString
        var request = HTTPClientRequest(url: endpoint + path + (query.map { "?\($0)" } ?? ""))
        request.method = method
        let host = settings.endpoint.host.map { name in settings.endpoint.port.map { "\(name):\($0)" } ?? name } ?? ""
        for (name, value) in S3RequestSigner.headers(
            method: method.rawValue, host: host, path: path, query: query, payloadHash: payloadHash, extra: signedExtra,
            settings: settings, now: Date())
        {
            request.headers.add(name: name, value: value)
        }
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        if let body { request.body = body }
        do {
            return try await client.execute(request, timeout: .seconds(300))
        } catch {
            throw RelctlError(
                .service,
                "Cannot reach the S3 endpoint \(endpoint) for \(what) on s3://\(settings.bucket): \(Self.describe(error)) (the endpoint comes from --s3-endpoint or RELCTL_S3_ENDPOINT)."
            )
        }
    }

    func collect(_ response: HTTPClientResponse, what: String) async throws(RelctlError) -> Data {
        do {
            return Data(try await response.body.collect(upTo: Self.maximumObjectSize).readableBytesView)
        } catch {
            throw RelctlError(
                .service,
                "The S3 endpoint \(settings.endpoint.absoluteString) broke off the answer to \(what) on s3://\(settings.bucket): \(Self.describe(error))."
            )
        }
    }

    /// One line naming what was wrong: the bucket, the keys, the object, or the endpoint.
    func error(for response: HTTPClientResponse, body: Data?, what: String, key: String?) -> RelctlError {
        let parsed = body.flatMap(S3ErrorBody.parse)
        let status = Int(response.status.code)
        let code = parsed?.code ?? (response.headers.first(name: "x-amz-error-code")) ?? ""
        let said =
            "\(what) answered HTTP \(status)\(code.isEmpty ? "" : " \(code)")\(parsed?.message.map { ": \($0)" } ?? "")"
        switch code {
        case "NoSuchBucket":
            return RelctlError(
                .resourceNotFound,
                "The bucket '\(settings.bucket)' does not exist at \(settings.endpoint.absoluteString) (\(said)): create it, or name another with --code-store / RELCTL_CODE_STORE."
            )
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "AuthorizationHeaderMalformed",
            "InvalidToken", "ExpiredToken":
            return RelctlError(
                .accessDenied,
                "The S3 endpoint \(settings.endpoint.absoluteString) refused relctl's keys for s3://\(settings.bucket) (\(said)): check RELCTL_S3_ACCESS_KEY_ID, RELCTL_S3_SECRET_ACCESS_KEY and RELCTL_S3_REGION."
            )
        case "NoSuchKey":
            return RelctlError(
                .resourceNotFound,
                "The code object s3://\(settings.bucket)/\(key ?? "") is not in the bucket (`relctl fsck` checks the store)."
            )
        default:
            break
        }
        // HEAD answers have no body: judge by the status.
        switch status {
        case 404 where key == nil:
            return RelctlError(
                .resourceNotFound,
                "The bucket '\(settings.bucket)' does not exist at \(settings.endpoint.absoluteString) (\(said)): create it, or name another with --code-store / RELCTL_CODE_STORE."
            )
        case 404:
            return RelctlError(
                .resourceNotFound,
                "The code object s3://\(settings.bucket)/\(key!) is not in the bucket (`relctl fsck` checks the store)."
            )
        case 401, 403:
            return RelctlError(
                .accessDenied,
                "The S3 endpoint \(settings.endpoint.absoluteString) refused relctl's keys for s3://\(settings.bucket) (\(said)): check RELCTL_S3_ACCESS_KEY_ID, RELCTL_S3_SECRET_ACCESS_KEY and RELCTL_S3_REGION."
            )
        default:
            return RelctlError(
                .service,
                "The S3 endpoint \(settings.endpoint.absoluteString) failed on s3://\(settings.bucket)\(key.map { "/\($0)" } ?? ""): \(said)."
            )
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    private static func requireHash(_ sha256Hex: String) throws(RelctlError) {
        guard sha256Hex.isSHA256Hex else {
            throw RelctlError(
                .invalidParameterValue,
                "'\(sha256Hex.prefix(80))' is not a code object's name: the 64 lowercase hex digits of its SHA-256.")
        }
    }
}

/// SigV4 headers for a path-style S3 request: `host`, `x-amz-content-sha256`, `x-amz-date` and any
/// other `x-amz-*` header given, all signed (S3 signs the path as sent, encoded once).
enum S3RequestSigner {
    static func headers(
        method: String, host: String, path: String, query: String?, payloadHash: String, extra: [(String, String)],
        settings: S3CodeStoreSettings, now: Date
    ) -> [(String, String)] {
        let amzDate = SigV4.formatAmzDate(now)
        let date = String(amzDate.prefix(8))
        let headers =
            ([("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)]
            + extra.map { ($0.0.lowercased(), $0.1) })
            .sorted { $0.0 < $1.0 }
        let signed = headers.map(\.0).joined(separator: ";")
        let canonical = [
            method, path, SigV4.canonicalQuery(query),
            headers.map { "\($0.0):\($0.1.trimmingCharacters(in: .whitespaces))\n" }.joined(),
            signed, payloadHash,
        ].joined(separator: "\n")
        let signature = SigV4.signature(
            canonicalRequest: canonical, amzDate: amzDate, date: date, region: settings.region,
            service: "s3", secret: settings.secretAccessKey)
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(settings.accessKeyId)/\(date)/\(settings.region)/s3/aws4_request, SignedHeaders=\(signed), Signature=\(signature)"
        // AsyncHTTPClient sets Host itself, from the URL.
        return headers.filter { $0.0 != "host" } + [("Authorization", authorization)]
    }
}

extension Data {
    /// The bytes of an even-length hex string (a SHA-256 here); an invalid digit reads as 0.
    init(hexString: String) {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in hexString.utf8 {
            let value: UInt8 =
                switch character {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
                default: 0
                }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        self.init(bytes)
    }
}
