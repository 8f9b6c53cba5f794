import Foundation
import RelctlCore

/// What a stack remembers of each resource after a deploy: the planner compares the next template
/// against it. Stored as JSON in the stack's record.
public struct ResourceState: Sendable, Codable, Equatable {
    /// The resource's resolved definition (its spec as JSON): any change is a modify.
    public var fingerprint: String
    /// Functions and layers: the code's sha256 (hex), with AutoPublishCodeSha256 appended when set.
    public var codeKey: String?
    /// Functions: the resolved configuration (settings as JSON).
    public var configKey: String?
    /// Functions: the version the stack last published; layers: the layer version.
    public var version: Int?
    /// Functions: the alias it owns.
    public var alias: String?
    /// Layers: every version the stack published (what a delete removes unless retained).
    public var versions: [Int]?

    public init(
        fingerprint: String, codeKey: String? = nil, configKey: String? = nil, version: Int? = nil,
        alias: String? = nil, versions: [Int]? = nil
    ) {
        self.fingerprint = fingerprint
        self.codeKey = codeKey
        self.configKey = configKey
        self.version = version
        self.alias = alias
        self.versions = versions
    }

    public var json: String { String(decoding: (try? JSONEncoder.canonical.encode(self)) ?? Data(), as: UTF8.self) }

    public static func decode(_ text: String) -> ResourceState? {
        try? JSONDecoder().decode(ResourceState.self, from: Data(text.utf8))
    }
}

/// A resource the stack owned at its last deploy.
public struct DeployedResource: Sendable, Equatable {
    public var logicalId: String
    public var resourceType: String
    public var physicalId: String
    public var state: ResourceState

    public init(logicalId: String, resourceType: String, physicalId: String, state: ResourceState) {
        self.logicalId = logicalId
        self.resourceType = resourceType
        self.physicalId = physicalId
        self.state = state
    }
}

/// What the registry holds now for a function or layer the template declares (read by the caller).
public struct Observed: Sendable, Equatable {
    /// Highest version ever published (0: none), for functions and layers.
    public var highestVersion: Int
    /// The alias's primary version, when the alias exists.
    public var aliasVersion: Int?

    public init(highestVersion: Int = 0, aliasVersion: Int? = nil) {
        self.highestVersion = highestVersion
        self.aliasVersion = aliasVersion
    }
}

/// A change set: one entry per resource (add / modify / remove / none) and, per function, the steps
/// that bring the registry to the template.
public struct StackPlan: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case add = "Add", modify = "Modify", remove = "Remove", none = "None"
    }

    public struct Change: Sendable, Equatable, Codable {
        public var logicalId: String
        public var resourceType: String
        public var physicalId: String
        public var action: Action
        /// What will happen, in words ("publish version 3; deploy live 2 → 3 with Canary10Percent5Minutes").
        public var details: [String]
    }

    /// How a function's alias moves.
    public enum AliasStep: Sendable, Equatable {
        case none
        case create(version: Int)
        case moveAtOnce(from: Int, to: Int)
        case deploy(from: Int, to: Int, preference: DeploymentPreferenceSpec)
    }

    public struct FunctionStep: Sendable, Equatable {
        public var spec: FunctionSpec
        public var create: Bool
        public var updateCode: Bool
        public var updateConfiguration: Bool
        public var publish: Bool
        /// The version the alias ends on (nil: no alias).
        public var targetVersion: Int?
        public var aliasStep: AliasStep
        /// AutoPublishAlias changed: the stack's previous alias to remove.
        public var removedAlias: String?
    }

    public struct LayerStep: Sendable, Equatable {
        public var spec: LayerSpec
        public var publish: Bool
        public var version: Int
        /// With RetentionPolicy Delete, the version this one replaces.
        public var deleteVersion: Int?
    }

    public var changes: [Change] = []
    public var functions: [FunctionStep] = []
    public var layers: [LayerStep] = []
    public var alarms: [AlarmSpec] = []
    public var deploymentConfigs: [DeploymentConfigSpec] = []
    public var removed: [DeployedResource] = []
    /// The state to record for each resource once the deploy is done, by logical id.
    public var states: [String: ResourceState] = [:]

    public var hasChanges: Bool { changes.contains { $0.action != .none } }
}

