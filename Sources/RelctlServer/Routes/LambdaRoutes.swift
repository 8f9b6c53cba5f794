import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix
import RelctlCore
import RelctlPackages
import RelctlRuntime
import RelctlStorage
import RelctlStore

/// The Lambda REST API (rest-json), path for path as botocore's service model defines it.
struct LambdaRoutes: Sendable {
    let services: ServerServices

    static let packageLimit = 70_167_211

    static func operation(_ name: String, bodyLimit: Int = 1024 * 1024) -> APIOperation {
        APIOperation(name: name, api: .lambda, bodyLimit: bodyLimit)
    }

    var routes: [Route] {
        let functions = "/{apiVersion}/functions"
        let function = "/{apiVersion}/functions/{function}"
        let layers = "/{apiVersion}/layers"
        return [
            route(.get, "/{apiVersion}/account-settings", "GetAccountSettings") { call in
                .awsJSON(try await call.records.accountSettings())
            },
            route(.post, functions, "CreateFunction", bodyLimit: Self.packageLimit, createFunction),
            route(.get, functions, "ListFunctions", listFunctions),
            route(.get, function, "GetFunction", getFunction),
            route(.delete, function, "DeleteFunction") { call in
                let reference = try call.functionReference()
                _ = try await call.records.deleteFunction(reference)
                return Response(status: .noContent)
            },
            route(.get, function + "/configuration", "GetFunctionConfiguration") { call in
                let reference = try call.functionReference()
                return .awsJSON(services.withPublishingState(try await call.records.getFunction(reference)))
            },
            route(.put, function + "/configuration", "UpdateFunctionConfiguration", updateFunctionConfiguration),
            route(.put, function + "/code", "UpdateFunctionCode", bodyLimit: Self.packageLimit, updateFunctionCode),
            route(.post, function + "/versions", "PublishVersion", publishVersion),
            route(.get, function + "/versions", "ListVersionsByFunction") { call in
                let reference = try call.functionReference(qualifierAllowed: false)
                let (marker, maxItems) = (call.query["Marker"], try call.maxItems(cap: 50, hardMax: 10_000))
                let page = try await call.records.versionPage(reference, marker: marker, maxItems: maxItems)
                return .awsJSON(VersionList(Versions: page.items, NextMarker: page.nextMarker))
            },
            route(.post, function + "/aliases", "CreateAlias", createAlias),
            route(.get, function + "/aliases", "ListAliases") { call in
                let reference = try call.aliasFunction()
                let (version, marker, maxItems) = (
                    call.query["FunctionVersion"], call.query["Marker"], try call.maxItems(cap: 50, hardMax: 10_000)
                )
                let page = try await call.records.aliasPage(
                    function: reference.name, functionVersion: version, marker: marker, maxItems: maxItems)
                return .awsJSON(AliasList(Aliases: page.items, NextMarker: page.nextMarker))
            },
            route(.get, function + "/aliases/{alias}", "GetAlias") { call in
                let (function, alias) = (try call.aliasFunction().name, call.parameter("alias"))
                return .awsJSON(try await call.records.getAlias(function: function, name: alias))
            },
            route(.put, function + "/aliases/{alias}", "UpdateAlias", updateAlias),
            route(.delete, function + "/aliases/{alias}", "DeleteAlias") { call in
                let (function, alias) = (try call.aliasFunction().name, call.parameter("alias"))
                _ = try await call.records.deleteAlias(function: function, name: alias)
                return Response(status: .noContent)
            },
            route(.post, function + "/invocations", "Invoke", bodyLimit: 6 * 1024 * 1024, invoke),
            route(.put, function + "/concurrency", "PutFunctionConcurrency") { call in
                let body = try call.json()
                guard let reserved = try body.int("ReservedConcurrentExecutions") else {
                    throw RelctlError.validation(
                        value: "null", field: "reservedConcurrentExecutions", constraint: "Member must not be null")
                }
                let name = try call.functionReference(qualifierAllowed: false).name
                try await call.records.putFunctionConcurrency(name, reserved: reserved)
                return .awsJSON(FunctionConcurrency(ReservedConcurrentExecutions: reserved))
            },
            route(.get, function + "/concurrency", "GetFunctionConcurrency") { call in
                let name = try call.functionReference(qualifierAllowed: false).name
                return .awsJSON(
                    FunctionConcurrency(
                        ReservedConcurrentExecutions: try await call.records.reservedConcurrency(name)))
            },
            route(.delete, function + "/concurrency", "DeleteFunctionConcurrency") { call in
                let name = try call.functionReference(qualifierAllowed: false).name
                try await call.records.putFunctionConcurrency(name, reserved: nil)
                return Response(status: .noContent)
            },
            Route(
                .get, .init(stringLiteral: layers),
                operation: { request in
                    Self.operation(
                        request.uri.queryParameters.get("find") == "LayerVersion"
                            ? "GetLayerVersionByArn" : "ListLayers")
                }
            ) { request, context in
                let call = try LambdaCall(request, context)
                return try await call.operation == "GetLayerVersionByArn"
                    ? getLayerVersionByArn(call) : listLayers(call)
            },
            route(
                .post, layers + "/{layer}/versions", "PublishLayerVersion", bodyLimit: Self.packageLimit,
                publishLayerVersion),
            route(.get, layers + "/{layer}/versions", "ListLayerVersions", bodyLimit: Self.packageLimit) { call in
                try Self.validateLayerFilters(call)
                let (name, runtime, architecture, marker, maxItems) = (
                    call.parameter("layer"), call.query["CompatibleRuntime"],
                    call.query["CompatibleArchitecture"], call.query["Marker"],
                    try call.maxItems(cap: 50, hardMax: 50)
                )
                let page = try await call.records.layerVersionPage(
                    name: name, compatibleRuntime: runtime, compatibleArchitecture: architecture, marker: marker,
                    maxItems: maxItems)
                return .awsJSON(
                    LayerVersionList(
                        LayerVersions: page.items.map(LayerVersionsListItem.init), NextMarker: page.nextMarker))
            },
            route(.get, layers + "/{layer}/versions/{number}", "GetLayerVersion", bodyLimit: Self.packageLimit) {
                call in
                let (name, number) = (call.parameter("layer"), try Self.layerVersionNumber(call.parameter("number")))
                let layer = try await call.records.getLayerVersion(name: name, version: number)
                return .awsJSON(withContentLocation(layer, region: call.registry.arn.region))
            },
            route(.delete, layers + "/{layer}/versions/{number}", "DeleteLayerVersion", bodyLimit: Self.packageLimit) {
                call in
                let (name, number) = (call.parameter("layer"), try Self.layerVersionNumber(call.parameter("number")))
                _ = try await call.records.deleteLayerVersion(name: name, version: number)
                return Response(status: .noContent)
            },
        ] + LambdaResourceRoutes(services: services).routes
    }

