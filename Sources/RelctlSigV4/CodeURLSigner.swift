import Crypto
import Foundation
import RelctlCore

/// Presigned code URLs (`Code.Location`, a layer's `Content.Location`), as S3 presigns a GetObject:
/// the signature travels in the query string (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
/// `X-Amz-Expires`, `X-Amz-Signature`), covers the path — the code's hash — and the expiry, and is
/// checked by the server that issued it. A plain GET works without credentials; nothing else can be fetched.
public struct CodeURLSigner: Sendable {
    /// How long a URL works, in seconds: AWS's `Code.Location` lasts 10 minutes.
    public static let lifetime = 600
    /// Names the secret in `X-Amz-Credential`, so that a URL from another server process is told
    /// apart from a forged one.
    public let keyId: String
    private let secret: String

    public init(keyId: String, secret: String) {
        self.keyId = keyId
        self.secret = secret
    }

    /// A signer with a fresh random 256-bit secret that lives only in this process.
    public static func random() -> CodeURLSigner {
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).hexString }
        let keyId = "RELCTLCODE" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).uppercased()
        return CodeURLSigner(keyId: keyId, secret: secret)
    }

    /// The query string (without `?`) that makes `path` a URL valid for `lifetime` seconds from `now`.
    public func query(path: String, region: String, now: Date) -> String {
        let amzDate = SigV4.formatAmzDate(now)
        let unsigned = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(keyId)/\(amzDate.prefix(8))/\(region)/s3/aws4_request"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(Self.lifetime)),
        ].map { "\($0.0)=\(SigV4.uriEncode($0.1, keepSlash: false))" }.joined(separator: "&")
        return unsigned + "&X-Amz-Signature="
            + signature(path: path, unsignedQuery: unsigned, amzDate: amzDate, region: region)
    }

    /// Checks a presigned URL's query against its path; throws 403s (AccessDeniedException,
    /// InvalidSignatureException) that say what is wrong.
    public func verify(path: String, rawQuery: String?, now: Date) throws(RelctlError) {
        let items = (rawQuery ?? "").split(separator: "&").map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (
                String(parts[0]).removingPercentEncoding ?? String(parts[0]),
                parts.count > 1 ? String(parts[1]).removingPercentEncoding ?? String(parts[1]) : ""
            )
        }
        func value(_ name: String) -> String? { items.first { $0.0 == name }?.1 }
        guard value("X-Amz-Algorithm") == "AWS4-HMAC-SHA256", let credential = value("X-Amz-Credential"),
            let amzDate = value("X-Amz-Date"), let signedAt = SigV4.parseAmzDate(amzDate),
            let expires = value("X-Amz-Expires").flatMap(Int.init), let provided = value("X-Amz-Signature")
        else {
            throw RelctlError(
                .accessDenied,
                "Code URLs are presigned: use Code.Location (GetFunction) or Content.Location (GetLayerVersion) as it is given, with its X-Amz-* query parameters."
            )
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[0] == keyId else {
            throw RelctlError(
                .accessDenied,
                "This code URL was not signed by this server process (a URL does not outlive the server that issued it): call GetFunction or GetLayerVersion again for a fresh one."
            )
        }
        guard (1...Self.lifetime).contains(expires) else {
            throw RelctlError(
                .accessDenied, "X-Amz-Expires must be from 1 to \(Self.lifetime) seconds, not \(expires).")
        }
        let unsigned = (rawQuery ?? "").split(separator: "&").filter { !$0.hasPrefix("X-Amz-Signature=") }.joined(
            separator: "&")
        let expected = signature(path: path, unsignedQuery: unsigned, amzDate: amzDate, region: scope[2])
        guard SigV4.constantTimeEqual(expected, provided.lowercased()) else {
            throw RelctlError(
                .invalidSignature,
                "The request signature we calculated does not match the signature you provided: the code URL was changed."
            )
        }
        guard now <= signedAt.addingTimeInterval(Double(expires)), signedAt <= now.addingTimeInterval(15 * 60) else {
            throw RelctlError(
                .accessDenied,
                "Request has expired: the code URL was valid from \(amzDate) for \(expires) seconds; call GetFunction or GetLayerVersion again for a fresh one."
            )
        }
    }

    private func signature(path: String, unsignedQuery: String, amzDate: String, region: String) -> String {
        let canonicalRequest = [
            "GET", SigV4.canonicalURI(path), SigV4.canonicalQuery(unsignedQuery), "", "", "UNSIGNED-PAYLOAD",
        ].joined(separator: "\n")
        return SigV4.signature(
            canonicalRequest: canonicalRequest, amzDate: amzDate, date: String(amzDate.prefix(8)),
            region: region, service: "s3", secret: secret)
    }
}
