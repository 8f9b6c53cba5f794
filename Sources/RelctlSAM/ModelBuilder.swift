import Foundation
import RelctlCore

/// Resolves each resource's properties and reads them into the typed specs, refusing anything it
/// does not know with the resource, property and line.
final class ModelBuilder {
    let stackName: String
    let arn: ArnContext
    let plannedVersions: [String: Int]
    let resources: [TemplateNode.Entry]
    let globals: TemplateNode?
    /// Never mutated in place after init (copies resolve), so a reference met while resolving can
    /// resolve another resource's name through it.
    private(set) var base: TemplateResolver
    private var names: [String: String] = [:]
    private var notices: [String] = []

    init(
        template: TemplateNode, overrides: [String: String], stackName: String, arn: ArnContext,
        plannedVersions: [String: Int]
    ) throws(TemplateError) {
        self.stackName = stackName
        self.arn = arn
        self.plannedVersions = plannedVersions
        self.resources = template["Resources"]?.entries ?? []
        self.globals = template["Globals"]
        base = try TemplateResolver(template: template, overrides: overrides, stackName: stackName, arn: arn)
        for entry in globals?.entries ?? [] where !["Function", "LayerVersion"].contains(entry.key) {
            throw TemplateError(
                .unsupportedProperty,
                "Globals.\(entry.key) is not supported; relctl reads Globals.Function and Globals.LayerVersion.",
                line: entry.value.line)
        }
        base.resources = { [unowned self] id, attribute, line throws(TemplateError) in
            try self.attribute(id, attribute, line: line)
        }
    }

    func resource(_ id: String) -> TemplateNode? { resources.first { $0.key == id }?.value }
    func type(_ id: String) -> String { resource(id)?["Type"]?.string ?? "" }

    func included(_ node: TemplateNode) throws(TemplateError) -> Bool {
        guard let name = node["Condition"] else { return true }
        guard let text = name.string else {
            throw TemplateError(.invalidProperty, "a resource's Condition is a condition's name.", line: name.line)
        }
        var resolver = base
        return try resolver.condition(text, line: name.line)
    }

    /// Properties with Globals merged in (SAM merges before intrinsics: maps merge, lists append, local scalars win).
    func rawProperties(_ id: String) -> TemplateNode {
        let node = resource(id)!
        let local = node["Properties"] ?? TemplateNode(.map([]), line: node.line)
        let section =
            type(id) == "AWS::Serverless::Function"
            ? "Function" : type(id) == "AWS::Serverless::LayerVersion" ? "LayerVersion" : nil
        guard let section, let global = globals?[section] else { return local }
        return Self.merge(global, local)
    }

    static func merge(_ global: TemplateNode, _ local: TemplateNode) -> TemplateNode {
        switch (global.kind, local.kind) {
        case (.map(let globals), .map(let locals)) where global.intrinsic == nil && local.intrinsic == nil:
            var result = globals
            for entry in locals {
                if let index = result.firstIndex(where: { $0.key == entry.key }) {
                    result[index] = TemplateNode.Entry(key: entry.key, value: merge(result[index].value, entry.value))
                } else {
                    result.append(entry)
                }
            }
            return TemplateNode(.map(result), line: local.line)
        case (.list(let globals), .list(let locals)):
            return TemplateNode(.list(globals + locals), line: local.line)
        default:
            return local
        }
    }

    // MARK: - Names and attributes

    static let nameProperty = [
        "AWS::Serverless::Function": "FunctionName", "AWS::Lambda::Function": "FunctionName",
        "AWS::Serverless::LayerVersion": "LayerName",
        "AWS::Lambda::LayerVersion": "LayerName", "AWS::CloudWatch::Alarm": "AlarmName",
        "AWS::CodeDeploy::DeploymentConfig": "DeploymentConfigName",
    ]
    static let nameLimit = ["FunctionName": 64, "LayerName": 140, "AlarmName": 255, "DeploymentConfigName": 100]