    /// A route whose handler takes the decoded `LambdaCall`.
    func route(
        _ method: HTTPRequest.Method, _ path: String, _ name: String, bodyLimit: Int = 1024 * 1024,
        _ handler: @escaping @Sendable (LambdaCall) async throws -> Response
    ) -> Route {
        Route(method, .init(stringLiteral: path), Self.operation(name, bodyLimit: bodyLimit)) { request, context in
            try await handler(try LambdaCall(request, context))
        }
    }

    // MARK: - Functions

    @Sendable func createFunction(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        let reference = try call.reachableFunction(named: try body.requiredString("FunctionName"))
        guard reference.qualifier == nil else {
            throw RelctlError(
                .invalidParameterValue, "FunctionName must not carry a qualifier when creating a function.")
        }
        if let type = try body.string("PackageType"), type != "Zip" {
            throw RelctlError(.invalidParameterValue, "PackageType \(type) is not supported by relctl; use Zip.")
        }
        guard let code = try body.object("Code") else {
            throw RelctlError.validation(value: "null", field: "code", constraint: "Member must not be null")
        }
        var settings = FunctionSettings(
            runtime: try body.string("Runtime"), handler: try body.string("Handler"),
            role: try body.requiredString("Role"),
            description: try body.string("Description") ?? "",
            memorySize: try body.int("MemorySize", within: Limits.memorySize) ?? Limits.defaultMemorySize,
            timeout: try body.int("Timeout", within: Limits.timeout) ?? Limits.defaultTimeout,
            // An Environment sent with no variables is kept, and reported as {"Variables": {}}, as AWS does.
            environment: try body.object("Environment").map { try $0.stringMap("Variables") ?? [:] },
            layers: try body.strings("Layers") ?? [], architecture: try Self.architecture(body) ?? "x86_64")
        try Self.readExtras(body, into: &settings)
        try settings.validate()
        let tags = try body.stringMap("Tags") ?? [:]
        let package = try await packageBytes(from: code)
        let (publish, settle, complete) = (try body.bool("Publish") ?? false, services.settle, settings)
        if call.scope.sharedEngine != nil {
            return .awsJSON(
                try await call.records.createFunction(
                    name: reference.name, settings: complete, zip: package.bytes, publish: publish, tags: tags,
                    settle: settle),
                status: .created)
        }
        let configuration = try await call.store(code: package) { registry, code in
            try registry.createFunction(
                name: reference.name, settings: complete, code: code, publish: publish, tags: tags, settle: settle)
        }
        services.scheduleSettle(reference.name, registry: call.registry, pendingCreate: true)
        return .awsJSON(configuration, status: .created)
    }

