import Crypto
import Foundation
import RelctlCore

/// AWS Signature Version 4, as botocore signs requests: parse the Authorization header, rebuild
/// the canonical request, recompute the HMAC with the key's secret, compare.
public enum SigV4 {
    public struct Authorization: Sendable {
        public var accessKeyId: String
        public var date: String
        public var region: String
        public var service: String
        public var signedHeaders: [String]
        public var signature: String
    }

    /// `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=…`
    public static func parse(_ header: String) -> Authorization? {
        guard header.hasPrefix("AWS4-HMAC-SHA256 ") else { return nil }
        // Every request's header is parsed: plain Substring work (Foundation's trimming bridged through
        // NSString and was a tenth of a GetAlias's CPU).
        var credential: Substring?
        var signed: Substring?
        var signature: Substring?
        for part in header.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let isBlank = { (character: Character) in character == " " || character == "\t" }
            let trimmed = part.drop(while: isBlank)
            let end = trimmed.lastIndex { !isBlank($0) }.map(trimmed.index(after:)) ?? trimmed.startIndex
            let field = trimmed[..<end]
            // NAME=VALUE, both non-empty.
            guard let equals = field.firstIndex(of: "="), equals != field.startIndex else { continue }
            let value = field[field.index(after: equals)...]
            guard !value.isEmpty else { continue }
            switch field[..<equals] {
            case "Credential": credential = value
            case "SignedHeaders": signed = value
            case "Signature": signature = value
            default: break
            }
        }
        guard let credential, let signed, let signature = signature.map(String.init) else { return nil }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else { return nil }
        return Authorization(
            accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3],
            signedHeaders: signed.split(separator: ";").map { String($0).lowercased() }, signature: signature)
    }

    /// The region a request was signed for, whether or not it is checked.
    public static func region(_ header: String?) -> String? {
        header.flatMap(parse)?.region
    }

    /// Checks a signed request whose body is at hand; throws AWS's error types.
    public static func verify(
        method: String, rawPath: String, rawQuery: String?, headers: [(String, String)], body: Data,
        authorization: Authorization, secret: String, now: Date
    ) throws(RelctlError) {
        try verifyHead(
            method: method, rawPath: rawPath, rawQuery: rawQuery, headers: headers,
            authorization: authorization, secret: secret, now: now
        ).verify(body: body)
    }

    /// What is left to check of a request once its head has passed `verifyHead`: the body.
    public struct PendingVerification: Sendable {
        /// The canonical request up to (not including) the payload hash.
        let canonicalHead: String
        let amzDate: String
        let authorization: Authorization
        let secret: String
        /// The SHA-256 (hex) the signature already covers, when the client declared it.
        let declaredPayloadHash: String?

        /// True when the signature was checked with the head (the client sent `x-amz-content-sha256`):
        /// only the body's hash is left to compare.
        public var signatureVerified: Bool { declaredPayloadHash != nil }

        /// Compares the body with the signed payload hash, or (none declared) hashes it and checks the signature.
        public func verify(body: Data) throws(RelctlError) {
            let actual = SHA256.hash(data: body).hexString
            if let declaredPayloadHash {
                guard declaredPayloadHash == actual else {
                    throw RelctlError(
                        .invalidSignature,
                        "The provided 'x-amz-content-sha256' header does not match what was computed: the body is not the one that was signed."
                    )
                }
            } else {
                try checkSignature(payloadHash: actual)
            }
        }

        func checkSignature(payloadHash: String) throws(RelctlError) {
            let expected = signature(
                canonicalRequest: canonicalHead + payloadHash, amzDate: amzDate, date: authorization.date,
                region: authorization.region, service: authorization.service, secret: secret)
            guard constantTimeEqual(expected, authorization.signature.lowercased()) else {
                throw RelctlError(
                    .invalidSignature,
                    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
                )
            }
        }
    }

    /// Checks everything a request's head can tell, before its body is read: the date and its
    /// 15-minute window, the credential scope, `host` among the signed headers, a payload hash that
    /// is a SHA-256 (never `UNSIGNED-PAYLOAD`: only S3 accepts that) — and, when the client declared
    /// the payload hash, the signature itself. The body is checked by the returned value.
    public static func verifyHead(
        method: String, rawPath: String, rawQuery: String?, headers: [(String, String)],
        authorization: Authorization, secret: String, now: Date
    ) throws(RelctlError) -> PendingVerification {
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        guard let amzDate = header("x-amz-date"), let signedAt = parseAmzDate(amzDate) else {
            throw RelctlError(.invalidSignature, "The request must carry an X-Amz-Date header (yyyyMMddTHHmmssZ).")
        }
        if abs(now.timeIntervalSince(signedAt)) > 15 * 60 {
            throw RelctlError(
                .invalidSignature,
                "Signature expired: \(amzDate) is now earlier than \(formatAmzDate(now.addingTimeInterval(-15 * 60))) (\(formatAmzDate(now)) - 15 min.)"
            )
        }
        guard amzDate.hasPrefix(authorization.date) else {
            throw RelctlError(
                .invalidSignature,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(authorization.date)' != '\(amzDate.prefix(8))', from '\(amzDate)'."
            )
        }
        guard authorization.signedHeaders.contains("host") else {
            throw RelctlError(
                .invalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        }
        var declaredPayloadHash: String?
        if let declared = header("x-amz-content-sha256") {
            guard declared != "UNSIGNED-PAYLOAD" else {
                throw RelctlError(
                    .invalidSignature,
                    "UNSIGNED-PAYLOAD is not accepted by this service: sign the SHA-256 of the body (only S3 accepts unsigned payloads)."
                )
            }
            guard declared.lowercased().isSHA256Hex else {
                throw RelctlError(
                    .invalidSignature,
                    "x-amz-content-sha256 must be the hex SHA-256 of the body, not '\(declared.prefix(80))'.")
            }
            declaredPayloadHash = declared.lowercased()
        }
        let canonicalHeaders = authorization.signedHeaders.map { name -> String in
            let values = headers.filter { $0.0.lowercased() == name }.map { $0.1.trimmingCharacters(in: .whitespaces) }
            let folded = values.joined(separator: ",").split(separator: " ", omittingEmptySubsequences: true).joined(
                separator: " ")
            return "\(name):\(folded)\n"
        }.joined()
        let canonicalHead = [
            method, canonicalURI(rawPath), canonicalQuery(rawQuery), canonicalHeaders,
            authorization.signedHeaders.joined(separator: ";"), "",
        ].joined(separator: "\n")
        let pending = PendingVerification(
            canonicalHead: canonicalHead, amzDate: amzDate, authorization: authorization,
            secret: secret, declaredPayloadHash: declaredPayloadHash)
        if let declaredPayloadHash { try pending.checkSignature(payloadHash: declaredPayloadHash) }
        return pending
    }

    /// The hex signature of a canonical request: string to sign, then the HMAC chain of the signing key.
    public static func signature(
        canonicalRequest: String, amzDate: String, date: String, region: String, service: String, secret: String
    ) -> String {
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let stringToSign =
            "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SHA256.hash(data: Data(canonicalRequest.utf8)).hexString)"
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Data(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key)).hexString
    }

    /// Non-S3 services sign the path as sent, URI-encoded once more (botocore's behaviour).
    public static func canonicalURI(_ rawPath: String) -> String {
        let path = rawPath.isEmpty ? "/" : rawPath
        return uriEncode(path, keepSlash: true)
    }

    public static func canonicalQuery(_ rawQuery: String?) -> String {
        guard let rawQuery, !rawQuery.isEmpty else { return "" }
        let pairs = rawQuery.split(separator: "&").map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = (String(parts[0]).removingPercentEncoding ?? String(parts[0]))
            let value =
                parts.count > 1
                ? (String(parts[1]).replacingOccurrences(of: "+", with: "%20").removingPercentEncoding
                    ?? String(parts[1])) : ""
            return (uriEncode(key, keepSlash: false), uriEncode(value, keepSlash: false))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(
            separator: "&")
    }

    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var result = ""
        for byte in text.utf8 {
            let character = Character(UnicodeScalar(byte))
            if (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || "-_.~".contains(character) || (keepSlash && byte == 0x2F)
            {
                result.append(character)
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    public static func parseAmzDate(_ text: String) -> Date? {
        let u = Array(text.utf8)
        guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: u[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        return Date(
            timeIntervalSince1970: LambdaTimestamp.secondsSince1970(
                year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }

    public static func formatAmzDate(_ date: Date) -> String {
        let text = LambdaTimestamp.string(from: date)  // 2026-01-31T12:00:00.000+0000
        return text.prefix(10).replacingOccurrences(of: "-", with: "") + "T"
            + text.dropFirst(11).prefix(8).replacingOccurrences(of: ":", with: "") + "Z"
    }

    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

extension Sequence where Element == UInt8 {
    public var hexString: String { map { String(format: "%02x", $0) }.joined() }
}

extension Digest {
    public var hexString: String { Data(self).hexString }
}