    /// The registry name of a resource: its name property, or `STACK-LogicalId` (cut to the limit).
    func physicalName(_ id: String, line: Int?) throws(TemplateError) -> String {
        if let known = names[id] { return known }
        guard let property = Self.nameProperty[type(id)] else {
            throw TemplateError(
                .invalidIntrinsic, "\(id) (\(type(id))) has no name of its own to refer to.", line: line)
        }
        var name: String
        if let node = rawProperties(id)[property] {
            var resolver = base
            guard let text = try resolver.resolve(node)?.string else {
                throw TemplateError(
                    .invalidProperty, "resource \(id), property \(property): a string is required.", line: node.line)
            }
            name = text
        } else {
            let suffix = "-\(id)"
            name = String(stackName.prefix(max(1, Self.nameLimit[property]! - suffix.count))) + suffix
            name = String(name.prefix(Self.nameLimit[property]!))
        }
        names[id] = name
        return name
    }

    func planned(_ id: String) -> Int { plannedVersions[id] ?? 1 }

    /// Ref (attribute nil) and Fn::GetAtt for each supported type; `Fn.Alias` / `Fn.Version` are SAM's generated resources.
    func attribute(_ id: String, _ attribute: String?, line: Int?) throws(TemplateError) -> TemplateNode {
        guard let node = resource(id) else { throw TemplateError(.unknownReference, "no resource \(id).", line: line) }
        guard try included(node) else {
            throw TemplateError(
                .unknownReference, "\(id) is not created (its Condition is false), so it cannot be referenced.",
                line: line)
        }
        func text(_ value: String) -> TemplateNode { TemplateNode(.string(value), line: line) }
        let kind = type(id)
        switch (kind, attribute) {
        case ("AWS::Serverless::Function", nil), ("AWS::Lambda::Function", nil), ("AWS::CloudWatch::Alarm", nil),
            ("AWS::CodeDeploy::DeploymentConfig", nil):
            return text(try physicalName(id, line: line))
        case ("AWS::Serverless::Function", "Arn"), ("AWS::Lambda::Function", "Arn"):
            return text(arn.functionArn(try physicalName(id, line: line)))
        case ("AWS::Serverless::Function", "Version"), ("AWS::Serverless::Function", "Version.Ref"):
            return text(arn.functionArn(try physicalName(id, line: line), qualifier: String(planned(id))))
        case ("AWS::Serverless::Function", "Version.Version"):
            return TemplateNode(.number(String(planned(id))), line: line)
        case ("AWS::Serverless::Function", "Alias"), ("AWS::Serverless::Function", "Alias.Ref"),
            ("AWS::Serverless::Function", "Alias.Name"):
            guard let aliasNode = rawProperties(id)["AutoPublishAlias"] else {
                throw TemplateError(
                    .unknownReference, "\(id).Alias exists only when \(id) has AutoPublishAlias.", line: line)
            }
            var resolver = base
            guard let alias = try resolver.resolve(aliasNode)?.string else {
                throw TemplateError(
                    .invalidProperty, "resource \(id), property AutoPublishAlias: a string is required.",
                    line: aliasNode.line)
            }
            return attribute == "Alias.Name"
                ? text(alias) : text(arn.functionArn(try physicalName(id, line: line), qualifier: alias))
        case ("AWS::Serverless::LayerVersion", nil), ("AWS::Lambda::LayerVersion", nil),
            ("AWS::Lambda::LayerVersion", "LayerVersionArn"):
            return text(arn.layerVersionArn(try physicalName(id, line: line), version: planned(id)))
        case ("AWS::CloudWatch::Alarm", "Arn"):
            return text("arn:aws:cloudwatch:\(arn.region):\(arn.account):alarm:\(try physicalName(id, line: line))")
        case ("AWS::Lambda::Version", nil), ("AWS::Lambda::Version", "Version"):
            let function = try versionTarget(id, line: line)
            if attribute == nil {
                return text(
                    arn.functionArn(try physicalName(function, line: line), qualifier: String(planned(function))))
            }
            return TemplateNode(.number(String(planned(function))), line: line)
        case ("AWS::Lambda::Alias", nil):
            let properties = rawProperties(id)
            var resolver = base
            guard let functionNode = properties["FunctionName"],
                let function = try resolver.resolve(functionNode)?.string,
                let aliasNode = properties["Name"], let alias = try resolver.resolve(aliasNode)?.string
            else {
                throw TemplateError(
                    .missingProperty, "resource \(id): FunctionName and Name are required.", line: node.line)
            }
            return text(arn.functionArn(function, qualifier: alias))
        default:
            throw TemplateError(
                .invalidIntrinsic, "\(id) (\(kind)) has no attribute \(attribute ?? "Ref") that relctl can resolve.",
                line: line)
        }
    }

