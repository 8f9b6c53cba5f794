import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RelctlCore
import RelctlSigV4

/// Function code named by `S3Bucket`/`S3Key`: a path-style GetObject on the configured S3-compatible
/// endpoint through AsyncHTTPClient, SigV4-signed when `RELCTL_S3_ACCESS_KEY_ID` and
/// `RELCTL_S3_SECRET_ACCESS_KEY` are set (`RELCTL_S3_REGION`, default us-east-1).
struct S3CodeSource: Sendable {
    let endpoint: URL?
    let client: HTTPClient
    /// A deployment package read from S3 may be up to 250 MB unzipped; its zip is no larger.
    static let maximumSize = 250 * 1024 * 1024

    func fetch(bucket: String, key: String, version: String?) async throws(RelctlError) -> Data {
        guard let endpoint else {
            throw RelctlError(
                .invalidParameterValue,
                "Code from S3 (S3Bucket/S3Key) needs an S3-compatible endpoint: start the server with `relctl serve --s3-endpoint URL`, or send ZipFile."
            )
        }
        let path = "/" + [bucket, key].map { SigV4.uriEncode($0, keepSlash: true) }.joined(separator: "/")
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath.trimmingSuffix("/") + path
        if let version { components.queryItems = [URLQueryItem(name: "versionId", value: version)] }
        guard let url = components.url else {
            throw RelctlError(.invalidParameterValue, "Invalid S3 location \(bucket)/\(key).")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        let environment = ProcessInfo.processInfo.environment
        if let keyId = environment["RELCTL_S3_ACCESS_KEY_ID"], let secret = environment["RELCTL_S3_SECRET_ACCESS_KEY"] {
            for (name, value) in S3Signer.headers(
                url: url, keyId: keyId, secret: secret, region: environment["RELCTL_S3_REGION"] ?? "us-east-1")
            {
                request.headers.add(name: name, value: value)
            }
        }
        var status = 0
        var failure: String?
        do {
            let response = try await client.execute(request, timeout: .seconds(300))
            status = Int(response.status.code)
            let body = try await response.body.collect(upTo: Self.maximumSize)
            if status == 200 { return Data(body.readableBytesView) }
        } catch {
            failure = "\(error)"
        }
        throw RelctlError(
            .invalidParameterValue,
            "Error occurred while GetObject. S3 Error Code: \(status == 404 ? "NoSuchKey" : "HTTP \(status)"). S3 Error Message: \(failure ?? "s3://\(bucket)/\(key) could not be read from \(endpoint.absoluteString)")"
        )
    }
}

enum S3Signer {
    /// SigV4 headers for an unsigned-payload GET (S3 signs the path encoded once).
    static func headers(url: URL, keyId: String, secret: String, region: String) -> [(String, String)] {
        let now = SigV4.formatAmzDate(Date())
        let host = url.host.map { name in url.port.map { "\(name):\($0)" } ?? name } ?? ""
        let signed = "host;x-amz-content-sha256;x-amz-date"
        let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQuery
        let canonical = [
            "GET", url.path.isEmpty ? "/" : URLComponents(url: url, resolvingAgainstBaseURL: false)!.percentEncodedPath,
            SigV4.canonicalQuery(query), "host:\(host)\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:\(now)\n",
            signed, "UNSIGNED-PAYLOAD",
        ].joined(separator: "\n")
        let date = String(now.prefix(8))
        let signature = SigV4.signature(
            canonicalRequest: canonical, amzDate: now, date: date, region: region, service: "s3", secret: secret)
        return [
            ("x-amz-date", now), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(keyId)/\(date)/\(region)/s3/aws4_request, SignedHeaders=\(signed), Signature=\(signature)"
            ),
        ]
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
