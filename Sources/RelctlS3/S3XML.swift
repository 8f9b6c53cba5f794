import Foundation
import RelctlCore
import XMLCoder

/// One page of ListObjectsV2 (`ListBucketResult`): keys with sizes and LastModified, and whether more follow.
struct ListObjectsPage: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var key: String
        var size: Int64
        var lastModified: Date
    }

    var entries: [Entry]
    var isTruncated: Bool
    var nextContinuationToken: String?

    private struct Result: Decodable {
        struct Contents: Decodable {
            var Key: String
            var Size: Int64
            var LastModified: String
        }

        var Contents: [Contents]?
        var IsTruncated: Bool?
        var NextContinuationToken: String?
    }

    static func parse(_ body: Data, bucket: String) throws(RelctlError) -> ListObjectsPage {
        let result: Result
        do {
            result = try XMLDecoder().decode(Result.self, from: body)
        } catch {
            throw RelctlError(
                .service,
                "ListObjectsV2 on s3://\(bucket) answered something that is not a ListBucketResult: \(String(decoding: body.prefix(120), as: UTF8.self))"
            )
        }
        var entries: [Entry] = []
        for item in result.Contents ?? [] {
            guard let date = parseTimestamp(item.LastModified) else {
                throw RelctlError(
                    .service,
                    "ListObjectsV2 on s3://\(bucket) gave \(item.Key) the LastModified '\(item.LastModified.prefix(40))', which is not an ISO 8601 time."
                )
            }
            entries.append(Entry(key: item.Key, size: item.Size, lastModified: date))
        }
        return ListObjectsPage(
            entries: entries, isTruncated: result.IsTruncated ?? false,
            nextContinuationToken: result.NextContinuationToken)
    }

    /// `2026-11-30T12:01:02.000Z`, with or without the fraction.
    static func parseTimestamp(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}

/// S3's `<Error><Code>…</Code><Message>…</Message></Error>`.
struct S3ErrorBody: Decodable, Equatable {
    var code: String
    var message: String?

    enum CodingKeys: String, CodingKey {
        case code = "Code"
        case message = "Message"
    }

    static func parse(_ body: Data) -> S3ErrorBody? {
        guard !body.isEmpty else { return nil }
        return try? XMLDecoder().decode(S3ErrorBody.self, from: body)
    }
}
