import Foundation
import RelctlCore
import RelctlSigV4
import RelctlStore
import Testing

@Suite("Presigned code URLs")
struct CodeURLTests {
    static let hash = String(repeating: "ab", count: 32)
    static let path = "/relctl/code/\(hash)"
    static let now = Date(timeIntervalSince1970: 1_764_460_800)

    @Test func aURLWorksForTenMinutesAndOnlyForItsHash() throws {
        let signer = CodeURLSigner.random()
        let query = signer.query(path: Self.path, region: "eu-west-1", now: Self.now)
        #expect(query.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256") && query.contains("X-Amz-Expires=600")
                && query.contains("X-Amz-Credential=\(signer.keyId)%2F20251130%2Feu-west-1%2Fs3%2Faws4_request"))
        try signer.verify(path: Self.path, rawQuery: query, now: Self.now)
        try signer.verify(path: Self.path, rawQuery: query, now: Self.now.addingTimeInterval(600))
        expectRelctlError(.accessDenied, messagePrefix: "Request has expired") {
            try signer.verify(path: Self.path, rawQuery: query, now: Self.now.addingTimeInterval(601))
        }
        expectRelctlError(.invalidSignature) {
            try signer.verify(path: "/relctl/code/" + String(repeating: "cd", count: 32), rawQuery: query, now: Self.now)
        }
        expectRelctlError(.invalidSignature) {
            try signer.verify(path: Self.path, rawQuery: query.replacingOccurrences(of: "X-Amz-Date=20251130T000000Z", with: "X-Amz-Date=20251130T000900Z"), now: Self.now)
        }
        expectRelctlError(.accessDenied, messagePrefix: "X-Amz-Expires must be from 1 to 600") {
            try signer.verify(path: Self.path, rawQuery: query.replacingOccurrences(of: "X-Amz-Expires=600", with: "X-Amz-Expires=86400"), now: Self.now)
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
    @Test func theBlobStoreReadsOnlyHashNamesAndAMissingBlobIsNotFound() throws {
        let sandbox = try Sandbox()
        let blobs = sandbox.registry.blobs
        for name in ["../../registry.sqlite", "..", "", String(repeating: "A", count: 64), String(repeating: "0", count: 63) + "/"] {
            expectRelctlError(.resourceNotFound) { _ = try blobs.read(name) }
        }
        expectRelctlError(.resourceNotFound, messagePrefix: "The code blob \(String(repeating: "0", count: 64)) is not in the blob store") {
            _ = try blobs.read(String(repeating: "0", count: 64))
        }
    }
}
