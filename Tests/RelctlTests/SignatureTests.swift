import Foundation
import RelctlCore
import RelctlPackages
import RelctlSigV4
import RelctlStore
import Testing

/// The request botocore 1.43 signs for `PUT .../functions/orders/configuration` with the body
/// `{"Description":"owner"}` at 2015-08-30T12:36:00Z (key AKIDEXAMPLE, AWS's documentation secret).
enum SignedByBotocore {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let body = Data(#"{"Description":"owner"}"#.utf8)
    static let signedAt = Date(timeIntervalSince1970: 1_440_938_160)
    static let authorization =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=e7f2028e5c394f547234cc10d687109dd9deacb116ae01b37df15f3614c54237"
    static let headers = [
        ("Content-Type", "application/json"), ("X-Amz-Date", "20150830T123600Z"), ("host", "127.0.0.1:9000"),
        ("Authorization", authorization),
    ]
    static let path = "/2015-03-31/functions/orders/configuration"

    static func verifyHead(
        extra: [(String, String)] = [], authorization text: String = authorization, now: Date = signedAt
    ) throws(RelctlError) -> SigV4.PendingVerification {
        try SigV4.verifyHead(
            method: "PUT", rawPath: path, rawQuery: nil, headers: headers + extra,
            authorization: SigV4.parse(text)!, secret: secret, now: now)
    }
}

@Suite("SigV4 before and after the body")
struct SignatureTests {
    /// The Authorization header's fields, however the client spaces them; anything short of the three fields with
    /// values and a five-part credential scope is no SigV4 header at all.
    @Test func theAuthorizationHeaderParsesWhateverTheSpacingAndRefusesWhatIsIncomplete() throws {
        let parsed = try #require(SigV4.parse(SignedByBotocore.authorization))
        #expect(parsed.accessKeyId == "AKIDEXAMPLE" && parsed.date == "20150830")
        #expect(parsed.region == "us-east-1" && parsed.service == "lambda")
        #expect(parsed.signedHeaders == ["content-type", "host", "x-amz-date"])
        #expect(parsed.signature.hasPrefix("e7f2028e") && parsed.signature.count == 64)
        let spaced =
            "AWS4-HMAC-SHA256 \tCredential=AKID/20150830/eu-west-1/lambda/aws4_request ,SignedHeaders=Host;X-Amz-Date,  Signature=abc\t"
        let loose = try #require(SigV4.parse(spaced))
        #expect(loose.accessKeyId == "AKID" && loose.region == "eu-west-1")
        #expect(loose.signedHeaders == ["host", "x-amz-date"] && loose.signature == "abc")
        for broken in [
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/lambda/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/lambda, SignedHeaders=host, Signature=abc",
            "AWS4-HMAC-SHA256 =AKID/20150830/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=abc",
            "AWS4-HMAC-SHA1 Credential=AKID/20150830/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=abc",
        ] {
            #expect(SigV4.parse(broken) == nil, "\(broken)")
        }
    }