    /// The logical id of the function an AWS::Lambda::Version publishes (its FunctionName must Ref one in this template).
    func versionTarget(_ id: String, line: Int?) throws(TemplateError) -> String {
        let properties = rawProperties(id)
        guard let function = properties["FunctionName"] else {
            throw TemplateError(
                .missingProperty, "resource \(id), property FunctionName is required.", line: resource(id)?.line)
        }
        if let (name, argument) = function.intrinsic, name == "Ref" || name == "Fn::GetAtt",
            let target = argument.string ?? argument.items?.first?.string,
            ["AWS::Lambda::Function", "AWS::Serverless::Function"].contains(type(target))
        {
            return target
        }
        throw TemplateError(
            .invalidProperty,
            "resource \(id), property FunctionName: relctl needs a !Ref to a function of this template.",
            line: function.line)
    }

    // MARK: - Building

    func build() throws(TemplateError) -> StackModel {
        var model = StackModel(stackName: stackName, parameters: base.parameters.mapValues(\.text))
        var versions: [(String, Properties)] = []
        var aliases: [(String, Properties)] = []
        for entry in resources {
            guard try included(entry.value) else {
                notices.append(
                    "\(entry.key): not created (Condition \(entry.value["Condition"]?.string ?? "") is false).")
                continue
            }
            let properties = try Properties(
                resource: entry.key, raw: rawProperties(entry.key), line: entry.value.line, resolver: base)
            switch type(entry.key) {
            case "AWS::Serverless::Function": model.functions.append(try serverlessFunction(entry.key, properties))
            case "AWS::Lambda::Function": model.functions.append(try lambdaFunction(entry.key, properties))
            case "AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion":
                model.layers.append(try layer(entry.key, properties, node: entry.value))
            case "AWS::CloudWatch::Alarm": model.alarms.append(try alarm(entry.key, properties))
            case "AWS::CodeDeploy::DeploymentConfig":
                model.deploymentConfigs.append(try deploymentConfig(entry.key, properties))
            case "AWS::Lambda::Version": versions.append((entry.key, properties))
            default: aliases.append((entry.key, properties))
            }
        }
        for (id, properties) in versions {
            try properties.check(
                allowed: ["FunctionName", "Description", "CodeSha256"],
                ignored: ["ProvisionedConcurrencyConfig", "RuntimePolicy"], notices: &notices)
            let target = try versionTarget(id, line: properties.line)
            guard let index = model.functions.firstIndex(where: { $0.logicalId == target }) else {
                throw TemplateError(
                    .unknownReference, "resource \(id): function \(target) is not created.", line: properties.line)
            }
            model.functions[index].versionLogicalId = id
            if let sha = try properties.string("CodeSha256") { model.functions[index].autoPublishCodeSha256 = sha }
        }
        for (id, properties) in aliases {
            try properties.check(
                allowed: ["FunctionName", "FunctionVersion", "Name", "Description"],
                ignored: ["ProvisionedConcurrencyConfig"], notices: &notices)
            let functionName = try properties.requiredString("FunctionName")
            guard let index = model.functions.firstIndex(where: { $0.name == functionName }) else {
                throw properties.error(
                    "FunctionName", .unknownReference, "\(functionName) is not a function of this template.")
            }
            guard model.functions[index].versionLogicalId != nil else {
                throw properties.error(
                    "FunctionVersion", .invalidProperty,
                    "relctl needs an AWS::Lambda::Version of \(model.functions[index].logicalId) in the template for its alias."
                )
            }
            _ = try properties.requiredString("FunctionVersion")
            model.functions[index].alias = try properties.requiredString("Name")
            model.functions[index].aliasLogicalId = id
        }
        for function in model.functions {
            guard let preference = function.deploymentPreference, preference.enabled else { continue }
            if function.alias == nil {
                throw TemplateError(
                    .missingProperty, "resource \(function.logicalId): DeploymentPreference requires AutoPublishAlias.",
                    line: preference.line)
            }
            for hook in [preference.preTrafficHook, preference.postTrafficHook].compactMap({ $0 })
            where hook == function.name {
                throw TemplateError(
                    .invalidProperty, "resource \(function.logicalId): a function cannot be its own traffic hook.",
                    line: preference.line)
            }
        }
        model.notices = notices
        return model
    }

