import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RelctlCore
import RelctlPackages
import RelctlStorage
import RelctlStore
@preconcurrency import XMLCoder

/// The S3 subset `sam deploy` uploads its artifacts to (path-style URLs, `AWS_ENDPOINT_URL`), kept
/// in the data directory: buckets, PutObject / HeadObject / GetObject / DeleteObject(s),
/// ListObjectsV2. CloudFormation's TemplateURL and a template's `s3://` CodeUri read from here.
struct S3Routes: Sendable {
    let services: ServerServices

    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    /// The largest object: a deployment package zip (250 MB unzipped at most; its zip is smaller).
    static let objectLimit = 256 * 1024 * 1024

    var routes: [Route] {
        let bucketMethods: [HTTPRequest.Method] = [.put, .head, .get, .delete, .post]
        let objectMethods: [HTTPRequest.Method] = [.put, .head, .get, .delete, .post]
        // No ListBuckets: `GET /` is the dashboard's (sam-cli never lists buckets).
        return bucketMethods.map { method in
            // The Lambda API's routes capture the same first segment (`/{apiVersion}/…`): one trie node.
            Route(method, "/{apiVersion}", operation: { Self.operation($0, objectLevel: false) }) { request, context in
                try await bucket(request, context)
            }
        }
            + objectMethods.map { method in
                Route(method, "/{apiVersion}/**", operation: { Self.operation($0, objectLevel: true) }) {
                    request, context in
                    try await object(request, context)
                }
            }
    }

    /// The Lambda API's own paths begin with a date (`/2015-03-31/…`): such a "bucket" is a Lambda
    /// path that matched nothing, answered as the Lambda API answers it.
    static func isLambdaPath(_ bucket: Substring) -> Bool {
        bucket.count == 10
            && bucket.enumerated().allSatisfy { index, character in
                [4, 7].contains(index) ? character == "-" : character.isNumber
            }
    }

    static func names(_ request: Request) -> (bucket: String, key: String) {
        let path = request.uri.path.dropFirst()
        let bucket = path.prefix { $0 != "/" }
        let key = path.dropFirst(bucket.count + 1)
        return (
            String(bucket).removingPercentEncoding ?? String(bucket), String(key).removingPercentEncoding ?? String(key)
        )
    }

    static func operation(_ request: Request, objectLevel: Bool) -> APIOperation {
        let path = request.uri.path.dropFirst()
        if isLambdaPath(path.prefix { $0 != "/" }) { return .unknown }
        let query = request.uri.queryParameters
        func named(_ name: String, limit: Int = 1024 * 1024) -> APIOperation {
            APIOperation(name: name, api: .s3, bodyLimit: limit)
        }
        switch (request.method, objectLevel) {
        case (.put, false): return named("CreateBucket")
        case (.head, false): return named("HeadBucket")
        case (.delete, false): return named("DeleteBucket")
        case (.post, false): return named(query["delete"] != nil ? "DeleteObjects" : "PostBucket")
        case (.get, false):
            if query["location"] != nil { return named("GetBucketLocation") }
            if query["versioning"] != nil { return named("GetBucketVersioning") }
            return named(query["list-type"] == "2" ? "ListObjectsV2" : "ListObjects")
        case (.put, true):
            if query["uploadId"] != nil || query["partNumber"] != nil { return named("UploadPart") }
            return named(request.headers[.amzCopySource] != nil ? "CopyObject" : "PutObject", limit: objectLimit)
        case (.head, true): return named("HeadObject")
        case (.get, true): return named("GetObject")
        case (.delete, true): return named("DeleteObject")
        default: return named(query["uploads"] != nil ? "CreateMultipartUpload" : "PostObject")
        }
    }

    // MARK: - Buckets

