import Foundation

/// The configuration of `$LATEST` that a user sets; published versions freeze a copy.
public struct FunctionSettings: Sendable, Equatable, Codable {
    public var runtime: String?
    public var handler: String?
    public var role: String
    public var description: String
    public var memorySize: Int
    public var timeout: Int
    public var environment: [String: String]?
    /// Layer version ARNs, in the order they are applied.
    public var layers: [String]
    public var architecture: String
    /// LoggingConfig as set (nil: Text to /aws/lambda/NAME), /tmp in MB (nil: 512), tracing (nil: PassThrough).
    public var loggingConfig: LoggingConfig?
    public var ephemeralStorageSize: Int?
    public var tracingMode: String?

    public init(
        runtime: String? = nil, handler: String? = nil, role: String, description: String = "",
        memorySize: Int = Limits.defaultMemorySize, timeout: Int = Limits.defaultTimeout,
        environment: [String: String]? = nil, layers: [String] = [], architecture: String = "x86_64",
        loggingConfig: LoggingConfig? = nil, ephemeralStorageSize: Int? = nil, tracingMode: String? = nil
    ) {
        self.loggingConfig = loggingConfig
        self.ephemeralStorageSize = ephemeralStorageSize
        self.tracingMode = tracingMode
        self.runtime = runtime
        self.handler = handler
        self.role = role
        self.description = description
        self.memorySize = memorySize
        self.timeout = timeout
        self.environment = environment
        self.layers = layers
        self.architecture = architecture
    }

    /// Checks every field against Lambda's rules, with Lambda's error types and messages.
    public func validate() throws(RelctlError) {
        if let runtime { try Self.validateRuntime(runtime) }
        if let handler {
            guard handler.count <= 128, !handler.isEmpty, !handler.contains(where: \.isWhitespace) else {
                throw .validation(
                    value: handler, field: "handler",
                    constraint:
                        "Member must satisfy regular expression pattern: [^\\s]+ and have length less than or equal to 128"
                )
            }
        }
        try Self.validateRole(role)
        guard description.count <= Limits.descriptionLength else {
            throw .validation(
                value: description, field: "description",
                constraint: "Member must have length less than or equal to 256")
        }
        guard Limits.memorySize.contains(memorySize) else {
            throw .validation(
                value: String(memorySize), field: "memorySize",
                constraint: memorySize < Limits.memorySize.lowerBound
                    ? "Member must have value greater than or equal to 128"
                    : "Member must have value less than or equal to 10240")
        }
        guard Limits.timeout.contains(timeout) else {
            throw .validation(
                value: String(timeout), field: "timeout",
                constraint: timeout < 1
                    ? "Member must have value greater than or equal to 1"
                    : "Member must have value less than or equal to 900")
        }
        if let environment { try Self.validateEnvironment(environment) }
        guard layers.count <= Limits.layersPerFunction else {
            throw RelctlError(.invalidParameterValue, "Cannot reference more than 5 layers.")
        }
        guard Self.architectures.contains(architecture) else {
            throw .validation(
                value: architecture, field: "architectures",
                constraint: "Member must satisfy enum value set: [\(Self.architectures.joined(separator: ", "))]")
        }
        if let loggingConfig { try Self.validateLoggingConfig(loggingConfig) }
        if let ephemeralStorageSize, !Limits.ephemeralStorageSize.contains(ephemeralStorageSize) {
            throw .validation(
                value: String(ephemeralStorageSize), field: "ephemeralStorage.size",
                constraint: ephemeralStorageSize < Limits.ephemeralStorageSize.lowerBound
                    ? "Member must have value greater than or equal to 512"
                    : "Member must have value less than or equal to 10240")
        }
        if let tracingMode, !Self.tracingModes.contains(tracingMode) {
            throw .validation(
                value: tracingMode, field: "tracingConfig.mode",
                constraint: "Member must satisfy enum value set: [\(Self.tracingModes.joined(separator: ", "))]")
        }
    }

    /// botocore's enums for LoggingConfig, and the LogGroup pattern `[\.\-_/#A-Za-z0-9]+` (1–512).
    public static let logFormats = ["JSON", "Text"]
    public static let applicationLogLevels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
    public static let systemLogLevels = ["DEBUG", "INFO", "WARN"]
    public static let tracingModes = ["Active", "PassThrough"]