    static let functionProperties: Set<String> = [
        "Handler", "Runtime", "CodeUri", "MemorySize", "Timeout", "Environment", "Layers", "Description",
        "Architectures",
        "ReservedConcurrentExecutions", "AutoPublishAlias", "AutoPublishCodeSha256", "AutoPublishAliasAllProperties",
        "DeploymentPreference", "FunctionName",
    ]
    static let ignoredFunctionProperties: Set<String> = [
        "Role", "Events", "Policies", "Tags", "Tracing", "PermissionsBoundary", "VpcConfig", "LoggingConfig",
        "DeadLetterQueue",
        "EventInvokeConfig", "KmsKeyArn", "AssumeRolePolicyDocument", "EphemeralStorage", "FunctionUrlConfig",
        "RolePath",
        "SnapStart", "RuntimeManagementConfig", "ProvisionedConcurrencyConfig", "PackageType",
    ]

    func settings(_ properties: Properties) throws(TemplateError) -> FunctionSettings {
        var settings = FunctionSettings(role: "arn:aws:iam::\(arn.account):role/relctl-function")
        settings.runtime = try properties.string("Runtime")
        settings.handler = try properties.string("Handler")
        settings.description = try properties.string("Description") ?? ""
        if let memory = try properties.int("MemorySize") { settings.memorySize = memory }
        if let timeout = try properties.int("Timeout") { settings.timeout = timeout }
        if let environment = properties["Environment"] {
            guard let entries = environment.entries, entries.allSatisfy({ $0.key == "Variables" }) else {
                throw properties.error("Environment", .invalidProperty, "a mapping with Variables is required.")
            }
            var variables: [String: String] = [:]
            for variable in environment["Variables"]?.entries ?? [] {
                guard let value = variable.value.string else {
                    throw properties.error(
                        "Environment", .invalidProperty, "variable \(variable.key) must be a string.")
                }
                variables[variable.key] = value
            }
            settings.environment = variables.isEmpty ? nil : variables
        }
        settings.layers = try properties.strings("Layers") ?? []
        if let architectures = try properties.strings("Architectures") {
            guard architectures.count == 1, let first = architectures.first else {
                throw properties.error(
                    "Architectures", .invalidProperty, "one architecture is required: x86_64 or arm64.")
            }
            settings.architecture = first
        }
        do { try settings.validate() } catch {
            throw properties.error(nil, .invalidProperty, error.message)
        }
        return settings
    }