    func bucket(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard context.operation.api == .s3 else { throw HTTPError(.notFound) }
        let (bucket, _) = Self.names(request)
        switch context.operation.name {
        case "CreateBucket":
            try Self.validateBucketName(bucket)
            guard try await context.s3Objects.createS3Bucket(bucket) else {
                throw S3Error(
                    code: "BucketAlreadyOwnedByYou",
                    message: "Your previous request to create the named bucket succeeded and you already own it.",
                    status: .conflict, resource: bucket)
            }
            return .bytes(Data(), headers: [.location: "/\(bucket)"])
        case "HeadBucket":
            try await requireBucket(bucket, context)
            return .bytes(Data(), headers: [.amzBucketRegion: try context.s3Region])
        case "DeleteBucket":
            switch try await context.s3Objects.deleteS3Bucket(bucket) {
            case nil: throw S3Error.noSuchBucket(bucket)
            case false?:
                throw S3Error(
                    code: "BucketNotEmpty", message: "The bucket you tried to delete is not empty", status: .conflict,
                    resource: bucket)
            case true?: return .bytes(Data(), status: .noContent)
            }
        case "GetBucketLocation":
            try await requireBucket(bucket, context)
            struct Location: Encodable { var value: String; enum CodingKeys: String, CodingKey { case value = "" } }
            return QueryXML.document(
                Location(value: try context.s3Region), root: "LocationConstraint", namespace: Self.namespace)
        case "GetBucketVersioning":
            try await requireBucket(bucket, context)
            struct Versioning: Encodable {}
            return QueryXML.document(Versioning(), root: "VersioningConfiguration", namespace: Self.namespace)
        case "ListObjectsV2", "ListObjects":
            return try await listObjects(bucket, request, context)
        case "DeleteObjects":
            return try await deleteObjects(bucket, context)
        default:
            throw S3Error.notImplemented(context.operation.name)
        }
    }

    func requireBucket(_ bucket: String, _ context: AppRequestContext) async throws {
        guard try await context.s3Objects.s3BucketExists(bucket) else { throw S3Error.noSuchBucket(bucket) }
    }

    /// As S3: 3–63 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit.
    static func validateBucketName(_ name: String) throws {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-") }
        guard (3...63).contains(name.count), allowed, name.first!.isLetter || name.first!.isNumber,
            name.last!.isLetter || name.last!.isNumber
        else {
            throw S3Error(
                code: "InvalidBucketName",
                message:
                    "The specified bucket is not valid: \(name) (3–63 characters: lowercase letters, digits, '.' and '-', starting and ending with a letter or digit).",
                status: .badRequest, resource: name)
        }
    }

    func listObjects(_ bucket: String, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        struct Content: Encodable {
            var Key: String
            var LastModified: String
            var ETag: String
            var Size: Int64
            var StorageClass = "STANDARD"
        }
        struct Result: Encodable {
            var Name: String
            var Prefix: String
            var KeyCount: Int
            var MaxKeys: Int
            var IsTruncated: Bool
            var Contents: [Content]
            var NextContinuationToken: String?
            var ContinuationToken: String?
            var StartAfter: String?
        }
        let query = request.uri.queryParameters
        let prefix = query["prefix"].map(String.init) ?? ""
        let maxKeys = query["max-keys"].flatMap { Int($0) } ?? 1000
        guard (0...1000).contains(maxKeys) else {
            throw S3Error(
                code: "InvalidArgument", message: "max-keys must be between 0 and 1000.", status: .badRequest,
                resource: bucket)
        }
        let token = query["continuation-token"].map(String.init)
        let after =
            token.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            ?? query["start-after"].map(String.init)
        try await requireBucket(bucket, context)
        let page = try await context.s3Objects.s3Objects(
            bucket: bucket, prefix: prefix, startAfter: after, limit: maxKeys + 1)
        let shown = Array(page.prefix(maxKeys))
        let truncated = page.count > maxKeys
        let result = Result(
            Name: bucket, Prefix: prefix, KeyCount: shown.count, MaxKeys: maxKeys, IsTruncated: truncated,
            Contents: shown.map {
                Content(
                    Key: $0.key, LastModified: QueryXML.timestamp($0.lastModified), ETag: "\"\($0.etag)\"",
                    Size: $0.size)
            },
            NextContinuationToken: truncated ? shown.last.map { Data($0.key.utf8).base64EncodedString() } : nil,
            ContinuationToken: token, StartAfter: query["start-after"].map(String.init))
        return QueryXML.document(result, root: "ListBucketResult", namespace: Self.namespace)
    }

    func deleteObjects(_ bucket: String, _ context: AppRequestContext) async throws -> Response {
        struct Delete: Decodable {
            struct Entry: Decodable { var Key: String }
            var Object: [Entry]
            var Quiet: Bool?
        }
        struct Deleted: Encodable { var Key: String }
        struct Result: Encodable { var Deleted: [Deleted] }
        let request: Delete
        do { request = try XMLDecoder().decode(Delete.self, from: context.body) } catch {
            throw S3Error(
                code: "MalformedXML",
                message: "The XML you provided was not well-formed or did not validate against our published schema.",
                status: .badRequest, resource: bucket)
        }
        try await requireBucket(bucket, context)
        let keys = request.Object.map(\.Key)
        let objects = try context.s3Objects
        for key in keys { try await objects.deleteS3Object(bucket: bucket, key: key) }
        return QueryXML.document(
            Result(Deleted: request.Quiet == true ? [] : keys.map(Deleted.init)), root: "DeleteResult",
            namespace: Self.namespace)
    }

