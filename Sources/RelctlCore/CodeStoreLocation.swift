import Foundation

/// Where relctl keeps code packages: the data directory (the default) or a bucket on an
/// S3-compatible endpoint, as `--code-store` / `RELCTL_CODE_STORE` and their companions name it.
public enum CodeStoreLocation: Sendable, Equatable {
    case dataDirectory
    case s3(S3CodeStoreSettings)

    /// The flags first, then the environment: `--code-store` / `RELCTL_CODE_STORE` (`s3://bucket/prefix`;
    /// unset or empty: the data directory), `--s3-endpoint` / `RELCTL_S3_ENDPOINT` (default: AWS's regional
    /// endpoint), `RELCTL_S3_REGION` (default us-east-1), `RELCTL_S3_ACCESS_KEY_ID` and
    /// `RELCTL_S3_SECRET_ACCESS_KEY` (both required for a bucket). Every mistake is one error naming the
    /// setting and what is allowed.
    public static func parse(
        codeStore: String?, s3Endpoint: String?, environment: [String: String]
    ) throws(RelctlError) -> CodeStoreLocation {
        func setting(_ flag: String?, _ variable: String) -> (value: String, name: String)? {
            if let flag, !flag.isEmpty {
                return (flag, "--\(variable == "RELCTL_CODE_STORE" ? "code-store" : "s3-endpoint")")
            }
            if let value = environment[variable], !value.isEmpty { return (value, variable) }
            return nil
        }
        guard case let (url, urlName)? = setting(codeStore, "RELCTL_CODE_STORE") else { return .dataDirectory }
        let (bucket, prefix) = try parseBucketURL(url, name: urlName)
        let region = environment["RELCTL_S3_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        guard region.utf8.count <= 32, !region.hasPrefix("-"),
            region.utf8.allSatisfy({ isLowercaseLetterOrDigit($0) || $0 == UInt8(ascii: "-") })
        else {
            throw RelctlError(
                .invalidParameterValue,
                "RELCTL_S3_REGION '\(region.prefix(40))' is not a region name: lowercase letters, digits and '-', such as us-east-1."
            )
        }
        let endpoint: URL
        if case let (text, endpointName)? = setting(s3Endpoint, "RELCTL_S3_ENDPOINT") {
            endpoint = try parseEndpoint(text, name: endpointName)
        } else {
            endpoint = URL(string: "https://s3.\(region).amazonaws.com")!
        }
        let keyId = environment["RELCTL_S3_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["RELCTL_S3_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        guard let keyId, let secret else {
            let missing = [
                keyId == nil ? "RELCTL_S3_ACCESS_KEY_ID" : nil, secret == nil ? "RELCTL_S3_SECRET_ACCESS_KEY" : nil,
            ].compactMap { $0 }
            throw RelctlError(
                .invalidParameterValue,
                "The code store \(url) needs S3 keys: set \(missing.joined(separator: " and ")) (relctl signs every request to the bucket with SigV4)."
            )
        }
        return .s3(
            S3CodeStoreSettings(
                bucket: bucket, prefix: prefix, endpoint: endpoint, region: region, accessKeyId: keyId,
                secretAccessKey: secret))
    }

    /// `s3://bucket` or `s3://bucket/some/prefix` → the bucket and the prefix without its outer slashes.
    static func parseBucketURL(_ url: String, name: String) throws(RelctlError) -> (bucket: String, prefix: String) {
        let allowed = "s3://BUCKET or s3://BUCKET/PREFIX (unset: the data directory)"
        guard url.hasPrefix("s3://") else {
            let scheme = url.range(of: "://").map { String(url[..<$0.lowerBound]) }
            throw RelctlError(
                .invalidParameterValue,
                "\(name) '\(url.prefix(100))' \(scheme.map { "has the scheme '\($0.prefix(20))'" } ?? "is not a URL"): a code store is \(allowed)."
            )
        }
        let rest = url.dropFirst("s3://".count)
        guard !rest.contains("?"), !rest.contains("#") else {
            throw RelctlError(
                .invalidParameterValue,
                "\(name) '\(url.prefix(100))' has a query or fragment: a code store is \(allowed).")
        }
        let bucket = String(rest.prefix { $0 != "/" })
        guard !bucket.isEmpty else {
            throw RelctlError(
                .invalidParameterValue, "\(name) '\(url.prefix(100))' names no bucket: a code store is \(allowed).")
        }
        guard isBucketName(bucket) else {
            throw RelctlError(
                .invalidParameterValue,
                "\(name): '\(bucket.prefix(80))' is not a bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit."
            )
        }
        var prefix = String(rest.dropFirst(bucket.utf8.count))
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let segments = prefix.split(separator: "/", omittingEmptySubsequences: false)
        guard prefix.isEmpty || (prefix.utf8.count <= 512 && segments.allSatisfy(isPrefixSegment)) else {
            throw RelctlError(
                .invalidParameterValue,
                "\(name): the prefix '\(prefix.prefix(80))' is not allowed: segments of letters, digits, '.', '_' and '-' separated by single '/', no '.' or '..' segment, at most 512 characters."
            )
        }
        return (bucket, prefix)
    }

    static func parseEndpoint(_ text: String, name: String) throws(RelctlError) -> URL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty, components.query == nil, components.fragment == nil,
            components.user == nil,
            components.path.isEmpty || components.path == "/", let url = components.url
        else {
            throw RelctlError(
                .invalidParameterValue,
                "\(name) '\(text.prefix(100))' is not an endpoint: http(s)://HOST[:PORT] with no path, such as http://127.0.0.1:9000."
            )
        }
        return url.absoluteString.hasSuffix("/") ? URL(string: String(url.absoluteString.dropLast()))! : url
    }

    static func isBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count), isLowercaseLetterOrDigit(bytes.first!),
            isLowercaseLetterOrDigit(bytes.last!)
        else { return false }
        return bytes.allSatisfy { isLowercaseLetterOrDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
            && !name.contains("..")
    }