    func serverlessFunction(_ id: String, _ properties: Properties) throws(TemplateError) -> FunctionSpec {
        try properties.check(
            allowed: Self.functionProperties, ignored: Self.ignoredFunctionProperties, notices: &notices)
        if properties.raw["InlineCode"] != nil {
            throw properties.error(
                "InlineCode", .unsupportedProperty, "not supported; put the code in a folder and give it as CodeUri.")
        }
        guard let codeUri = properties["CodeUri"] else {
            throw properties.error(
                nil, .missingProperty, "CodeUri is required (a folder or .zip file, relative to the template).")
        }
        guard let path = codeUri.string ?? Self.s3Location(codeUri, bucket: "Bucket", key: "Key") else {
            throw properties.error(
                "CodeUri", .invalidProperty, "a folder or .zip path, an s3:// location or {Bucket, Key}.")
        }
        var preference: DeploymentPreferenceSpec?
        if let node = properties["DeploymentPreference"] {
            preference = try deploymentPreference(id, node, properties: properties)
        }
        return FunctionSpec(
            logicalId: id, resourceType: type(id), line: properties.line,
            name: try physicalName(id, line: properties.line), codeUri: path,
            settings: try settings(properties), reservedConcurrency: try properties.int("ReservedConcurrentExecutions"),
            alias: try properties.string("AutoPublishAlias"),
            autoPublishCodeSha256: try properties.string("AutoPublishCodeSha256"),
            autoPublishAliasAllProperties: try properties.bool("AutoPublishAliasAllProperties") ?? false,
            deploymentPreference: preference)
    }

    func deploymentPreference(
        _ id: String, _ node: TemplateNode, properties: Properties
    ) throws(TemplateError) -> DeploymentPreferenceSpec {
        let inner = try Properties(resource: "\(id) DeploymentPreference", resolved: node)
        try inner.check(
            allowed: ["Type", "Enabled", "Alarms", "Hooks", "PassthroughCondition"],
            ignored: ["Role", "TriggerConfigurations"], notices: &notices)
        let enabled = try inner.bool("Enabled") ?? true
        // As SAM: a disabled preference is not read further (no Type needed); the alias moves at once.
        guard enabled else { return DeploymentPreferenceSpec(type: "", enabled: false, alarms: [], line: node.line) }
        var pre: String?
        var post: String?
        if let hooks = inner["Hooks"] {
            let hookProperties = try Properties(resource: "\(id) DeploymentPreference.Hooks", resolved: hooks)
            try hookProperties.check(allowed: ["PreTraffic", "PostTraffic"], ignored: [], notices: &notices)
            pre = try hookProperties.string("PreTraffic")
            post = try hookProperties.string("PostTraffic")
        }
        _ = try inner.bool("PassthroughCondition")
        guard let type = try inner.string("Type") else {
            throw inner.error(
                nil, .missingProperty,
                "Type is required: a preset (Canary10Percent5Minutes, Linear10PercentEvery1Minute, AllAtOnce, …) or a deployment config's name."
            )
        }
        return DeploymentPreferenceSpec(
            type: type, enabled: enabled, alarms: try inner.strings("Alarms") ?? [], preTrafficHook: pre,
            postTrafficHook: post, line: node.line)
    }

    func lambdaFunction(_ id: String, _ properties: Properties) throws(TemplateError) -> FunctionSpec {
        try properties.check(
            allowed: [
                "FunctionName", "Code", "Handler", "Runtime", "MemorySize", "Timeout", "Environment", "Layers",
                "Description", "Architectures", "ReservedConcurrentExecutions",
            ],
            ignored: [
                "Role", "Tags", "TracingConfig", "VpcConfig", "KmsKeyArn", "DeadLetterConfig", "LoggingConfig",
                "EphemeralStorage", "SnapStart", "RuntimeManagementConfig", "PackageType",
            ],
            notices: &notices)
        guard let code = properties["Code"] else {
            throw properties.error(nil, .missingProperty, "Code is required (a local folder or .zip path).")
        }
        guard let path = code.string ?? Self.s3Location(code, bucket: "S3Bucket", key: "S3Key") else {
            throw properties.error(
                "Code", .invalidProperty,
                "a folder or .zip path, or {S3Bucket, S3Key} (as `sam package` writes it); not ZipFile.")
        }
        return FunctionSpec(
            logicalId: id, resourceType: type(id), line: properties.line,
            name: try physicalName(id, line: properties.line), codeUri: path,
            settings: try settings(properties), reservedConcurrency: try properties.int("ReservedConcurrentExecutions"),
            alias: nil,
            autoPublishCodeSha256: nil, autoPublishAliasAllProperties: false, deploymentPreference: nil)
    }

