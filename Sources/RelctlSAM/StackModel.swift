import Foundation
import RelctlCore

/// A function the template declares (`AWS::Serverless::Function`, or `AWS::Lambda::Function` with
/// its hand-written `AWS::Lambda::Version` / `AWS::Lambda::Alias`).
public struct FunctionSpec: Sendable, Equatable, Codable {
    public var logicalId: String
    public var resourceType: String
    public var line: Int?
    public var name: String
    /// A folder or a .zip file, as written (relative to the template's folder).
    public var codeUri: String
    public var settings: FunctionSettings
    public var reservedConcurrency: Int?
    /// The alias SAM publishes to (AutoPublishAlias, or a hand-written AWS::Lambda::Alias's Name).
    public var alias: String?
    public var autoPublishCodeSha256: String?
    public var autoPublishAliasAllProperties: Bool
    public var deploymentPreference: DeploymentPreferenceSpec?
    /// Logical ids of hand-written AWS::Lambda::Version / AWS::Lambda::Alias resources for this function.
    public var versionLogicalId: String?
    public var aliasLogicalId: String?
}

/// `DeploymentPreference`: the policy name as written (a preset's short or full name, or a custom
/// config's name), hooks as function names, alarms as alarm names.
public struct DeploymentPreferenceSpec: Sendable, Equatable, Codable {
    public var type: String
    public var enabled: Bool
    public var alarms: [String]
    public var preTrafficHook: String?
    public var postTrafficHook: String?
    public var line: Int?

    /// The CodeDeploy config name SAM gives the deployment group: presets get `CodeDeployDefault.Lambda`.
    public var deploymentConfigName: String {
        Self.presets.contains(type) ? "CodeDeployDefault.Lambda\(type)" : type
    }

    static let presets = [
        "Canary10Percent30Minutes", "Canary10Percent5Minutes", "Canary10Percent10Minutes", "Canary10Percent15Minutes",
        "Linear10PercentEvery10Minutes", "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes",
        "Linear10PercentEvery3Minutes", "AllAtOnce",
    ]
}

public struct LayerSpec: Sendable, Equatable, Codable {
    public var logicalId: String
    public var resourceType: String
    public var line: Int?
    public var name: String
    public var contentUri: String
    public var description: String
    public var compatibleRuntimes: [String]
    public var compatibleArchitectures: [String]
    public var licenseInfo: String?
    /// RetentionPolicy Retain (SAM's default) / DeletionPolicy Retain: old versions stay when replaced or deleted.
    public var retain: Bool
}

public struct AlarmSpec: Sendable, Equatable, Codable {
    public var logicalId: String
    public var line: Int?
    public var definition: AlarmDefinition
}

/// `AWS::CodeDeploy::DeploymentConfig`: its name and CodeDeploy's trafficRoutingConfig as JSON.
public struct DeploymentConfigSpec: Sendable, Equatable, Codable {
    public var logicalId: String
    public var line: Int?
    public var name: String
    public var trafficRoutingConfig: String
}

/// A template resolved against parameters and the planned version numbers: what the registry should hold.
public struct StackModel: Sendable, Equatable {
    public var stackName: String
    public var parameters: [String: String]
    public var functions: [FunctionSpec] = []
    public var layers: [LayerSpec] = []
    public var alarms: [AlarmSpec] = []
    public var deploymentConfigs: [DeploymentConfigSpec] = []
    /// Accepted but ignored, each naming what and where (Role, Events, …).
    public var notices: [String] = []

    /// Registry names of the functions, layers, alarms and deployment configs, by logical id.
    public var names: [String: String] {
        Dictionary(
            functions.map { ($0.logicalId, $0.name) } + layers.map { ($0.logicalId, $0.name) }
                + alarms.map { ($0.logicalId, $0.definition.name) } + deploymentConfigs.map { ($0.logicalId, $0.name) },
            uniquingKeysWith: { first, _ in first })
    }

    public static let supportedTypes = [
        "AWS::Serverless::Function", "AWS::Serverless::LayerVersion", "AWS::Lambda::Function", "AWS::Lambda::Version",
        "AWS::Lambda::Alias", "AWS::Lambda::LayerVersion", "AWS::CloudWatch::Alarm",
        "AWS::CodeDeploy::DeploymentConfig",
    ]

    /// Loads and resolves a template. `plannedVersions` gives, by logical id of a function or layer,
    /// the version number this deploy will end with (what `Fn.Version.Version` and a layer's Ref
    /// resolve to); missing ones count as 1.
    public static func build(
        _ template: TemplateNode, overrides: [String: String] = [:], stackName: String, arn: ArnContext,
        plannedVersions: [String: Int] = [:]
    ) throws(TemplateError) -> StackModel {
        try TemplateShape.check(template)
        let builder = try ModelBuilder(
            template: template, overrides: overrides, stackName: stackName, arn: arn, plannedVersions: plannedVersions)
        return try builder.build()
    }
}

/// The template's outer shape: known sections, a Resources mapping, resource entries with Type,
/// and no cycle between resources.
enum TemplateShape {
    static let sections: Set<String> = [
        "AWSTemplateFormatVersion", "Transform", "Description", "Metadata", "Parameters", "Conditions",
        "Mappings", "Globals", "Resources", "Outputs", "Rules",
    ]