    public static func validateLoggingConfig(_ config: LoggingConfig) throws(RelctlError) {
        func member(_ value: String?, of allowed: [String], field: String) throws(RelctlError) {
            guard let value, !allowed.contains(value) else { return }
            throw .validation(
                value: value, field: "loggingConfig.\(field)",
                constraint: "Member must satisfy enum value set: [\(allowed.joined(separator: ", "))]")
        }
        try member(config.LogFormat, of: logFormats, field: "logFormat")
        try member(config.ApplicationLogLevel, of: applicationLogLevels, field: "applicationLogLevel")
        try member(config.SystemLogLevel, of: systemLogLevels, field: "systemLogLevel")
        if let group = config.LogGroup {
            let allowed = Set(".-_/#")
            guard !group.isEmpty, group.count <= 512,
                group.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || allowed.contains($0)) })
            else {
                throw .validation(
                    value: group, field: "loggingConfig.logGroup",
                    constraint: "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
            }
        }
    }

    /// The LoggingConfig a function reports: AWS's defaults filled in (Text, /aws/lambda/NAME; INFO
    /// levels with JSON, none with Text).
    public static func effectiveLoggingConfig(_ config: LoggingConfig?, functionName: String) -> LoggingConfig {
        var result = config ?? LoggingConfig()
        result.LogFormat = result.LogFormat ?? "Text"
        result.LogGroup = result.LogGroup ?? "/aws/lambda/\(functionName)"
        if result.LogFormat == "JSON" {
            result.ApplicationLogLevel = result.ApplicationLogLevel ?? "INFO"
            result.SystemLogLevel = result.SystemLogLevel ?? "INFO"
        } else {
            result.ApplicationLogLevel = nil
            result.SystemLogLevel = nil
        }
        return result
    }

    /// `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+` — there is no IAM here, only the shape.
    public static func validateRole(_ role: String) throws(RelctlError) {
        let invalid = RelctlError.validation(
            value: role, field: "role",
            constraint:
                "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )
        let parts = role.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "iam", parts[3].isEmpty,
            parts[4].count == 12, parts[4].allSatisfy(\.isASCIIDigit), parts[5].hasPrefix("role")
        else { throw invalid }
        let path = parts[5].dropFirst(4)
        let allowed = Set("+=,.@-_/")
        guard !path.isEmpty, path != "/",
            path.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || allowed.contains($0)) })
        else { throw invalid }
    }

    /// Variables the Lambda service sets itself; AWS refuses to let a function override them.
    public static let reservedEnvironmentKeys: Set<String> = [
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    ]

    public static func validateEnvironment(_ variables: [String: String]) throws(RelctlError) {
        // A process environment is NUL-terminated strings: a NUL would cut the variable short.
        if let (key, _) = variables.sorted(by: { $0.key < $1.key }).first(where: {
            $0.key.contains("\0") || $0.value.contains("\0")
        }) {
            throw RelctlError(
                .invalidParameterValue,
                "Lambda was unable to configure your environment variables because the environment variables you have provided contain a NUL character (\\u0000) in \(key.contains("\0") ? "a key" : "the value of \(key)"); keys and values cannot contain NUL."
            )
        }
        for key in variables.keys.sorted() {
            guard key.count >= 2, let first = key.first, first.isASCII, first.isLetter,
                key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw .validation(
                    value: key, field: "environment.variables",
                    constraint:
                        "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
                )
            }
        }
        let reserved = variables.keys.filter(reservedEnvironmentKeys.contains).sorted()
        guard reserved.isEmpty else {
            throw RelctlError(
                .invalidParameterValue,
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: \(reserved.joined(separator: ", "))"
            )
        }
        let measured = environmentText(variables)
        guard measured.utf8.count <= Limits.environmentBytes else {
            throw RelctlError(
                .invalidParameterValue,
                "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: \(measured)"
            )
        }
    }

    /// The variables as compact JSON with sorted keys: what the 4 KB limit measures, and how they are stored.
    public static func environmentText(_ variables: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(variables)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// botocore's `Runtime` enum.
    /// An unknown runtime (the enum is case-sensitive) and a deprecated one are
    /// InvalidParameterValueException, in AWS's words.
    public static func validateRuntime(_ runtime: String) throws(RelctlError) {
        guard runtimes.contains(runtime) else {
            throw RelctlError(
                .invalidParameterValue,
                "Value \(runtime) at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [\(runtimes.joined(separator: ", "))] or be a valid ARN"
            )
        }
        guard !blockedRuntimes.contains(runtime) else {
            throw RelctlError(
                .invalidParameterValue,
                "The runtime parameter of \(runtime) is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
            )
        }
    }

    /// Runtimes past AWS's "block function update" date (lambda-runtimes.html, deprecated runtimes):
    /// no function may be created with them or updated to them. Only those whose date has long passed.
    public static let blockedRuntimes: Set<String> = [
        "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
        "python2.7", "python3.6", "python3.7", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1",
        "ruby2.5", "ruby2.7", "go1.x",
    ]

    /// AWS's `Architecture` enum, in its order.
    public static let architectures = ["x86_64", "arm64"]

    public static let runtimes: [String] = [
        "nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x",
        "java8", "java8.al2", "java11", "python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
        "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8", "nodejs4.3-edge",
        "go1.x", "ruby2.5", "ruby2.7", "provided", "provided.al2", "nodejs18.x", "python3.10", "java17", "ruby3.2",
        "ruby3.3", "ruby3.4", "python3.11", "nodejs20.x", "provided.al2023", "python3.12", "java21", "python3.13",
        "nodejs22.x", "nodejs24.x", "python3.14", "java25", "dotnet10", "ruby4.0",
    ]
}