    @Test func botocoresSignatureVerifiesOnceTheBodyIsRead() throws {
        let pending = try SignedByBotocore.verifyHead()
        #expect(!pending.signatureVerified, "without x-amz-content-sha256 the body's hash is part of the signature")
        try pending.verify(body: SignedByBotocore.body)
        expectRelctlError(.invalidSignature, messagePrefix: "The request signature we calculated does not match") {
            try pending.verify(body: Data(#"{"Description":"thief"}"#.utf8))
        }
    }

    @Test func aDeclaredPayloadHashIsComparedWithTheBody() throws {
        // The replay: the signature is good for the declared hash, the body is another one.
        let declared = ("X-Amz-Content-Sha256", sha256Hex(SignedByBotocore.body))
        let pending = try SignedByBotocore.verifyHead(extra: [declared])
        #expect(pending.signatureVerified, "checked before the body is read")
        try pending.verify(body: SignedByBotocore.body)
        expectRelctlError(.invalidSignature, messagePrefix: "The provided 'x-amz-content-sha256' header does not match")
        {
            try pending.verify(body: Data(#"{"Description":"thief"}"#.utf8))
        }
        // A declared hash the signature does not cover fails before the body.
        expectRelctlError(.invalidSignature, messagePrefix: "The request signature we calculated does not match") {
            _ = try SignedByBotocore.verifyHead(extra: [("X-Amz-Content-Sha256", String(repeating: "0", count: 64))])
        }
    }

    @Test func unsignedPayloadUnsignedHostAndStaleDatesAreRefusedFromTheHead() {
        expectRelctlError(.invalidSignature, messagePrefix: "UNSIGNED-PAYLOAD is not accepted") {
            _ = try SignedByBotocore.verifyHead(extra: [("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")])
        }
        expectRelctlError(
            .invalidSignature, message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        ) {
            _ = try SignedByBotocore.verifyHead(
                authorization: SignedByBotocore.authorization.replacingOccurrences(
                    of: "content-type;host;x-amz-date", with: "content-type;x-amz-date"))
        }
        expectRelctlError(.invalidSignature, messagePrefix: "Signature expired") {
            _ = try SignedByBotocore.verifyHead(now: SignedByBotocore.signedAt.addingTimeInterval(16 * 60))
        }
    }
}

@Suite("Presigned code URLs")
struct CodeURLTests {
    static let hash = String(repeating: "ab", count: 32)
    static let path = "/relctl/code/\(hash)"
    static let now = Date(timeIntervalSince1970: 1_764_460_800)

    @Test func aURLWorksForTenMinutesAndOnlyForItsHash() throws {
        let signer = CodeURLSigner.random()
        let query = signer.query(path: Self.path, region: "eu-west-1", now: Self.now)
        #expect(
            query.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256") && query.contains("X-Amz-Expires=600")
                && query.contains("X-Amz-Credential=\(signer.keyId)%2F20251130%2Feu-west-1%2Fs3%2Faws4_request"))
        try signer.verify(path: Self.path, rawQuery: query, now: Self.now)
        try signer.verify(path: Self.path, rawQuery: query, now: Self.now.addingTimeInterval(600))
        expectRelctlError(.accessDenied, messagePrefix: "Request has expired") {
            try signer.verify(path: Self.path, rawQuery: query, now: Self.now.addingTimeInterval(601))
        }
        expectRelctlError(.invalidSignature) {
            try signer.verify(
                path: "/relctl/code/" + String(repeating: "cd", count: 32), rawQuery: query, now: Self.now)
        }
        expectRelctlError(.invalidSignature) {
            try signer.verify(
                path: Self.path,
                rawQuery: query.replacingOccurrences(
                    of: "X-Amz-Date=20251130T000000Z", with: "X-Amz-Date=20251130T000900Z"), now: Self.now)
        }
        expectRelctlError(.accessDenied, messagePrefix: "X-Amz-Expires must be from 1 to 600") {
            try signer.verify(
                path: Self.path,
                rawQuery: query.replacingOccurrences(of: "X-Amz-Expires=600", with: "X-Amz-Expires=86400"),
                now: Self.now)
        }
        expectRelctlError(.accessDenied, messagePrefix: "Code URLs are presigned") {
            try signer.verify(path: Self.path, rawQuery: nil, now: Self.now)
        }
        expectRelctlError(.accessDenied, messagePrefix: "This code URL was not signed by this server process") {
            try CodeURLSigner.random().verify(path: Self.path, rawQuery: query, now: Self.now)
        }
    }
}

@Suite("Keys and blobs on disk")
struct CredentialAndBlobTests {
    @Test func theCacheSeesDeletedAndNewKeysOnTheNextLookup() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("relctl-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = CredentialStore(dataDirectory: folder)
        let cache = CredentialCache(store: store)
        let first = try store.create(name: "first", readOnly: false)
        #expect(try cache.credential(accessKeyId: first.accessKeyId) == first)
        try store.delete("first")
        #expect(try cache.credential(accessKeyId: first.accessKeyId) == nil)
        let second = try store.create(name: "second", readOnly: true)
        #expect(try cache.credential(accessKeyId: second.accessKeyId) == second)
    }

    @Test func theBlobStoreReadsOnlyHashNamesAndAMissingBlobIsNotFound() throws {
        let sandbox = try Sandbox()
        let blobs = sandbox.registry.blobs
        for name in [
            "../../registry.sqlite", "..", "", String(repeating: "A", count: 64),
            String(repeating: "0", count: 63) + "/",
        ] {
            expectRelctlError(.resourceNotFound) { _ = try blobs.read(name) }
        }
        expectRelctlError(
            .resourceNotFound,
            messagePrefix: "The code blob \(String(repeating: "0", count: 64)) is not in the blob store"
        ) {
            _ = try blobs.read(String(repeating: "0", count: 64))
        }
    }

    @Test func environmentWithNulIsRefused() {
        for variables in [["GREETING": "a\0b"], ["GREE\0TING": "hi"]] {
            expectRelctlError(
                .invalidParameterValue,
                messagePrefix:
                    "Lambda was unable to configure your environment variables because the environment variables you have provided contain a NUL character"
            ) {
                try FunctionSettings.validateEnvironment(variables)
            }
        }
    }
}

private func sha256Hex(_ data: Data) -> String {
    CodeHash.hex(of: data)
}
