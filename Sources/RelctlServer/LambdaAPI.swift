import Foundation
import RelctlCore
import RelctlPackages
import RelctlRuntime
import RelctlStore

/// The Lambda REST API (rest-json), path for path as botocore's service model defines it.
struct LambdaAPI: Sendable {
    let context: ServerContext

    /// The largest body an operation on `segments` may send, checked before it is buffered.
    static func bodyLimit(method: String, segments: [String]) -> Int {
        if segments.last == "invocations" { return 6 * 1024 * 1024 }
        if method == "POST" && segments.count == 2 && segments[1] == "functions" { return 70_167_211 }
        if segments.last == "code" || (segments.count >= 3 && segments[1] == "layers") { return 70_167_211 }
        return 1024 * 1024
    }

    /// The AWS action name of a request, for read-only keys, metrics and logs.
    static func action(method: String, segments: [String], query: [String: String]) -> String {
        guard segments.count >= 2 else { return "Unknown" }
        let resource = segments[1]
        switch (resource, segments.count, method) {
        case ("account-settings", _, _): return "GetAccountSettings"
        case ("functions", 2, "POST"): return "CreateFunction"
        case ("functions", 2, "GET"): return "ListFunctions"
        case ("functions", 3, "GET"): return "GetFunction"
        case ("functions", 3, "DELETE"): return "DeleteFunction"
        case ("tags", _, "GET"): return "ListTags"
        case ("layers", 2, "GET"): return query["find"] == "LayerVersion" ? "GetLayerVersionByArn" : "ListLayers"
        case ("layers", 4, "POST"): return "PublishLayerVersion"
        case ("layers", 4, "GET"): return "ListLayerVersions"
        case ("layers", 5, "GET"): return "GetLayerVersion"
        case ("layers", 5, "DELETE"): return "DeleteLayerVersion"
        default: break
        }
        guard resource == "functions", segments.count >= 4 else { return "Unknown" }
        switch (segments[3], segments.count, method) {
        case ("configuration", 4, "GET"): return "GetFunctionConfiguration"
        case ("configuration", 4, "PUT"): return "UpdateFunctionConfiguration"
        case ("code", 4, "PUT"): return "UpdateFunctionCode"
        case ("versions", 4, "POST"): return "PublishVersion"
        case ("versions", 4, "GET"): return "ListVersionsByFunction"
        case ("aliases", 4, "POST"): return "CreateAlias"
        case ("aliases", 4, "GET"): return "ListAliases"
        case ("aliases", 5, "GET"): return "GetAlias"
        case ("aliases", 5, "PUT"): return "UpdateAlias"
        case ("aliases", 5, "DELETE"): return "DeleteAlias"
        case ("invocations", 4, "POST"): return "Invoke"
        case ("concurrency", 4, "PUT"): return "PutFunctionConcurrency"
        case ("concurrency", 4, "GET"): return "GetFunctionConcurrency"
        case ("concurrency", 4, "DELETE"): return "DeleteFunctionConcurrency"
        default: return "Unknown"
        }
    }