    func layer(_ id: String, _ properties: Properties, node: TemplateNode) throws(TemplateError) -> LayerSpec {
        let serverless = type(id) == "AWS::Serverless::LayerVersion"
        let contentKey = serverless ? "ContentUri" : "Content"
        let allowed: Set<String> = [
            "LayerName", "Description", contentKey, "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo",
        ]
        try properties.check(
            allowed: allowed.union(serverless ? ["RetentionPolicy"] : []), ignored: [], notices: &notices)
        guard let content = properties[contentKey] else {
            throw properties.error(nil, .missingProperty, "\(contentKey) is required (a folder or .zip path).")
        }
        guard
            let path = content.string
                ?? Self.s3Location(
                    content, bucket: serverless ? "Bucket" : "S3Bucket", key: serverless ? "Key" : "S3Key")
        else {
            throw properties.error(
                contentKey, .invalidProperty,
                "a folder or .zip path, an s3:// location or {\(serverless ? "Bucket, Key" : "S3Bucket, S3Key")}.")
        }
        var retain = node["DeletionPolicy"]?.string == "Retain"
        if serverless {
            let policy = try properties.string("RetentionPolicy") ?? "Retain"
            guard ["retain", "delete"].contains(policy.lowercased()) else {
                throw properties.error("RetentionPolicy", .invalidProperty, "Retain or Delete, got \(policy).")
            }
            retain = policy.lowercased() == "retain"
        }
        return LayerSpec(
            logicalId: id, resourceType: type(id), line: properties.line,
            name: try physicalName(id, line: properties.line), contentUri: path,
            description: try properties.string("Description") ?? "",
            compatibleRuntimes: try properties.strings("CompatibleRuntimes") ?? [],
            compatibleArchitectures: try properties.strings("CompatibleArchitectures") ?? [],
            licenseInfo: try properties.string("LicenseInfo"),
            retain: retain)
    }

    /// `{Bucket, Key}` / `{S3Bucket, S3Key}` (what `sam package` writes for some resource types) as `s3://BUCKET/KEY`;
    /// whoever loads the code decides whether it can read S3 (`relctl serve` can, from its own S3 subset).
    static func s3Location(_ node: TemplateNode, bucket: String, key: String) -> String? {
        guard let entries = node.entries, let name = node[bucket]?.string, let object = node[key]?.string,
            entries.allSatisfy({ [bucket, key, "Version", "S3ObjectVersion"].contains($0.key) })
        else { return nil }
        return "s3://\(name)/\(object)"
    }

    static let alarmMetrics = ["Errors", "Throttles", "Duration", "Invocations", "ConcurrentExecutions"]

