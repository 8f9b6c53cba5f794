import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix
import RelctlCore
import RelctlPackages
import RelctlStorage
import RelctlStore

/// A Lambda REST request as an operation sees it: the path's names (percent-decoded), the query,
/// the body the middleware read and the registry scoped to the request.
struct LambdaCall: Sendable {
    var operation: String
    var method: String
    var rawPath: String
    var query: [String: String]
    /// Every query pair in order (UntagResource repeats `tagKeys`).
    var queryPairs: [(String, String)]
    var body: Data
    var scope: RegistryScope
    var headers: HTTPFields
    /// The function the path names, checked to be reachable (this region, this account) before the operation runs.
    var function: FunctionReference?
    private var parameters: [String: String]

    /// The API versions in Lambda's paths (botocore's model).
    static let apiVersions: Set<String> = [
        "2015-03-31", "2016-08-19", "2017-03-31", "2017-10-31", "2018-10-31", "2019-09-25", "2019-09-30",
        "2020-06-30", "2021-07-20", "2021-10-31", "2024-08-31",
    ]

    init(_ request: Request, _ context: AppRequestContext) throws(RelctlError) {
        let apiVersion = context.parameters.get("apiVersion") ?? ""
        guard Self.apiVersions.contains(apiVersion), let scope = context.scope else {
            throw RelctlError(.resourceNotFound, "No operation at \(request.method.rawValue) \(request.uri.path).")
        }
        operation = context.operation.name
        method = request.method.rawValue
        rawPath = request.uri.path
        queryPairs = Self.parseQueryPairs(request.uri.query)
        query = Dictionary(queryPairs, uniquingKeysWith: { $1 })
        body = context.body
        self.scope = scope
        records = scope.records
        headers = request.headers
        var decoded: [String: String] = [:]
        for (name, value) in context.parameters {
            decoded[String(name)] = Self.percentDecoded(String(value))
        }
        parameters = decoded
        // Isolation, before any operation runs: every operation on /functions/{FunctionName}/…
        // acts only on a function of the signed region and this account (CreateFunction, which
        // names its function in the body, checks the same way).
        if let name = decoded["function"] {
            function = try reachableFunction(named: name)
        }
    }

    var registry: Registry { scope.registry }
    /// The registry records of the engine this server answers from (SQLite or a shared database), scoped once
    /// for the request (a handler may ask several times).
    let records: any RegistryRecords

    /// A path parameter, percent-decoded.
    func parameter(_ name: String) -> String { parameters[name] ?? "" }

    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }

    func json() throws(RelctlError) -> JSONObject { try JSONObject(body: body) }

    /// Runs registry work on the store threads (see `AppRequestContext.store`).
    func store<T: Sendable>(_ body: @escaping @Sendable (Registry) throws -> T) async throws -> T {
        try scope.requireSQLite(operation)
        let registry = scope.registry
        return try await scope.threads.runIfActive { try body(registry) }
    }

    /// A registry write with the request's package, checked and staged on the store threads and, with a bucket,
    /// uploaded ahead by the async client (see `ThreadedRecords.run(staging:_:)`).
    func store<T: Sendable>(
        code package: LambdaRoutes.UploadedPackage,
        _ body: @escaping @Sendable (Registry, InspectedPackage) throws -> T
    ) async throws -> T {
        try scope.requireSQLite(operation)
        return try await ThreadedRecords(registry: scope.registry, threads: scope.threads).run(
            staging: { try package.inspect(staging: $0) }, body)
    }

    /// The function named in the path, with a qualifier from the name or `?Qualifier=`.
    func functionReference(qualifierAllowed: Bool = true) throws(RelctlError) -> FunctionReference {
        guard var reference = function else {
            throw RelctlError(.service, "\(method) \(rawPath) names no function.")
        }
        if let qualifier = query["Qualifier"] {
            let parsed = try Qualifier(parsing: qualifier)
            if let derived = reference.qualifier, derived != parsed {
                throw RelctlError(
                    .invalidParameterValue,
                    "The derived qualifier from the function name does not match the specified qualifier.")
            }
            reference.qualifier = parsed
        }
        if reference.qualifier != nil && !qualifierAllowed {
            throw RelctlError(.invalidParameterValue, "This operation does not take a qualified function name.")
        }
        return reference
    }

    /// The function of an alias operation. AWS accepts it named by an alias ARN
    /// (`…:function:NAME:ALIAS`); the qualifier names nothing more there and is set aside.
    func aliasFunction() throws(RelctlError) -> FunctionReference {
        guard var reference = function else {
            throw RelctlError(.service, "\(method) \(rawPath) names no function.")
        }
        reference.qualifier = nil
        return reference
    }

    /// The operations whose FunctionName is botocore's NamespacedFunctionName (256 characters, its own pattern).
    static let namespacedActions: Set<String> = [
        "GetFunction", "GetFunctionConfiguration", "DeleteFunction", "Invoke", "ListVersionsByFunction",
        "AddPermission", "GetPolicy", "RemovePermission",
    ]

    /// A function name from the request, refused unless it is in the request's region and account.
    func reachableFunction(named text: String) throws(RelctlError) -> FunctionReference {
        let shape: FunctionReference.NameShape =
            Self.namespacedActions.contains(operation) ? .namespaced : .functionName
        let reference = try FunctionReference(parsing: text, shape: shape)
        // In a name, AWS's pattern allows `$` only in `$LATEST`: `NAME:$LATES` is a ValidationException
        // on functionName (a `Qualifier` parameter of that text is merely not found).
        if case .alias(let qualifier)? = reference.qualifier, !qualifier.allSatisfy(\.isNameCharacter) {
            throw .validation(
                value: text, field: "functionName",
                constraint: "Member must satisfy regular expression pattern: \(shape.pattern)")
        }
        try registry.arn.requireReachable(
            reference, named: text, shape: shape, action: operation, caller: registry.actor)
        return reference
    }

    func maxItems(cap: Int, hardMax: Int) throws(RelctlError) -> Int {
        guard let text = query["MaxItems"] else { return cap }
        guard let value = Int(text), (1...hardMax).contains(value) else {
            throw .validation(
                value: text, field: "maxItems", constraint: "Member must have value between 1 and \(hardMax)")
        }
        return min(value, cap)
    }

    /// A path or query component with its `%XX` escapes decoded (as it was when a decoding fails). Most
    /// have none: those skip Foundation's decoder, which bridges through NSString on every request.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        return text.removingPercentEncoding ?? text
    }

    static func parseQuery(_ raw: String?) -> [String: String] {
        Dictionary(parseQueryPairs(raw), uniquingKeysWith: { $1 })
    }

    static func parseQueryPairs(_ raw: String?) -> [(String, String)] {
        guard let raw, !raw.isEmpty else { return [] }
        return raw.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count > 1 else { return (percentDecoded(String(parts[0])), "") }
            let value = String(parts[1])
            let plain = !value.utf8.contains { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }
            return (
                percentDecoded(String(parts[0])),
                plain ? value : (value.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? value)
            )
        }
    }
}