/// An UpdateFunctionConfiguration request: only the fields that are set change.
public struct ConfigurationUpdate: Sendable, Equatable {
    public var runtime: String?
    public var handler: String?
    public var role: String?
    public var description: String?
    public var memorySize: Int?
    public var timeout: Int?
    /// `.some([:])` removes all variables.
    public var environment: [String: String]?
    public var layers: [String]?
    /// Merged into the current LoggingConfig: members not sent stay as they are.
    public var loggingConfig: LoggingConfig?
    public var ephemeralStorageSize: Int?
    public var tracingMode: String?

    public init(
        runtime: String? = nil, handler: String? = nil, role: String? = nil, description: String? = nil,
        memorySize: Int? = nil, timeout: Int? = nil, environment: [String: String]? = nil, layers: [String]? = nil
    ) {
        self.runtime = runtime
        self.handler = handler
        self.role = role
        self.description = description
        self.memorySize = memorySize
        self.timeout = timeout
        self.environment = environment
        self.layers = layers
    }

    public func applied(to settings: FunctionSettings) -> FunctionSettings {
        var result = settings
        if let runtime { result.runtime = runtime }
        if let handler { result.handler = handler }
        if let role { result.role = role }
        if let description { result.description = description }
        if let memorySize { result.memorySize = memorySize }
        if let timeout { result.timeout = timeout }
        if let environment { result.environment = environment.isEmpty ? nil : environment }
        if let layers { result.layers = layers }
        if let loggingConfig {
            var merged = result.loggingConfig ?? LoggingConfig()
            if let format = loggingConfig.LogFormat {
                merged.LogFormat = format
                // Levels belong to the JSON format; switching to Text drops them.
                if format == "Text" { merged.ApplicationLogLevel = nil; merged.SystemLogLevel = nil }
            }
            if let level = loggingConfig.ApplicationLogLevel { merged.ApplicationLogLevel = level }
            if let level = loggingConfig.SystemLogLevel { merged.SystemLogLevel = level }
            if let group = loggingConfig.LogGroup { merged.LogGroup = group }
            result.loggingConfig = merged
        }
        if let ephemeralStorageSize { result.ephemeralStorageSize = ephemeralStorageSize }
        if let tracingMode { result.tracingMode = tracingMode }
        return result
    }
}

extension FunctionSettings {
    /// A version's settings from its stored columns, as both engines keep them: environment variables and
    /// LoggingConfig as JSON text (nil: unset); layers are stored apart.
    public static func stored(
        runtime: String?, handler: String?, role: String, description: String, memorySize: Int, timeout: Int,
        environment: String?, architecture: String, loggingConfig: String?, ephemeralStorageSize: Int?,
        tracingMode: String?
    ) -> FunctionSettings {
        FunctionSettings(
            runtime: runtime, handler: handler, role: role, description: description, memorySize: memorySize,
            timeout: timeout, environment: storedEnvironment(environment), layers: [], architecture: architecture,
            loggingConfig: loggingConfig.flatMap { try? JSONDecoder().decode(LoggingConfig.self, from: Data($0.utf8)) },
            ephemeralStorageSize: ephemeralStorageSize, tracingMode: tracingMode)
    }

    /// Environment variables from their stored JSON text (nil: unset).
    public static func storedEnvironment(_ text: String?) -> [String: String]? {
        guard let text else { return nil }
        return try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}