    /// LoggingConfig, TracingConfig and EphemeralStorage from a create or update body.
    static func readExtras(_ body: JSONObject, into settings: inout FunctionSettings) throws(RelctlError) {
        if let logging = try body.object("LoggingConfig") { settings.loggingConfig = try loggingConfig(logging) }
        if let tracing = try body.object("TracingConfig") { settings.tracingMode = try tracing.string("Mode") }
        if let storage = try body.object("EphemeralStorage") { settings.ephemeralStorageSize = try storage.int("Size") }
    }

    static func loggingConfig(_ object: JSONObject) throws(RelctlError) -> LoggingConfig {
        LoggingConfig(
            LogFormat: try object.string("LogFormat"), ApplicationLogLevel: try object.string("ApplicationLogLevel"),
            SystemLogLevel: try object.string("SystemLogLevel"), LogGroup: try object.string("LogGroup"))
    }

    @Sendable func listFunctions(_ call: LambdaCall) async throws -> Response {
        if let version = call.query["FunctionVersion"], version != "ALL" {
            throw RelctlError.validation(
                value: version, field: "functionVersion", constraint: "Member must satisfy enum value set: [ALL]")
        }
        let (all, marker, maxItems) = (
            call.query["FunctionVersion"] == "ALL", call.query["Marker"], try call.maxItems(cap: 50, hardMax: 10_000)
        )
        let page = try await call.records.functionPage(allVersions: all, marker: marker, maxItems: maxItems)
        return .awsJSON(FunctionList(Functions: page.items, NextMarker: page.nextMarker))
    }

    @Sendable func getFunction(_ call: LambdaCall) async throws -> Response {
        let reference = try call.functionReference()
        let (configuration, reserved, tags) = try await Self.functionDetails(call, reference)
        return .awsJSON(
            GetFunctionResponse(
                Configuration: services.withPublishingState(configuration),
                Code: .init(
                    RepositoryType: "S3",
                    Location: services.codeLocation(
                        sha256Hex: Self.hex(fromBase64: configuration.CodeSha256),
                        region: call.registry.arn.region)),
                Tags: tags.isEmpty ? nil : tags,
                Concurrency: reserved.map { .init(ReservedConcurrentExecutions: $0) }))
    }