    static func check(_ template: TemplateNode) throws(TemplateError) {
        for entry in template.entries ?? [] where !sections.contains(entry.key) {
            throw TemplateError(
                .syntax,
                "unknown top-level section \(entry.key); a template has \(sections.sorted().joined(separator: ", ")).",
                line: entry.value.line)
        }
        if let transform = template["Transform"] {
            let names = transform.items?.compactMap(\.string) ?? [transform.string ?? ""]
            for name in names where name != "AWS::Serverless-2016-10-31" {
                throw TemplateError(
                    .syntax, "Transform \(name) is not supported; only AWS::Serverless-2016-10-31.",
                    line: transform.line)
            }
        }
        guard let resources = template["Resources"]?.entries, !resources.isEmpty else {
            throw TemplateError(
                .missingProperty, "the template has no Resources.", line: template["Resources"]?.line ?? template.line)
        }
        for resource in resources {
            guard resource.value.entries != nil else {
                throw TemplateError(
                    .syntax, "resource \(resource.key) must be a mapping with Type and Properties.",
                    line: resource.value.line)
            }
            guard let type = resource.value["Type"]?.string else {
                throw TemplateError(
                    .missingProperty, "resource \(resource.key) has no Type.", line: resource.value.line)
            }
            guard StackModel.supportedTypes.contains(type) else {
                throw TemplateError(
                    .unsupportedResourceType,
                    "resource \(resource.key): type \(type) is not supported; relctl deploys \(StackModel.supportedTypes.joined(separator: ", ")).",
                    line: resource.value["Type"]?.line ?? resource.value.line)
            }
            for key in resource.value.entries!.map(\.key)
            where ![
                "Type", "Properties", "Condition", "DependsOn", "Metadata", "DeletionPolicy", "UpdateReplacePolicy",
                "UpdatePolicy",
            ].contains(key) {
                throw TemplateError(
                    .unsupportedProperty, "resource \(resource.key): unknown attribute \(key).",
                    line: resource.value[key]?.line)
            }
        }
        try checkCycles(resources)
    }

    /// Every resource a node refers to: Ref, Fn::GetAtt, `${Name}` / `${Name.Attr}` in Fn::Sub.
    static func references(_ node: TemplateNode, among ids: Set<String>) -> [(String, Int?)] {
        var found: [(String, Int?)] = []
        func visit(_ node: TemplateNode) {
            if let (name, argument) = node.intrinsic {
                switch name {
                case "Ref":
                    if let target = argument.string {
                        let base = target.split(separator: ".").first.map(String.init) ?? target
                        if ids.contains(base) { found.append((base, node.line)) }
                    }
                case "Fn::GetAtt":
                    let target = argument.items?.first?.string ?? argument.string ?? ""
                    let base = target.split(separator: ".").first.map(String.init) ?? target
                    if ids.contains(base) { found.append((base, node.line)) }
                case "Fn::Sub":
                    let text = argument.string ?? argument.items?.first?.string ?? ""
                    var rest = Substring(text)
                    while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
                        let name = rest[start.upperBound..<end]
                        let base = String(name.split(separator: ".").first ?? name)
                        if ids.contains(base) { found.append((base, node.line)) }
                        rest = rest[rest.index(after: end)...]
                    }
                default: break
                }
            }
            for item in node.items ?? [] { visit(item) }
            for entry in node.entries ?? [] { visit(entry.value) }
        }
        visit(node)
        return found
    }

    static func checkCycles(_ resources: [TemplateNode.Entry]) throws(TemplateError) {
        let ids = Set(resources.map(\.key))
        var edges: [String: [(String, Int?)]] = [:]
        for resource in resources {
            // A DeploymentPreference's hooks and alarms become CodeDeploy's deployment group, not part of
            // the function: an alarm on the function and a hook that reads its version are no cycle.
            var scanned = resource.value
            if var properties = scanned["Properties"]?.entries, scanned["Type"]?.string == "AWS::Serverless::Function" {
                properties.removeAll { $0.key == "DeploymentPreference" }
                scanned = TemplateNode(
                    .map([TemplateNode.Entry(key: "Properties", value: TemplateNode(.map(properties)))]))
            }
            var targets = references(scanned, among: ids)
            let dependsOn = resource.value["DependsOn"]
            let dependencies = dependsOn?.items?.compactMap(\.string) ?? dependsOn?.string.map({ [$0] }) ?? []
            for name in dependencies {
                guard ids.contains(name) else {
                    throw TemplateError(
                        .unknownReference,
                        "resource \(resource.key): DependsOn \(name), which is not a resource of this template.",
                        line: dependsOn?.line)
                }
                targets.append((name, dependsOn?.line))
            }
            edges[resource.key] = targets
        }
        var done = Set<String>()
        var path: [String] = []
        func visit(_ id: String, line: Int?) throws(TemplateError) {
            if let start = path.firstIndex(of: id) {
                throw TemplateError(
                    .cyclicReference,
                    "circular dependency between resources: \((path[start...] + [id]).joined(separator: " → ")).",
                    line: line)
            }
            if done.contains(id) { return }
            path.append(id)
            for (target, line) in edges[id] ?? [] { try visit(target, line: line) }
            path.removeLast()
            done.insert(id)
        }
        for resource in resources { try visit(resource.key, line: resource.value.line) }
    }
}