    func alarm(_ id: String, _ properties: Properties) throws(TemplateError) -> AlarmSpec {
        try properties.check(
            allowed: [
                "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic",
                "ExtendedStatistic", "Period",
                "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
            ],
            ignored: [
                "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions", "Unit",
                "EvaluateLowSampleCountPercentile",
            ],
            notices: &notices)
        let namespace = try properties.requiredString("Namespace")
        guard namespace == "AWS/Lambda" else {
            throw properties.error("Namespace", .invalidProperty, "only AWS/Lambda is supported, got \(namespace).")
        }
        let metric = try properties.requiredString("MetricName")
        guard Self.alarmMetrics.contains(metric) else {
            throw properties.error(
                "MetricName", .invalidProperty,
                "\(metric) is not supported; use \(Self.alarmMetrics.joined(separator: ", ")).")
        }
        var dimensions: [String: String] = [:]
        for item in properties["Dimensions"]?.items ?? [] {
            guard let name = item["Name"]?.string, let value = item["Value"]?.string else {
                throw properties.error("Dimensions", .invalidProperty, "each dimension has Name and Value.")
            }
            guard ["FunctionName", "Resource", "ExecutedVersion"].contains(name) else {
                throw properties.error(
                    "Dimensions", .invalidProperty,
                    "dimension \(name) is not supported; use FunctionName, Resource, ExecutedVersion.")
            }
            dimensions[name] = value
        }
        guard
            let function = dimensions["FunctionName"]
                ?? dimensions["Resource"].map({ String($0.split(separator: ":").first ?? "") })
        else {
            throw properties.error("Dimensions", .missingProperty, "a FunctionName or Resource dimension is required.")
        }
        let statistic: Statistic
        switch (try properties.string("Statistic"), try properties.string("ExtendedStatistic")) {
        case (let text?, nil), (nil, let text?):
            do { statistic = try Statistic(parsing: text) } catch {
                throw properties.error("Statistic", .invalidProperty, error.message)
            }
        default:
            throw properties.error(
                "Statistic", .invalidProperty, "exactly one of Statistic and ExtendedStatistic is required.")
        }
        let comparisonText = try properties.requiredString("ComparisonOperator")
        guard let comparison = ComparisonOperator(rawValue: comparisonText) else {
            throw properties.error(
                "ComparisonOperator", .invalidProperty,
                "\(comparisonText) is not one of \(ComparisonOperator.allCases.map(\.rawValue).joined(separator: ", "))."
            )
        }
        let missingText = try properties.string("TreatMissingData") ?? "missing"
        guard let missing = TreatMissingData(rawValue: missingText) else {
            throw properties.error(
                "TreatMissingData", .invalidProperty, "missing, notBreaching, breaching or ignore, got \(missingText).")
        }
        guard let period = try properties.int("Period"),
            let evaluationPeriods = try properties.int("EvaluationPeriods"),
            let threshold = try properties.double("Threshold")
        else {
            throw properties.error(nil, .missingProperty, "Period, EvaluationPeriods and Threshold are required.")
        }
        let definition = AlarmDefinition(
            name: try physicalName(id, line: properties.line), functionName: function, resource: dimensions["Resource"],
            executedVersion: dimensions["ExecutedVersion"], metric: metric, statistic: statistic, period: period,
            evaluationPeriods: evaluationPeriods, datapointsToAlarm: try properties.int("DatapointsToAlarm"),
            threshold: threshold,
            comparisonOperator: comparison, treatMissingData: missing)
        do { try definition.validate() } catch { throw properties.error(nil, .invalidProperty, error.message) }
        return AlarmSpec(logicalId: id, line: properties.line, definition: definition)
    }

    func deploymentConfig(_ id: String, _ properties: Properties) throws(TemplateError) -> DeploymentConfigSpec {
        try properties.check(
            allowed: ["DeploymentConfigName", "ComputePlatform", "TrafficRoutingConfig"], ignored: [], notices: &notices
        )
        let platform = try properties.string("ComputePlatform") ?? "Server"
        guard platform == "Lambda" else {
            throw properties.error(
                "ComputePlatform", .invalidProperty,
                "relctl deploys Lambda configs only (ComputePlatform: Lambda), got \(platform).")
        }
        guard let routing = properties["TrafficRoutingConfig"] else {
            throw properties.error(
                nil, .missingProperty, "TrafficRoutingConfig is required for ComputePlatform Lambda.")
        }
        // CloudFormation's PascalCase fields become CodeDeploy API's camelCase, as CreateDeploymentConfig receives them.
        func camel(_ node: TemplateNode) -> Any {
            if let entries = node.entries {
                var result: [String: Any] = [:]
                for entry in entries {
                    result[entry.key.prefix(1).lowercased() + entry.key.dropFirst()] = camel(entry.value) as Any
                }
                return result
            }
            if case .number(let text) = node.kind {
                return Int(text).map { $0 as Any } ?? Double(text).map { $0 as Any } ?? text
            }
            return node.string ?? ""
        }
        let json =
            (try? JSONSerialization.data(withJSONObject: camel(routing), options: [.sortedKeys])).map {
                String(decoding: $0, as: UTF8.self)
            } ?? "{}"
        return DeploymentConfigSpec(
            logicalId: id, line: properties.line, name: try physicalName(id, line: properties.line),
            trafficRoutingConfig: json)
    }
}

/// One resource's properties, resolved, read with errors that name the resource, property and line.
struct Properties {
    let resource: String
    let raw: TemplateNode
    let resolved: TemplateNode
    let line: Int?