    /// GetFunction's configuration, reserved concurrency and tags.
    static func functionDetails(
        _ call: LambdaCall, _ reference: FunctionReference
    ) async throws -> (FunctionConfiguration, Int?, [String: String]) {
        if call.scope.sharedEngine != nil {
            let configuration = try await call.records.getFunction(reference)
            return (
                configuration, try await call.records.reservedConcurrency(reference.name),
                try await call.records.tags(of: reference.name)
            )
        }
        return try await call.store { registry in
            (
                try registry.getFunction(reference), try registry.reservedConcurrency(reference.name),
                try registry.tags(of: reference.name)
            )
        }
    }

    @Sendable func updateFunctionCode(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        let reference = try call.functionReference(qualifierAllowed: false)
        _ = try Self.architecture(body)
        if try body.bool("DryRun") == true {
            let package = try await packageBytes(from: body)
            // Validation reads the whole zip: on the store threads, as writes are; then $LATEST as it stands.
            _ = try await call.scope.threads.runIfActive { try package.validate() }
            return .awsJSON(try await call.records.getFunction(reference))
        }
        let package = try await packageBytes(from: body)
        let (revision, publish, settle) = (
            try body.string("RevisionId"), try body.bool("Publish") ?? false, services.settle
        )
        if call.scope.sharedEngine != nil {
            return .awsJSON(
                try await call.records.updateFunctionCode(
                    reference, zip: package.bytes, expectedRevisionId: revision, publish: publish, settle: settle))
        }
        let configuration = try await call.store(code: package) { registry, code in
            try registry.updateFunctionCode(
                reference, code: code, expectedRevisionId: revision, publish: publish, settle: settle)
        }
        services.scheduleSettle(reference.name, registry: call.registry)
        return .awsJSON(configuration)
    }

    @Sendable func updateFunctionConfiguration(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        let reference = try call.functionReference(qualifierAllowed: false)
        var update = ConfigurationUpdate(
            runtime: try body.string("Runtime"), handler: try body.string("Handler"), role: try body.string("Role"),
            description: try body.string("Description"),
            memorySize: try body.int("MemorySize", within: Limits.memorySize),
            timeout: try body.int("Timeout", within: Limits.timeout))
        if let environment = try body.object("Environment") {
            update.environment = try environment.stringMap("Variables") ?? [:]
        }
        update.layers = try body.strings("Layers")
        if let logging = try body.object("LoggingConfig") {
            update.loggingConfig = try Self.loggingConfig(logging)
            try FunctionSettings.validateLoggingConfig(update.loggingConfig!)
        }
        if let tracing = try body.object("TracingConfig") { update.tracingMode = try tracing.string("Mode") }
        if let storage = try body.object("EphemeralStorage") { update.ephemeralStorageSize = try storage.int("Size") }
        if let role = update.role { try FunctionSettings.validateRole(role) }
        let configuration = try await call.records.updateFunctionConfiguration(
            reference, update, expectedRevisionId: try body.string("RevisionId"), settle: services.settle)
        // The shared engine settles at once; the data directory's registry settles after `--settle`.
        if call.scope.sharedEngine == nil { services.scheduleSettle(reference.name, registry: call.registry) }
        return .awsJSON(configuration)
    }

    @Sendable func publishVersion(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        let reference = try call.functionReference(qualifierAllowed: false)
        let (description, codeSha256, revision) = (
            try body.string("Description"), try body.string("CodeSha256"), try body.string("RevisionId")
        )
        let settle = services.settle
        let configuration = try await call.records.publishVersion(
            reference, description: description, expectedCodeSha256: codeSha256, expectedRevisionId: revision,
            settle: settle)
        services.notePublishing(configuration)
        return .awsJSON(configuration, status: .created)
    }