    func handle(_ request: APIRequest, action: String) async throws(RelctlError) -> APIResponse {
        var request = request
        // Isolation, before any operation runs: every operation on /functions/{FunctionName}/…
        // acts only on a function of the signed region and this account (CreateFunction, which
        // names its function in the body, checks the same way in `createFunction`).
        if request.segments.count >= 3, request.segments[1] == "functions" {
            request.function = try reachableFunction(named: request.segments[2], action: action, request: request)
        }
        let registry = request.registry
        let s = request.segments
        switch action {
        case "GetAccountSettings":
            return .json(try registry.accountSettings())
        case "CreateFunction":
            return try createFunction(request)
        case "ListFunctions":
            if let version = request.query["FunctionVersion"], version != "ALL" {
                throw .validation(value: version, field: "functionVersion", constraint: "Member must satisfy enum value set: [ALL]")
            }
            let page = try registry.listFunctions(allVersions: request.query["FunctionVersion"] == "ALL", marker: request.query["Marker"],
                                                  maxItems: try maxItems(request, cap: 50, hardMax: 10_000))
            return .json(FunctionList(Functions: page.items, NextMarker: page.nextMarker))
        case "GetFunction":
            let reference = try functionReference(request)
            let configuration = try registry.getFunction(reference)
            let reserved = try registry.reservedConcurrency(reference.name)
            return .json(GetFunctionResponse(
                Configuration: configuration,
                Code: .init(RepositoryType: "S3", Location: context.codeLocation(sha256Hex: Self.hex(fromBase64: configuration.CodeSha256), region: registry.arn.region)),
                Concurrency: reserved.map { .init(ReservedConcurrentExecutions: $0) }))
        case "GetFunctionConfiguration":
            return .json(try registry.getFunction(try functionReference(request)))
        case "DeleteFunction":
            try registry.deleteFunction(try functionReference(request))
            return .noContent
        case "UpdateFunctionCode":
            return try updateFunctionCode(request)
        case "UpdateFunctionConfiguration":
            return try updateFunctionConfiguration(request)
        case "PublishVersion":
            let body = try request.json()
            return .json(try registry.publishVersion(
                try functionReference(request, qualifierAllowed: false), description: try body.string("Description"),
                expectedCodeSha256: try body.string("CodeSha256"), expectedRevisionId: try body.string("RevisionId")), status: 201)
        case "ListVersionsByFunction":
            let reference = try functionReference(request, qualifierAllowed: false)
            let page = try registry.listVersions(reference, marker: request.query["Marker"], maxItems: try maxItems(request, cap: 50, hardMax: 10_000))
            return .json(VersionList(Versions: page.items, NextMarker: page.nextMarker))
        case "CreateAlias":
            let body = try request.json()
            let reference = try functionReference(request, qualifierAllowed: false)
            return .json(try registry.createAlias(
                function: reference.name, name: try body.requiredString("Name"), functionVersion: try body.requiredString("FunctionVersion"),
                additionalVersionWeights: try body.object("RoutingConfig")?.doubleMap("AdditionalVersionWeights") ?? [:],
                description: try body.string("Description") ?? ""), status: 201)
        case "ListAliases":
            let reference = try functionReference(request, qualifierAllowed: false)
            let page = try registry.listAliases(function: reference.name, functionVersion: request.query["FunctionVersion"],
                                                marker: request.query["Marker"], maxItems: try maxItems(request, cap: 50, hardMax: 10_000))
            return .json(AliasList(Aliases: page.items, NextMarker: page.nextMarker))
        case "GetAlias":
            return .json(try registry.getAlias(function: try functionReference(request, qualifierAllowed: false).name, name: s[4]))
        case "UpdateAlias":
            let body = try request.json()
            var weights: [String: Double]?
            if let routing = try body.object("RoutingConfig") { weights = try routing.doubleMap("AdditionalVersionWeights") ?? [:] }
            return .json(try registry.updateAlias(
                function: try functionReference(request, qualifierAllowed: false).name, name: s[4],
                functionVersion: try body.string("FunctionVersion"), additionalVersionWeights: weights,
                description: try body.string("Description"), expectedRevisionId: try body.string("RevisionId")))
        case "DeleteAlias":
            try registry.deleteAlias(function: try functionReference(request, qualifierAllowed: false).name, name: s[4])
            return .noContent
        case "Invoke":
            return try await invoke(request)
        case "PutFunctionConcurrency":
            let body = try request.json()
            guard let reserved = try body.int("ReservedConcurrentExecutions") else {
                throw .validation(value: "null", field: "reservedConcurrentExecutions", constraint: "Member must not be null")
            }
            try registry.putFunctionConcurrency(try functionReference(request, qualifierAllowed: false).name, reserved: reserved)
            return .raw(["ReservedConcurrentExecutions": reserved])
        case "GetFunctionConcurrency":
            let reserved = try registry.reservedConcurrency(try functionReference(request, qualifierAllowed: false).name)
            return .raw(reserved.map { ["ReservedConcurrentExecutions": $0] } ?? [:])
        case "DeleteFunctionConcurrency":
            try registry.putFunctionConcurrency(try functionReference(request, qualifierAllowed: false).name, reserved: nil)
            return .noContent
        case "ListTags":
            return .raw(["Tags": [String: String]()])
        case "PublishLayerVersion":
            let body = try request.json()
            guard let content = try body.object("Content") else {
                throw .validation(value: "null", field: "content", constraint: "Member must not be null")
            }
            let code = try package(from: content)
            return .json(withContentLocation(try registry.publishLayerVersion(
                name: s[2], code: code, description: try body.string("Description") ?? "",
                compatibleRuntimes: try body.strings("CompatibleRuntimes") ?? [],
                compatibleArchitectures: try body.strings("CompatibleArchitectures") ?? [], licenseInfo: try body.string("LicenseInfo")),
                registry: registry), status: 201)
        case "ListLayerVersions":
            try validateLayerFilters(request)
            let page = try registry.listLayerVersions(name: s[2], compatibleRuntime: request.query["CompatibleRuntime"],
                                                      marker: request.query["Marker"], maxItems: try maxItems(request, cap: 50, hardMax: 50))
            return .json(LayerVersionList(LayerVersions: page.items, NextMarker: page.nextMarker))
        case "GetLayerVersion":
            return .json(withContentLocation(try registry.getLayerVersion(name: s[2], version: try layerVersionNumber(s[4])), registry: registry))
        case "DeleteLayerVersion":
            try registry.deleteLayerVersion(name: s[2], version: try layerVersionNumber(s[4]))
            return .noContent
        case "GetLayerVersionByArn":
            guard let arn = request.query["Arn"] else {
                throw .validation(value: "null", field: "arn", constraint: "Member must not be null")
            }
            let reference = try LayerVersionReference(parsing: arn)
            guard reference.account == registry.arn.account, reference.region == registry.arn.region else {
                throw RelctlError(.resourceNotFound, "The resource you requested does not exist.")
            }
            return .json(withContentLocation(try registry.getLayerVersion(name: reference.name, version: reference.version), registry: registry))
        case "ListLayers":
            try validateLayerFilters(request)
            let page = try registry.listLayers(compatibleRuntime: request.query["CompatibleRuntime"], marker: request.query["Marker"],
                                               maxItems: try maxItems(request, cap: 50, hardMax: 50))
            return .json(LayerList(Layers: page.items, NextMarker: page.nextMarker))
        default:
            throw RelctlError(.resourceNotFound, "Unknown operation \(request.method) \(request.rawPath).")
        }
    }