    // MARK: - Objects

    func object(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard context.operation.api == .s3 else { throw HTTPError(.notFound) }
        let (bucket, key) = Self.names(request)
        guard !key.isEmpty else { return try await self.bucket(request, context) }
        switch context.operation.name {
        case "PutObject":
            return try await putObject(bucket, key, request, context)
        case "HeadObject", "GetObject":
            let head = context.operation.name == "HeadObject"
            let objects = try context.s3Objects
            guard let object = try await objects.s3Object(bucket: bucket, key: key) else {
                if try await !objects.s3BucketExists(bucket) { throw S3Error.noSuchBucket(bucket) }
                throw S3Error(
                    code: "NoSuchKey", message: "The specified key does not exist.", status: .notFound,
                    resource: "/\(bucket)/\(key)")
            }
            var headers: HTTPFields = [
                .eTag: "\"\(object.etag)\"", .contentType: object.contentType ?? "binary/octet-stream",
                .lastModified: Self.httpDate(object.lastModified), .acceptRanges: "bytes",
            ]
            for (name, value) in object.metadata.sorted(by: { $0.key < $1.key }) {
                if let field = HTTPField.Name("x-amz-meta-\(name)") { headers[field] = value }
            }
            if head {
                headers[.contentLength] = String(object.size)
                return Response(status: .ok, headers: headers)
            }
            let data = try await objects.s3ObjectData(object)
            return .bytes(data, headers: headers)
        case "DeleteObject":
            try await requireBucket(bucket, context)
            try await context.s3Objects.deleteS3Object(bucket: bucket, key: key)
            return .bytes(Data(), status: .noContent)
        default:
            throw S3Error.notImplemented(context.operation.name)
        }
    }

    func putObject(
        _ bucket: String, _ key: String, _ request: Request, _ context: AppRequestContext
    ) async throws -> Response {
        guard key.utf8.count <= 1024 else {
            throw S3Error(
                code: "KeyTooLongError", message: "Your key is too long (at most 1024 bytes).", status: .badRequest,
                resource: "/\(bucket)/\(key)")
        }
        if request.headers[.contentEncoding]?.contains("aws-chunked") == true {
            throw S3Error(
                code: "NotImplemented",
                message:
                    "relctl's S3 takes a plain body, not aws-chunked encoding (send it over http, or with request_checksum_calculation=when_required).",
                status: .notImplemented, resource: "/\(bucket)/\(key)")
        }
        let body = context.body
        let md5 = Insecure.MD5.hash(data: body)
        if let declared = request.headers[.contentMD5], Data(base64Encoded: declared) != Data(md5) {
            throw S3Error(
                code: "BadDigest", message: "The Content-MD5 you specified did not match what we received.",
                status: .badRequest, resource: "/\(bucket)/\(key)")
        }
        let etag = CodeHash.hex(md5)
        var metadata: [String: String] = [:]
        for field in request.headers where field.name.canonicalName.hasPrefix("x-amz-meta-") {
            metadata[String(field.name.canonicalName.dropFirst("x-amz-meta-".count))] = field.value
        }
        let (contentType, userMetadata) = (request.headers[.contentType], metadata)
        guard
            try await context.s3Objects.putS3Object(
                bucket: bucket, key: key, data: body, etag: etag, contentType: contentType, metadata: userMetadata)
                != nil
        else {
            throw S3Error.noSuchBucket(bucket)
        }
        return .bytes(Data(), headers: [.eTag: "\"\(etag)\""])
    }