    // MARK: - Aliases

    @Sendable func createAlias(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        let reference = try call.aliasFunction()
        let (name, version) = (try body.requiredString("Name"), try body.requiredString("FunctionVersion"))
        let weights = try body.object("RoutingConfig")?.doubleMap("AdditionalVersionWeights") ?? [:]
        let description = try body.string("Description") ?? ""
        return .awsJSON(
            try await call.records.createAlias(
                function: reference.name, name: name, functionVersion: version, additionalVersionWeights: weights,
                description: description), status: .created)
    }

    @Sendable func updateAlias(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        var weights: [String: Double]?
        if let routing = try body.object("RoutingConfig") {
            weights = try routing.doubleMap("AdditionalVersionWeights") ?? [:]
        }
        let function = try call.aliasFunction().name
        let (alias, version, description, revision) = (
            call.parameter("alias"), try body.string("FunctionVersion"), try body.string("Description"),
            try body.string("RevisionId")
        )
        return .awsJSON(
            try await call.records.updateAlias(
                function: function, name: alias, functionVersion: version, additionalVersionWeights: weights,
                description: description, expectedRevisionId: revision, cause: "UpdateAlias"))
    }

    // MARK: - Invoke

    @Sendable func invoke(_ call: LambdaCall) async throws -> Response {
        let reference = try call.functionReference()
        let type = call.header("X-Amz-Invocation-Type") ?? "RequestResponse"
        // A function still being created cannot run yet (AWS's ResourceConflictException); only
        // functions this server created with --settle can be, so other invocations skip the read.
        if call.scope.sharedEngine == nil, services.mayBePending(reference.name),
            try await call.store({ try $0.isPending(reference.name) })
        {
            throw RelctlError(
                .resourceConflict,
                "The operation cannot be performed at this time. The function is currently in the following state: Pending"
            )
        }
        let target = try await call.records.resolveInvocation(reference)
        switch type {
        case "DryRun":
            return Response(status: .noContent)
        case "Event":
            guard call.body.count <= 1024 * 1024 else {
                throw RelctlError(
                    .requestTooLarge, "Request must be smaller than 1048576 bytes for the InvokeFunction operation")
            }
            let pool = services.pool
            let payload = call.body
            Task { _ = try? await pool.invoke(target, payload: payload) }
            return Response(status: .accepted, headers: [.contentType: "application/json"])
        case "RequestResponse":
            let result = try await services.pool.invoke(
                target, payload: call.body, routingKey: call.header("X-Relctl-Routing-Key"),
                logTail: call.header("X-Amz-Log-Type") == "Tail")
            var headers: HTTPFields = [.contentType: "application/json", .amzExecutedVersion: result.ExecutedVersion]
            if let error = result.FunctionError { headers[.amzFunctionError] = error }
            if let log = result.LogResult { headers[.amzLogResult] = log }
            return .bytes(Data(result.Payload.utf8), headers: headers)
        default:
            throw RelctlError.validation(
                value: type, field: "invocationType",
                constraint: "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
        }
    }

    // MARK: - Layers

    @Sendable func publishLayerVersion(_ call: LambdaCall) async throws -> Response {
        let body = try call.json()
        guard let content = try body.object("Content") else {
            throw RelctlError.validation(value: "null", field: "content", constraint: "Member must not be null")
        }
        let name = call.parameter("layer")
        let (description, runtimes, architectures, license) = (
            try body.string("Description") ?? "", try body.strings("CompatibleRuntimes") ?? [],
            try body.strings("CompatibleArchitectures") ?? [], try body.string("LicenseInfo")
        )
        try Self.validateLayerCompatibility(runtimes: runtimes, architectures: architectures)
        let package = try await packageBytes(from: content)
        let layer = try await call.records.publishLayerVersion(
            name: name, zip: package.bytes, description: description, compatibleRuntimes: runtimes,
            compatibleArchitectures: architectures, licenseInfo: license)
        return .awsJSON(withContentLocation(layer, region: call.registry.arn.region), status: .created)
    }

    func getLayerVersionByArn(_ call: LambdaCall) async throws -> Response {
        guard let arn = call.query["Arn"] else {
            throw RelctlError.validation(value: "null", field: "arn", constraint: "Member must not be null")
        }
        let reference = try LayerVersionReference(parsing: arn)
        guard reference.account == call.registry.arn.account, reference.region == call.registry.arn.region else {
            throw RelctlError(.resourceNotFound, "The resource you requested does not exist.")
        }
        let layer = try await call.records.getLayerVersion(name: reference.name, version: reference.version)
        return .awsJSON(withContentLocation(layer, region: call.registry.arn.region))
    }

    func listLayers(_ call: LambdaCall) async throws -> Response {
        try Self.validateLayerFilters(call)
        let (runtime, architecture, marker, maxItems) = (
            call.query["CompatibleRuntime"], call.query["CompatibleArchitecture"], call.query["Marker"],
            try call.maxItems(cap: 50, hardMax: 50)
        )
        let page = try await call.records.layerPage(
            compatibleRuntime: runtime, compatibleArchitecture: architecture, marker: marker, maxItems: maxItems)
        let layers = page.items.map {
            LayerList.Item(
                LayerName: $0.LayerName, LayerArn: $0.LayerArn,
                LatestMatchingVersion: LayerVersionsListItem($0.LatestMatchingVersion))
        }
        return .awsJSON(LayerList(Layers: layers, NextMarker: page.nextMarker))
    }

    // MARK: - Helpers

    /// `Architectures`: a list of exactly one architecture, as AWS's model says.
    static func architecture(_ body: JSONObject) throws(RelctlError) -> String? {
        guard let list = try body.strings("Architectures") else { return nil }
        guard list.count == 1 else {
            throw .validation(
                value: "[\(list.joined(separator: ", "))]", field: "architectures",
                constraint: list.isEmpty
                    ? "Member must have length greater than or equal to 1"
                    : "Member must have length less than or equal to 1")
        }
        return list[0]
    }

    /// ListLayers' and ListLayerVersions' filters are enums: an unknown value is refused, not an empty list.
    static func validateLayerFilters(_ call: LambdaCall) throws(RelctlError) {
        if let runtime = call.query["CompatibleRuntime"], !FunctionSettings.runtimes.contains(runtime) {
            throw .validation(
                value: runtime, field: "compatibleRuntime",
                constraint: "Member must satisfy enum value set: [\(FunctionSettings.runtimes.joined(separator: ", "))]"
            )
        }
        if let architecture = call.query["CompatibleArchitecture"],
            !FunctionSettings.architectures.contains(architecture)
        {
            throw .validation(
                value: architecture, field: "compatibleArchitecture",
                constraint:
                    "Member must satisfy enum value set: [\(FunctionSettings.architectures.joined(separator: ", "))]")
        }
    }

    /// PublishLayerVersion's lists of botocore's enums (at most 15 runtimes and 2 architectures), in
    /// AWS's words for a list member.
    static func validateLayerCompatibility(runtimes: [String], architectures: [String]) throws(RelctlError) {
        var failures: [(String, String, String)] = []
        let runtimeList = "[\(runtimes.joined(separator: ", "))]",
            architectureList = "[\(architectures.joined(separator: ", "))]"
        if runtimes.count > 15 {
            failures.append((runtimeList, "compatibleRuntimes", "Member must have length less than or equal to 15"))
        }
        if runtimes.contains(where: { !FunctionSettings.runtimes.contains($0) }) {
            failures.append(
                (
                    runtimeList, "compatibleRuntimes",
                    "Member must satisfy constraint: [Member must satisfy enum value set: [\(FunctionSettings.runtimes.joined(separator: ", "))]]"
                ))
        }
        if architectures.count > 2 {
            failures.append(
                (architectureList, "compatibleArchitectures", "Member must have length less than or equal to 2"))
        }
        if architectures.contains(where: { !FunctionSettings.architectures.contains($0) }) {
            failures.append(
                (
                    architectureList, "compatibleArchitectures",
                    "Member must satisfy constraint: [Member must satisfy enum value set: [\(FunctionSettings.architectures.joined(separator: ", "))]]"
                ))
        }
        guard !failures.isEmpty else { return }
        let details = failures.map { "Value '\($0.0)' at '\($0.1)' failed to satisfy constraint: \($0.2)" }
        let count = details.count == 1 ? "1 validation error detected" : "\(details.count) validation errors detected"
        throw RelctlError(.validation, "\(count): \(details.joined(separator: "; "))")
    }

    static func layerVersionNumber(_ text: String) throws(RelctlError) -> Int {
        guard let number = Int(text) else {
            throw .validation(value: text, field: "versionNumber", constraint: "Member must be a number")
        }
        guard number >= 1 else { throw RelctlError(.invalidParameterValue, "Layer Version Cannot be less than 1") }
        return number
    }

    /// A zip as the request gave it: uploaded directly (bounded by the 50 MB zipped limit) or read
    /// from S3 (bounded only by the unzipped limit, as on AWS).
    struct UploadedPackage: Sendable {
        var bytes: Data
        var fromS3: Bool
        var zippedLimit: Int64? { fromS3 ? nil : Limits.codeSizeZipped }
        /// Checks the zip while its bytes are staged in the blob store; runs on the store threads.
        func inspect(staging blobs: BlobStore) throws(RelctlError) -> InspectedPackage {
            try blobs.inspectAndStage(bytes, zippedLimit: zippedLimit)
        }
        /// Checks the zip only (DryRun).
        func validate() throws(RelctlError) -> PackageInspector.Validation {
            try PackageInspector.validate(bytes, zippedLimit: zippedLimit)
        }
    }

    /// The zip of `ZipFile` (base64 in the JSON) or of an S3 object; inspected on the store threads.
    func packageBytes(from object: JSONObject) async throws(RelctlError) -> UploadedPackage {
        if let zip = try object.data("ZipFile") { return UploadedPackage(bytes: zip, fromS3: false) }
        if try object.string("ImageUri") != nil {
            throw RelctlError(
                .invalidParameterValue, "Container images (ImageUri) are not supported by relctl; upload a zip.")
        }
        if let bucket = try object.string("S3Bucket") {
            guard let key = try object.string("S3Key") else {
                throw RelctlError(.invalidParameterValue, "S3Key is required with S3Bucket.")
            }
            return UploadedPackage(
                bytes: try await services.s3.fetch(
                    bucket: bucket, key: key, version: try object.string("S3ObjectVersion")),
                fromS3: true)
        }
        throw RelctlError(
            .invalidParameterValue, "Please provide a source for function code: ZipFile, or S3Bucket and S3Key.")
    }

    /// A layer version as GetLayerVersion and PublishLayerVersion answer it: with a presigned `Content.Location`.
    func withContentLocation(_ layer: LayerVersion, region: String) -> LayerVersion {
        var layer = layer
        layer.Content.Location = services.codeLocation(
            sha256Hex: Self.hex(fromBase64: layer.Content.CodeSha256), region: region)
        return layer
    }

    static func hex(fromBase64 text: String) -> String {
        CodeHash.hex(Data(base64Encoded: text) ?? Data())
    }
}

extension HTTPField.Name {
    static let amzExecutedVersion = HTTPField.Name("X-Amz-Executed-Version")!
    static let amzFunctionError = HTTPField.Name("X-Amz-Function-Error")!
    static let amzLogResult = HTTPField.Name("X-Amz-Log-Result")!
}