/// Diffs a model against what the stack deployed last; pure.
public enum StackPlanner {
    /// The version numbers this deploy ends with, by logical id — what `StackModel.build` needs for
    /// `Fn.Version.Version` and layer Refs. `codeKeys` are the code hashes (the caller hashed the zips).
    public static func plannedVersions(
        _ model: StackModel, codeKeys: [String: String], deployed allDeployed: [String: DeployedResource],
        observed: [String: Observed]
    ) -> [String: Int] {
        let deployed = kept(model, allDeployed)
        var result: [String: Int] = [:]
        for layer in model.layers {
            let previous = deployed[layer.logicalId]?.state
            let changed = previous?.codeKey != codeKeys[layer.logicalId] || previous?.fingerprint != fingerprint(layer)
            result[layer.logicalId] =
                changed || previous?.version == nil
                ? (observed[layer.logicalId]?.highestVersion ?? 0) + 1 : previous!.version!
        }
        for function in model.functions where function.alias != nil {
            let previous = deployed[function.logicalId]?.state
            let publish = needsPublish(function, codeKey: codeKey(function, codeKeys), previous: previous)
            // A function the stack creates starts at version 1 (any other of that name is refused before).
            let highest = previous == nil ? 0 : observed[function.logicalId]?.highestVersion ?? 0
            result[function.logicalId] = publish || previous?.version == nil ? highest + 1 : previous!.version!
        }
        return result
    }

    /// The deployed resources that are still the same resource: a renamed one (another registry name
    /// for the same logical id) is a new resource.
    static func kept(_ model: StackModel, _ deployed: [String: DeployedResource]) -> [String: DeployedResource] {
        let names = model.names
        return deployed.filter { id, resource in names[id].map { $0 == resource.physicalId } ?? true }
    }

    static func codeKey(_ function: FunctionSpec, _ codeKeys: [String: String]) -> String {
        (codeKeys[function.logicalId] ?? "") + (function.autoPublishCodeSha256.map { "+\($0)" } ?? "")
    }

    /// SAM's rule: a new version when the code (or AutoPublishCodeSha256) changed — or, with
    /// AutoPublishAliasAllProperties, the configuration — since the stack's last deploy.
    static func needsPublish(_ function: FunctionSpec, codeKey: String, previous: ResourceState?) -> Bool {
        guard function.alias != nil else { return false }
        guard let previous, previous.version != nil else { return true }
        if previous.codeKey != codeKey { return true }
        return function.autoPublishAliasAllProperties && previous.configKey != configKey(function)
    }

    static func configKey(_ function: FunctionSpec) -> String {
        var settings = function.settings
        settings.role = ""
        return canonical(ConfigKey(settings: settings, reservedConcurrency: function.reservedConcurrency))
    }

    struct ConfigKey: Encodable {
        var settings: FunctionSettings
        var reservedConcurrency: Int?
    }

    static func fingerprint<T: Encodable>(_ value: T) -> String { canonical(value) }