    static func httpDate(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// Where CloudFormation finds what `sam deploy` uploaded: a TemplateURL (path-style on this server,
/// or virtual-hosted `BUCKET.s3….amazonaws.com`) and `s3://BUCKET/KEY` CodeUris.
enum S3Locations {
    static func template(_ url: String, objects: any S3ObjectStore) async throws -> String {
        guard let components = URLComponents(string: url), let host = components.host else {
            throw CloudFormationError.validation("TemplateURL must be a supported URL: \(url).")
        }
        var path = Substring(components.path.dropFirst())
        var bucket: Substring
        if let range = host.range(of: ".s3"), host.hasSuffix("amazonaws.com") {
            bucket = host[..<range.lowerBound]
        } else {
            bucket = path.prefix { $0 != "/" }
            path = path.dropFirst(bucket.count + 1)
        }
        guard let object = try await objects.s3Object(bucket: String(bucket), key: String(path)) else {
            throw CloudFormationError.validation(
                "S3 error: The specified key does not exist. (\(url) is not in relctl's S3: `sam deploy` uploads it there when AWS_ENDPOINT_URL points at relctl serve.)"
            )
        }
        return String(decoding: try await objects.s3ObjectData(object), as: UTF8.self)
    }

    /// A CodeUri / ContentUri as `sam deploy` rewrites it: `s3://BUCKET/KEY` in this server's S3.
    static func package(_ uri: String, place: String, objects: any S3ObjectStore) async throws -> InspectedPackage {
        guard uri.hasPrefix("s3://") else {
            throw RelctlError(
                .validation,
                "\(place): \(uri) is not an s3:// location; relctl serve deploys code `sam deploy` uploaded to its S3 (s3://BUCKET/KEY)."
            )
        }
        let rest = uri.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        let key = rest.dropFirst(bucket.count + 1)
        guard let object = try await objects.s3Object(bucket: String(bucket), key: String(key)) else {
            throw RelctlError(.validation, "\(place): \(uri) does not exist in relctl's S3.")
        }
        let data = try await objects.s3ObjectData(object)
        do {
            return try PackageInspector.inspect(data)
        } catch {
            throw RelctlError(error.code, "\(place): \(uri): \(error.message)")
        }
    }
}

/// An error in S3's XML shape (`<Error><Code>NoSuchKey</Code>…`); a HEAD answer carries no body.
struct S3Error: HTTPResponseError {
    var code: String
    var message: String
    var status: HTTPResponse.Status
    var resource: String

    static func noSuchBucket(_ bucket: String) -> S3Error {
        S3Error(
            code: "NoSuchBucket", message: "The specified bucket does not exist", status: .notFound, resource: bucket)
    }

    static func notImplemented(_ operation: String) -> S3Error {
        S3Error(
            code: "NotImplemented",
            message:
                "relctl's S3 (artifacts for sam deploy) does not offer \(operation); it offers CreateBucket, HeadBucket, DeleteBucket, ListObjectsV2, PutObject, HeadObject, GetObject, DeleteObject and DeleteObjects.",
            status: .notImplemented, resource: operation)
    }

    init(code: String, message: String, status: HTTPResponse.Status, resource: String) {
        self.code = code
        self.message = message
        self.status = status
        self.resource = resource
    }

    /// Errors of the layers around S3 (authentication, body limits, a store failure) in S3's words.
    init(_ error: any Error) {
        switch error {
        case let error as S3Error: self = error
        case let error as RelctlError:
            let (code, status): (String, HTTPResponse.Status) =
                switch error.code {
                case .unrecognizedClient: ("InvalidAccessKeyId", .forbidden)
                case .invalidSignature: ("SignatureDoesNotMatch", .forbidden)
                case .accessDenied: ("AccessDenied", .forbidden)
                case .requestEntityTooLarge, .requestTooLarge: ("EntityTooLarge", .badRequest)
                case .tooManyRequests: ("SlowDown", .serviceUnavailable)
                case .service: ("InternalError", .internalServerError)
                default: ("InvalidRequest", .badRequest)
                }
            self.init(code: code, message: error.message, status: status, resource: "")
        default:
            self.init(code: "InternalError", message: "\(error)", status: .internalServerError, resource: "")
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestId = (context as? AppRequestContext)?.requestId ?? ""
        if request.method == .head { return Response(status: status, headers: [.amzRequestId: requestId]) }
        return QueryXML.document(
            S3ErrorBody(Code: code, Message: message, Resource: resource, RequestId: requestId), root: "Error",
            namespace: nil, status: status)
    }
}

/// `<Error><Code>…</Code><Message>…</Message><Resource>…</Resource><RequestId>…</RequestId></Error>`
struct S3ErrorBody: Encodable {
    var Code: String
    var Message: String
    var Resource: String
    var RequestId: String
}

extension AppRequestContext {
    /// The S3 subset's store as this request sees it (either engine).
    var s3Objects: any S3ObjectStore {
        get throws(RelctlError) {
            guard let scope else {
                throw RelctlError(.service, "No registry for \(operation.name): the request was not authenticated.")
            }
            return scope.s3Objects
        }
    }

    /// The region the request was signed for (HeadBucket's `x-amz-bucket-region`, GetBucketLocation).
    var s3Region: String {
        get throws(RelctlError) {
            guard let scope else {
                throw RelctlError(.service, "No registry for \(operation.name): the request was not authenticated.")
            }
            return scope.registry.arn.region
        }
    }
}

extension HTTPField.Name {
    static let amzCopySource = HTTPField.Name("x-amz-copy-source")!
    static let amzBucketRegion = HTTPField.Name("x-amz-bucket-region")!
    static let contentMD5 = HTTPField.Name("Content-MD5")!
}