    /// Keys stay plain ASCII that needs no encoding, so the path signed is the path sent.
    static func isPrefixSegment(_ segment: Substring) -> Bool {
        !segment.isEmpty && segment != "." && segment != ".."
            && segment.utf8.allSatisfy {
                isLowercaseLetterOrDigit($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                    || "._-".utf8.contains($0)
            }
    }

    private static func isLowercaseLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// What `relctl config show` and errors call it: `s3://bucket/prefix at ENDPOINT`, or `data directory`.
    public var description: String {
        switch self {
        case .dataDirectory: "data directory"
        case .s3(let settings): "\(settings.url) at \(settings.endpoint.absoluteString) (\(settings.region))"
        }
    }
}

/// A bucket used as a content-addressed code store: objects at `PREFIX/sha256/ab/<hash>`, path-style.
public struct S3CodeStoreSettings: Sendable, Equatable {
    public var bucket: String
    /// Without leading or trailing slash; empty for the bucket's root.
    public var prefix: String
    /// `http(s)://host[:port]`, no trailing slash.
    public var endpoint: URL
    public var region: String
    public var accessKeyId: String
    public var secretAccessKey: String

    public init(
        bucket: String, prefix: String, endpoint: URL, region: String, accessKeyId: String, secretAccessKey: String
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        self.region = region
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
    }

    /// `s3://bucket/prefix`, as the user wrote it (without trailing slash).
    public var url: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// The key every package object is listed under: `PREFIX/sha256/`.
    public var objectKeyPrefix: String { prefix.isEmpty ? "sha256/" : "\(prefix)/sha256/" }

    /// `PREFIX/sha256/ab/abcdef…` for a hash of 64 lowercase hex digits.
    public func key(for sha256Hex: String) -> String {
        "\(objectKeyPrefix)\(sha256Hex.prefix(2))/\(sha256Hex)"
    }

    /// The hash a listed key names, or nil when the key is not where a package object lives.
    public func sha256Hex(ofKey key: String) -> String? {
        guard key.hasPrefix(objectKeyPrefix) else { return nil }
        let rest = key.dropFirst(objectKeyPrefix.utf8.count).split(separator: "/", omittingEmptySubsequences: false)
        guard rest.count == 2, rest[0].utf8.count == 2, String(rest[1]).isSHA256Hex, rest[1].hasPrefix(rest[0]) else {
            return nil
        }
        return String(rest[1])
    }
}