    // MARK: - Operations with more to them

    func createFunction(_ request: APIRequest) throws(RelctlError) -> APIResponse {
        let body = try request.json()
        let reference = try reachableFunction(named: try body.requiredString("FunctionName"), action: "CreateFunction", request: request)
        guard reference.qualifier == nil else {
            throw RelctlError(.invalidParameterValue, "FunctionName must not carry a qualifier when creating a function.")
        }
        if let type = try body.string("PackageType"), type != "Zip" {
            throw RelctlError(.invalidParameterValue, "PackageType \(type) is not supported by relctl; use Zip.")
        }
        guard let code = try body.object("Code") else { throw .validation(value: "null", field: "code", constraint: "Member must not be null") }
        let settings = FunctionSettings(
            runtime: try body.string("Runtime"), handler: try body.string("Handler"), role: try body.requiredString("Role"),
            description: try body.string("Description") ?? "",
            memorySize: try body.int("MemorySize", within: Limits.memorySize) ?? Limits.defaultMemorySize,
            timeout: try body.int("Timeout", within: Limits.timeout) ?? Limits.defaultTimeout,
            environment: try body.object("Environment")?.stringMap("Variables").flatMap { $0.isEmpty ? nil : $0 },
            layers: try body.strings("Layers") ?? [], architecture: try architecture(body) ?? "x86_64")
        try settings.validate()
        let zip = try package(from: code)
        var configuration = try request.registry.createFunction(name: reference.name, settings: settings, code: zip,
                                                                publish: try body.bool("Publish") ?? false)
        configuration.State = "Active"
        return .json(configuration, status: 201)
    }

    func updateFunctionCode(_ request: APIRequest) throws(RelctlError) -> APIResponse {
        let body = try request.json()
        let reference = try functionReference(request, qualifierAllowed: false)
        _ = try architecture(body)
        if try body.bool("DryRun") == true {
            _ = try package(from: body)
            return .json(try request.registry.getFunction(reference))
        }
        return .json(try request.registry.updateFunctionCode(
            reference, code: try package(from: body), expectedRevisionId: try body.string("RevisionId"), publish: try body.bool("Publish") ?? false))
    }

