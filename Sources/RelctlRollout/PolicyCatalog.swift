import Foundation
import RelctlCore
import RelctlPolicies
import RelctlStorage
import Yams

/// Deployment preferences by name, one catalogue for the CLI and the server: the shipped presets
/// (embedded), the custom ones in `<data-dir>/policies/*.yaml`, and the deployment configs created
/// with CodeDeploy's CreateDeploymentConfig. A name, or one of its aliases (`CodeDeployDefault.Lambda…`),
/// finds it; no two may share a name (the one clash rule, in `add`).
public struct PolicyCatalog: Sendable {
    public struct Entry: Sendable {
        public var policy: DeploymentPolicy
        public var aliases: [String]
        public var description: String?
    }

    public private(set) var entries: [Entry] = []

    /// The catalogue of a data directory: presets, its `policies/*.yaml` and its stored CodeDeploy configs.
    public static func load(for store: any RolloutStore) async throws(RelctlError) -> PolicyCatalog {
        try PolicyCatalog(
            customFolder: store.localDirectory?.appendingPathComponent("policies", isDirectory: true),
            deploymentConfigs: try await store.deploymentConfigDefinitions().map { ($0.name, $0.definition) })
    }

    /// Loads the shipped policies, those in `customFolder` (if it exists) and `deploymentConfigs`
    /// (name, stored trafficRoutingConfig JSON). Any invalid file or config, or a duplicate name, is
    /// an error that names where it came from.
    public init(customFolder: URL?, deploymentConfigs: [(name: String, definition: String)] = []) throws(RelctlError) {
        try loadShippedAndCustom(customFolder)
        for config in deploymentConfigs {
            try add([
                Entry(
                    policy: try TrafficRouting.policy(config.name, definition: config.definition), aliases: [],
                    description: "created with CreateDeploymentConfig")
            ])
        }
    }

    private mutating func loadShippedAndCustom(_ customFolder: URL?) throws(RelctlError) {
        for file in ShippedPolicies.files {
            try add(try PolicyParser.parse(file.yaml, source: "shipped (\(file.name))"))
        }
        guard let customFolder, let names = try? FileManager.default.contentsOfDirectory(atPath: customFolder.path)
        else { return }
        for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let url = customFolder.appendingPathComponent(name)
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw RelctlError(
                    .invalidParameterValue, "Cannot read policy file \(url.path): \(error.localizedDescription)")
            }
            try add(try PolicyParser.parse(text, source: url.path))
        }
    }

    private mutating func add(_ parsed: [Entry]) throws(RelctlError) {
        for entry in parsed {
            for name in [entry.policy.name] + entry.aliases {
                if let clash = lookup(name) {
                    throw RelctlError(
                        .invalidParameterValue,
                        "Duplicate policy name \(name): defined in \(entry.policy.source) and in \(clash.policy.source)."
                    )
                }
            }
            entries.append(entry)
        }
    }

    public func lookup(_ name: String) -> Entry? {
        entries.first { $0.policy.name == name || $0.aliases.contains(name) }
    }

    public func policy(named name: String) throws(RelctlError) -> DeploymentPolicy {
        guard let entry = lookup(name) else {
            throw RelctlError(
                .resourceNotFound,
                "No deployment policy named \(name); known: \(entries.map(\.policy.name).joined(separator: ", ")) (custom ones go in <data-dir>/policies/*.yaml)."
            )
        }
        return entry.policy
    }
}

/// Reads policy YAML: one or more documents (`---`), each one policy.
public enum PolicyParser {
    static let commonKeys: Set<String> = ["name", "type", "aliases", "description", "judge"]
    static let keysByType: [String: Set<String>] = [
        "Canary": ["percentage", "interval"],
        "Linear": ["percentage", "interval"],
        "AllAtOnce": [],
        "Steps": ["steps"],
    ]

    public static func parse(_ text: String, source: String) throws(RelctlError) -> [PolicyCatalog.Entry] {
        var documents: [Any] = []
        do {
            var sequence = try Yams.load_all(yaml: text)
            while let document = sequence.next() { documents.append(document) }
            if let error = sequence.error { throw error }
        } catch {
            throw RelctlError(.invalidParameterValue, "\(source): not valid YAML (\(Self.describe(error))).")
        }
        guard !documents.isEmpty else { throw RelctlError(.invalidParameterValue, "\(source): no policy in the file.") }
        var result: [PolicyCatalog.Entry] = []
        var names = Set<String>()
        for (index, document) in documents.enumerated() {
            let place = documents.count > 1 ? "\(source) (document \(index + 1))" : source
            let entry = try parse(document, place: place, source: source)
            for name in [entry.policy.name] + entry.aliases where !names.insert(name).inserted {
                throw RelctlError(.invalidParameterValue, "\(place): duplicate policy name \(name) in the same file.")
            }
            result.append(entry)
        }
        return result
    }

