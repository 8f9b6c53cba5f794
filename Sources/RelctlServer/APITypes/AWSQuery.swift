import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
@preconcurrency import XMLCoder

/// A request of AWS's query protocol (`awsquery`): a form-encoded body of `Action=…&Version=…` and
/// the operation's parameters, lists flattened as `Name.member.N` and structures as `Name.Field`.
struct AWSQueryRequest: Sendable {
    let fields: [String: String]

    init(body: Data) {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
        }
        self.fields = fields
    }

    /// `application/x-www-form-urlencoded`: `+` is a space, the rest percent-encoded.
    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    var action: String? { fields["Action"] }

    subscript(_ name: String) -> String? { fields[name] }

    /// `Name.member.1`, `Name.member.2`, … in order.
    func list(_ name: String) -> [String] {
        var result: [String] = []
        while let value = fields["\(name).member.\(result.count + 1)"] { result.append(value) }
        return result
    }

    /// `Name.member.N.Field=…`: one dictionary of fields per member, in order.
    func structures(_ name: String) -> [[String: String]] {
        var result: [[String: String]] = []
        while true {
            let prefix = "\(name).member.\(result.count + 1)."
            let member = fields.filter { $0.key.hasPrefix(prefix) }
            if member.isEmpty { return result }
            result.append(
                Dictionary(uniqueKeysWithValues: member.map { (String($0.key.dropFirst(prefix.count)), $0.value) }))
        }
    }
}

/// `<member>…</member>` items, as the query protocol renders a list.
struct Members<Element: Encodable & Sendable>: Encodable, Sendable {
    var member: [Element]
    init(_ member: [Element]) { self.member = member }
}

/// `<Action>Response xmlns=…><Action>Result>…</Action>Result><ResponseMetadata>…` in one place.
enum QueryXML {
    static func encoder() -> XMLEncoder {
        let encoder = XMLEncoder()
        encoder.outputFormatting = []
        return encoder
    }

    /// ISO 8601 with milliseconds in UTC, as AWS's XML timestamps.
    static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    static func response(action: String, namespace: String, result: AnyEncodable?, requestId: String) -> Response {
        let envelope = QueryEnvelope(
            result: result, metadata: .init(RequestId: requestId), resultKey: "\(action)Result")
        let body =
            (try? encoder().encode(
                envelope, withRootKey: "\(action)Response", rootAttributes: ["xmlns": namespace],
                header: XMLHeader(version: 1.0, encoding: "UTF-8"))) ?? Data()
        return .bytes(body, headers: [.contentType: "text/xml"])
    }

    /// A root element of its own (S3's answers, errors): `<Root xmlns=…>…</Root>`.
    static func document(
        _ value: some Encodable, root: String, namespace: String?, status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:]
    ) -> Response {
        let body =
            (try? encoder().encode(
                value, withRootKey: root, rootAttributes: namespace.map { ["xmlns": $0] },
                header: XMLHeader(version: 1.0, encoding: "UTF-8"))) ?? Data()
        var fields = headers
        fields[.contentType] = "application/xml"
        return .bytes(body, status: status, headers: fields)
    }
}

/// `<ActionResult>…</ActionResult><ResponseMetadata><RequestId>…` inside `<ActionResponse>`.
struct QueryEnvelope: Encodable {
    struct Metadata: Encodable { var RequestId: String }
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    var result: AnyEncodable?
    var metadata: Metadata
    var resultKey: String

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        // botocore finds `<ActionResult>` even for operations that answer nothing in it.
        try container.encode(result ?? AnyEncodable(EmptyResult()), forKey: Key(stringValue: resultKey))
        try container.encode(metadata, forKey: Key(stringValue: "ResponseMetadata"))
    }
}