    func updateFunctionConfiguration(_ request: APIRequest) throws(RelctlError) -> APIResponse {
        let body = try request.json()
        let reference = try functionReference(request, qualifierAllowed: false)
        var update = ConfigurationUpdate(
            runtime: try body.string("Runtime"), handler: try body.string("Handler"), role: try body.string("Role"),
            description: try body.string("Description"), memorySize: try body.int("MemorySize", within: Limits.memorySize),
            timeout: try body.int("Timeout", within: Limits.timeout))
        if let environment = try body.object("Environment") { update.environment = try environment.stringMap("Variables") ?? [:] }
        update.layers = try body.strings("Layers")
        if let role = update.role { try FunctionSettings.validateRole(role) }
        return .json(try request.registry.updateFunctionConfiguration(reference, update, expectedRevisionId: try body.string("RevisionId")))
    }

    func invoke(_ request: APIRequest) async throws(RelctlError) -> APIResponse {
        let reference = try functionReference(request)
        let type = request.header("X-Amz-Invocation-Type") ?? "RequestResponse"
        let target = try request.registry.invocationTarget(reference)
        switch type {
        case "DryRun":
            return APIResponse(status: 204)
        case "Event":
            guard request.body.count <= 1024 * 1024 else {
                throw RelctlError(.requestTooLarge, "Request must be smaller than 1048576 bytes for the InvokeFunction operation")
            }
            let pool = context.pool
            let payload = request.body
            Task { _ = try? await pool.invoke(target, payload: payload) }
            return APIResponse(status: 202, headers: [("Content-Type", "application/json")])
        case "RequestResponse":
            let result = try await context.pool.invoke(target, payload: request.body, routingKey: request.header("X-Relctl-Routing-Key"),
                                                       logTail: request.header("X-Amz-Log-Type") == "Tail")
            var headers: [(String, String)] = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", result.ExecutedVersion)]
            if let error = result.FunctionError { headers.append(("X-Amz-Function-Error", error)) }
            if let log = result.LogResult { headers.append(("X-Amz-Log-Result", log)) }
            return APIResponse(status: 200, headers: headers, body: Data(result.Payload.utf8))
        default:
            throw .validation(value: type, field: "invocationType", constraint: "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
        }
    }

    // MARK: - Helpers

    /// The function named in the path, with a qualifier from the name or `?Qualifier=`.
    func functionReference(_ request: APIRequest, qualifierAllowed: Bool = true) throws(RelctlError) -> FunctionReference {
        guard var reference = request.function else {
            throw RelctlError(.service, "\(request.method) \(request.rawPath) names no function.")
        }
        if let qualifier = request.query["Qualifier"] {
            let parsed = try Qualifier(parsing: qualifier)
            if let derived = reference.qualifier, derived != parsed {
                throw RelctlError(.invalidParameterValue, "The derived qualifier from the function name does not match the specified qualifier.")
            }
            reference.qualifier = parsed
        }
        if reference.qualifier != nil && !qualifierAllowed {
            throw RelctlError(.invalidParameterValue, "This operation does not take a qualified function name.")
        }
        return reference
    }

    /// The operations whose FunctionName is botocore's NamespacedFunctionName (256 characters, its own pattern).
    static let namespacedActions: Set<String> = ["GetFunction", "GetFunctionConfiguration", "DeleteFunction", "Invoke", "ListVersionsByFunction"]

    /// A function name from the request, refused unless it is in the request's region and account.
    func reachableFunction(named text: String, action: String, request: APIRequest) throws(RelctlError) -> FunctionReference {
        let shape: FunctionReference.NameShape = Self.namespacedActions.contains(action) ? .namespaced : .functionName
        let reference = try FunctionReference(parsing: text, shape: shape)
        try request.registry.arn.requireReachable(reference, named: text, shape: shape, action: action, caller: request.registry.actor)
        return reference
    }

    /// `Architectures`: a list of exactly one architecture, as AWS's model says.
    func architecture(_ body: JSONObject) throws(RelctlError) -> String? {
        guard let list = try body.strings("Architectures") else { return nil }
        guard list.count == 1 else {
            throw .validation(
                value: "[\(list.joined(separator: ", "))]", field: "architectures",
                constraint: list.isEmpty ? "Member must have length greater than or equal to 1" : "Member must have length less than or equal to 1")
        }
        return list[0]
    }

    /// ListLayers' and ListLayerVersions' filters are enums: an unknown value is refused, not an empty list.
    func validateLayerFilters(_ request: APIRequest) throws(RelctlError) {
        if let runtime = request.query["CompatibleRuntime"], !FunctionSettings.runtimes.contains(runtime) {
            throw .validation(value: runtime, field: "compatibleRuntime",
                              constraint: "Member must satisfy enum value set: [\(FunctionSettings.runtimes.joined(separator: ", "))]")
        }
        if let architecture = request.query["CompatibleArchitecture"], !FunctionSettings.architectures.contains(architecture) {
            throw .validation(value: architecture, field: "compatibleArchitecture",
                              constraint: "Member must satisfy enum value set: [\(FunctionSettings.architectures.joined(separator: ", "))]")
        }
    }

    func maxItems(_ request: APIRequest, cap: Int, hardMax: Int) throws(RelctlError) -> Int {
        guard let text = request.query["MaxItems"] else { return cap }
        guard let value = Int(text), (1...hardMax).contains(value) else {
            throw .validation(value: text, field: "maxItems", constraint: "Member must have value between 1 and \(hardMax)")
        }
        return min(value, cap)
    }

    func layerVersionNumber(_ text: String) throws(RelctlError) -> Int {
        guard let number = Int(text) else {
            throw .validation(value: text, field: "versionNumber", constraint: "Member must be a number")
        }
        guard number >= 1 else { throw RelctlError(.invalidParameterValue, "Layer Version Cannot be less than 1") }
        return number
    }

    /// Code from `ZipFile` (base64 in the JSON) or from S3.
    func package(from object: JSONObject) throws(RelctlError) -> InspectedPackage {
        if let zip = try object.data("ZipFile") { return try PackageInspector.inspect(zip) }
        if try object.string("ImageUri") != nil {
            throw RelctlError(.invalidParameterValue, "Container images (ImageUri) are not supported by relctl; upload a zip.")
        }
        if let bucket = try object.string("S3Bucket") {
            guard let key = try object.string("S3Key") else {
                throw RelctlError(.invalidParameterValue, "S3Key is required with S3Bucket.")
            }
            return try PackageInspector.inspect(try context.fetchFromS3(bucket: bucket, key: key, version: try object.string("S3ObjectVersion")))
        }
        throw RelctlError(.invalidParameterValue, "Please provide a source for function code: ZipFile, or S3Bucket and S3Key.")
    }


    /// A layer version as GetLayerVersion and PublishLayerVersion answer it: with a presigned `Content.Location`.
    func withContentLocation(_ layer: LayerVersion, registry: Registry) -> LayerVersion {
        var layer = layer
        layer.Content.Location = context.codeLocation(sha256Hex: Self.hex(fromBase64: layer.Content.CodeSha256), region: registry.arn.region)
        return layer
    }

    static func hex(fromBase64 text: String) -> String {
        (Data(base64Encoded: text) ?? Data()).map { String(format: "%02x", $0) }.joined()
    }
}

// Response shapes for lists and GetFunction.
struct FunctionList: Encodable { var Functions: [FunctionConfiguration]; var NextMarker: String? }
struct VersionList: Encodable { var Versions: [FunctionConfiguration]; var NextMarker: String? }
struct AliasList: Encodable { var Aliases: [AliasConfiguration]; var NextMarker: String? }
struct LayerVersionList: Encodable { var LayerVersions: [LayerVersion]; var NextMarker: String? }
struct LayerList: Encodable { var Layers: [LayerSummary]; var NextMarker: String? }
struct GetFunctionResponse: Encodable {
    struct CodeLocation: Encodable { var RepositoryType: String; var Location: String }
    struct Concurrency: Encodable { var ReservedConcurrentExecutions: Int }
    var Configuration: FunctionConfiguration
    var Code: CodeLocation
    var Concurrency: Concurrency?
}