    /// Resolves `raw` except ignored properties (they may refer to resources relctl does not create).
    init(resource: String, raw: TemplateNode, line: Int?, resolver: TemplateResolver) throws(TemplateError) {
        self.resource = resource
        self.raw = raw
        self.line = line
        guard let entries = raw.entries else {
            throw TemplateError(
                .invalidProperty, "resource \(resource): Properties must be a mapping.", line: raw.line ?? line)
        }
        let kept = entries.filter {
            !ModelBuilder.ignoredFunctionProperties.contains($0.key) || $0.key == "Description"
        }
        var copy = resolver
        resolved = try copy.resolve(TemplateNode(.map(kept), line: raw.line)) ?? TemplateNode(.map([]), line: raw.line)
    }

    init(resource: String, resolved: TemplateNode) throws(TemplateError) {
        guard resolved.entries != nil else {
            throw TemplateError(.invalidProperty, "\(resource) must be a mapping.", line: resolved.line)
        }
        self.resource = resource
        self.raw = resolved
        self.resolved = resolved
        self.line = resolved.line
    }

    subscript(key: String) -> TemplateNode? { resolved[key] }

    func error(_ property: String?, _ code: TemplateError.Code, _ message: String) -> TemplateError {
        let place = property.map { "resource \(resource), property \($0)" } ?? "resource \(resource)"
        return TemplateError(
            code, "\(place): \(message)", line: property.flatMap { raw[$0]?.line ?? resolved[$0]?.line } ?? line)
    }

    func check(allowed: Set<String>, ignored: Set<String>, notices: inout [String]) throws(TemplateError) {
        for entry in raw.entries ?? [] {
            if allowed.contains(entry.key) { continue }
            if ignored.contains(entry.key) {
                notices.append("\(resource): \(entry.key) is accepted and ignored (relctl has no equivalent).")
                continue
            }
            throw TemplateError(
                .unsupportedProperty,
                "resource \(resource), property \(entry.key) is not supported; supported: \(allowed.sorted().joined(separator: ", "))\(ignored.isEmpty ? "" : "; ignored: \(ignored.sorted().joined(separator: ", "))").",
                line: entry.value.line)
        }
    }

    func string(_ key: String) throws(TemplateError) -> String? {
        guard let node = resolved[key] else { return nil }
        guard let text = node.string else {
            throw error(key, .invalidProperty, "a string is required, got a \(TemplateResolver.kindName(node)).")
        }
        return text
    }

    func requiredString(_ key: String) throws(TemplateError) -> String {
        guard let text = try string(key) else { throw error(key, .missingProperty, "is required.") }
        return text
    }

    func int(_ key: String) throws(TemplateError) -> Int? {
        guard let node = resolved[key] else { return nil }
        guard let text = node.string, let value = Int(text) else {
            throw error(
                key, .invalidProperty,
                "a whole number is required, got \(node.string ?? TemplateResolver.kindName(node)).")
        }
        return value
    }

    func double(_ key: String) throws(TemplateError) -> Double? {
        guard let node = resolved[key] else { return nil }
        guard let text = node.string, let value = Double(text) else {
            throw error(
                key, .invalidProperty, "a number is required, got \(node.string ?? TemplateResolver.kindName(node)).")
        }
        return value
    }

    func bool(_ key: String) throws(TemplateError) -> Bool? {
        guard let node = resolved[key] else { return nil }
        switch node.string?.lowercased() {
        case "true": return true
        case "false": return false
        default: throw error(key, .invalidProperty, "true or false is required.")
        }
    }

    func strings(_ key: String) throws(TemplateError) -> [String]? {
        guard let node = resolved[key] else { return nil }
        guard let items = node.items else {
            throw error(key, .invalidProperty, "a list is required, got a \(TemplateResolver.kindName(node)).")
        }
        var result: [String] = []
        for item in items {
            guard let text = item.string else { throw error(key, .invalidProperty, "a list of strings is required.") }
            result.append(text)
        }
        return result
    }
}