    static func canonical<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder.canonical.encode(value)) ?? Data(), as: UTF8.self)
    }

    public static func plan(
        _ model: StackModel, codeKeys: [String: String], deployed allDeployed: [String: DeployedResource],
        observed: [String: Observed]
    ) -> StackPlan {
        var plan = StackPlan()
        // A resource whose name changed is replaced, as CloudFormation does: the new one is created
        // and the old one removed.
        let deployed = kept(model, allDeployed)
        for (id, resource) in allDeployed.sorted(by: { $0.key < $1.key })
        where deployed[id] == nil && model.names[id] != nil {
            plan.removed.append(resource)
            plan.changes.append(
                StackPlan.Change(
                    logicalId: id, resourceType: resource.resourceType, physicalId: resource.physicalId,
                    action: .remove, details: ["delete \(resource.physicalId) (replaced by \(model.names[id]!))"]))
        }
        let versions = plannedVersions(model, codeKeys: codeKeys, deployed: deployed, observed: observed)
        func change(
            _ id: String, _ type: String, _ physical: String, _ fingerprint: String, _ details: [String],
            changed: Bool? = nil
        ) {
            let previous = deployed[id]
            let action: StackPlan.Action =
                previous == nil ? .add : (changed ?? (previous!.state.fingerprint != fingerprint)) ? .modify : .none
            plan.changes.append(
                StackPlan.Change(
                    logicalId: id, resourceType: type, physicalId: physical, action: action,
                    details: action == .none ? [] : details))
        }

        for config in model.deploymentConfigs {
            let print = fingerprint(config)
            change(
                config.logicalId, "AWS::CodeDeploy::DeploymentConfig", config.name, print,
                [
                    deployed[config.logicalId] == nil
                        ? "create deployment config \(config.name)" : "replace deployment config \(config.name)"
                ])
            if deployed[config.logicalId]?.state.fingerprint != print { plan.deploymentConfigs.append(config) }
            plan.states[config.logicalId] = ResourceState(fingerprint: print)
        }

        for layer in model.layers {
            let previous = deployed[layer.logicalId]?.state
            let print = fingerprint(layer)
            let version = versions[layer.logicalId]!
            let publish = previous?.version != version
            var created = previous?.versions ?? []
            if publish { created.append(version) }
            let delete = publish && !layer.retain ? previous?.version : nil
            change(
                layer.logicalId, layer.resourceType, layer.name, print,
                [
                    publish ? "publish layer version \(version)" : "update",
                    delete.map { "delete layer version \($0) (RetentionPolicy Delete)" },
                ].compactMap { $0 },
                changed: publish || previous?.fingerprint != print)
            plan.layers.append(
                StackPlan.LayerStep(spec: layer, publish: publish, version: version, deleteVersion: delete))
            plan.states[layer.logicalId] = ResourceState(
                fingerprint: print, codeKey: codeKeys[layer.logicalId], version: version,
                versions: delete.map { old in created.filter { $0 != old } } ?? created)
        }

        // Hooks first: a function that guards another is created and updated before it.
        let hooks = Set(
            model.functions.flatMap {
                [$0.deploymentPreference?.preTrafficHook, $0.deploymentPreference?.postTrafficHook].compactMap { $0 }
            })
        let ordered =
            model.functions.filter { hooks.contains($0.name) } + model.functions.filter { !hooks.contains($0.name) }
        for function in ordered {
            let previous = deployed[function.logicalId]?.state
            let key = codeKey(function, codeKeys)
            let config = configKey(function)
            let publish =
                previous?.version == nil
                ? function.alias != nil : needsPublish(function, codeKey: key, previous: previous)
            let target = function.alias == nil ? nil : versions[function.logicalId]
            let seen = previous == nil ? nil : observed[function.logicalId]
            var step = StackPlan.FunctionStep(
                spec: function, create: previous == nil, updateCode: previous != nil && previous?.codeKey != key,
                updateConfiguration: previous != nil && previous?.configKey != config, publish: publish,
                targetVersion: target,
                aliasStep: .none,
                removedAlias: previous?.alias != nil && previous?.alias != function.alias ? previous?.alias : nil)
            var details: [String] = []
            if step.create { details.append("create function \(function.name)") }
            if step.updateCode { details.append("update code") }
            if step.updateConfiguration { details.append("update configuration") }
            if publish, let target { details.append("publish version \(target)") }
            if let alias = function.alias, let target {
                if let from = seen?.aliasVersion, step.removedAlias == nil {
                    if from != target {
                        if let preference = function.deploymentPreference, preference.enabled {
                            step.aliasStep = .deploy(from: from, to: target, preference: preference)
                            details.append("deploy \(alias) \(from) → \(target) with \(preference.type)")
                        } else {
                            step.aliasStep = .moveAtOnce(from: from, to: target)
                            details.append("move \(alias) \(from) → \(target) at once")
                        }
                    }
                } else {
                    step.aliasStep = .create(version: target)
                    details.append("create alias \(alias) on version \(target)")
                }
            }
            if let removed = step.removedAlias { details.append("delete alias \(removed)") }
            let print = fingerprint(function)
            change(
                function.logicalId, function.resourceType, function.name, print, details,
                changed: !details.isEmpty || previous?.fingerprint != print)
            plan.functions.append(step)
            plan.states[function.logicalId] = ResourceState(
                fingerprint: print, codeKey: key, configKey: config, version: target, alias: function.alias)
            for (id, type) in [
                (function.versionLogicalId, "AWS::Lambda::Version"), (function.aliasLogicalId, "AWS::Lambda::Alias"),
            ] {
                guard let id else { continue }
                let physical =
                    type == "AWS::Lambda::Version"
                    ? "\(function.name):\(target ?? 0)" : "\(function.name):\(function.alias ?? "")"
                // The alias's state is the version it ends on: moving it is a modify.
                let print = "\(physical)@\(target ?? 0)"
                change(
                    id, type, physical, print,
                    [type == "AWS::Lambda::Version" ? "version \(target ?? 0)" : "alias on version \(target ?? 0)"])
                plan.states[id] = ResourceState(fingerprint: print)
            }
        }

        for alarm in model.alarms {
            let print = fingerprint(alarm.definition)
            change(
                alarm.logicalId, "AWS::CloudWatch::Alarm", alarm.definition.name, print,
                [deployed[alarm.logicalId] == nil ? "create alarm" : "replace alarm definition"])
            if deployed[alarm.logicalId]?.state.fingerprint != print { plan.alarms.append(alarm) }
            plan.states[alarm.logicalId] = ResourceState(fingerprint: print)
        }

        for resource in deployed.values.sorted(by: { $0.logicalId < $1.logicalId })
        where plan.states[resource.logicalId] == nil {
            plan.removed.append(resource)
            plan.changes.append(
                StackPlan.Change(
                    logicalId: resource.logicalId, resourceType: resource.resourceType, physicalId: resource.physicalId,
                    action: .remove, details: ["delete \(resource.physicalId)"]))
        }
        return plan
    }
}

extension JSONEncoder {
    static var canonical: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