    static func parse(_ document: Any, place: String, source: String) throws(RelctlError) -> PolicyCatalog.Entry {
        func invalid(_ why: String) -> RelctlError { RelctlError(.invalidParameterValue, "\(place): \(why)") }
        guard let map = document as? [String: Any] else {
            throw invalid("a policy is a mapping with name, type and its fields.")
        }
        guard let name = map["name"] as? String else { throw invalid("`name` (a string) is required.") }
        guard let type = map["type"] as? String else {
            throw invalid("`type` is required: Canary, Linear, AllAtOnce or Steps.")
        }
        guard let allowed = keysByType[type] else {
            throw invalid("unknown type '\(type)': use Canary, Linear, AllAtOnce or Steps.")
        }
        let unknown = Set(map.keys).subtracting(commonKeys).subtracting(allowed)
        guard unknown.isEmpty else {
            throw invalid(
                "unknown field\(unknown.count > 1 ? "s" : "") \(unknown.sorted().joined(separator: ", ")) for type \(type); allowed: \((commonKeys.union(allowed)).sorted().joined(separator: ", "))."
            )
        }
        let aliases: [String]
        switch map["aliases"] {
        case nil: aliases = []
        case let list as [String]: aliases = list
        default: throw invalid("`aliases` is a list of names.")
        }
        func percentage() throws(RelctlError) -> Double {
            guard let value = number(map["percentage"]) else {
                throw invalid("`percentage` (a number in (0, 100]) is required for \(type).")
            }
            return value
        }
        func duration(_ value: Any?, _ field: String) throws(RelctlError) -> Double {
            guard let text = value as? String else {
                if value == nil { throw invalid("`\(field)` is required (a duration such as 30s, 5m, 1h).") }
                throw invalid(
                    "`\(field)` must be a duration with a unit, such as 30s, 5m or 1h (got \(String(describing: value!)))."
                )
            }
            do { return try DurationText.parse(text) } catch { throw invalid("`\(field)`: \(error.message)") }
        }
        let kind: DeploymentPolicy.Kind
        switch type {
        case "Canary": kind = .canary(percentage: try percentage(), interval: try duration(map["interval"], "interval"))
        case "Linear": kind = .linear(percentage: try percentage(), interval: try duration(map["interval"], "interval"))
        case "AllAtOnce": kind = .allAtOnce
        default:
            guard let steps = map["steps"] as? [Any] else { throw invalid("`steps` (a list) is required for Steps.") }
            var stages: [DeploymentPolicy.Stage] = []
            for (index, step) in steps.enumerated() {
                if let word = step as? String, word == "pause" {
                    stages.append(.pause)
                    continue
                }
                guard let fields = step as? [String: Any] else {
                    throw invalid("step \(index + 1) must be `pause` or a mapping with weight and hold.")
                }
                let extra = Set(fields.keys).subtracting(["weight", "hold"])
                guard extra.isEmpty else {
                    throw invalid(
                        "step \(index + 1): unknown field\(extra.count > 1 ? "s" : "") \(extra.sorted().joined(separator: ", ")); a step has weight and hold."
                    )
                }
                guard let weight = number(fields["weight"]) else {
                    throw invalid("step \(index + 1): `weight` (a percentage) is required.")
                }
                stages.append(.weight(percent: weight, hold: try duration(fields["hold"], "step \(index + 1) hold")))
            }
            kind = .steps(stages)
        }
        let judge = try map["judge"].map { (section: Any) throws(RelctlError) in
            try JudgePolicyParser.parse(section, place: place)
        }
        let policy = DeploymentPolicy(name: name, kind: kind, source: source, judge: judge)
        do { try policy.validate() } catch { throw invalid(error.message) }
        return PolicyCatalog.Entry(policy: policy, aliases: aliases, description: map["description"] as? String)
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let int as Int: Double(int)
        case let double as Double: double
        default: nil
        }
    }

    static func describe(_ error: any Error) -> String {
        "\(error)".replacingOccurrences(of: "\n", with: " ")
    }
}
