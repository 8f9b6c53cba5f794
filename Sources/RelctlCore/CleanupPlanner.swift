/// What the registry holds, as far as cleanup is concerned.
public struct CleanupInventory: Sendable {
    public struct LayerKey: Hashable, Sendable, Codable {
        public var name: String
        public var version: Int
        public init(name: String, version: Int) {
            self.name = name
            self.version = version
        }
    }

    public struct PublishedVersion: Sendable {
        public var function: String
        public var version: Int
        public var codeSize: Int64
        /// Lambda timestamp text; sorts chronologically.
        public var created: String
        public var layers: [LayerKey]
        /// Why it must stay: `alias live`, `deployment d-…`. Empty when nothing references it.
        public var protectedBy: [String]

        public init(
            function: String, version: Int, codeSize: Int64, created: String, layers: [LayerKey], protectedBy: [String]
        ) {
            self.function = function
            self.version = version
            self.codeSize = codeSize
            self.created = created
            self.layers = layers
            self.protectedBy = protectedBy
        }
    }

    public struct StoredLayerVersion: Sendable {
        public var key: LayerKey
        public var codeSize: Int64
        public var created: String
        /// Deleted by the user but kept (and counted) while function versions still use it.
        public var deleted: Bool
        public init(key: LayerKey, codeSize: Int64, created: String, deleted: Bool = false) {
            self.key = key
            self.codeSize = codeSize
            self.created = created
            self.deleted = deleted
        }
    }

    public var versions: [PublishedVersion]
    public var layerVersions: [StoredLayerVersion]
    /// Layers used by each function's `$LATEST`, which cleanup never deletes.
    public var latestLayers: Set<LayerKey>
    public var usage: Int64
    public var limit: Int64

    public init(
        versions: [PublishedVersion], layerVersions: [StoredLayerVersion], latestLayers: Set<LayerKey>, usage: Int64,
        limit: Int64
    ) {
        self.versions = versions
        self.layerVersions = layerVersions
        self.latestLayers = latestLayers
        self.usage = usage
        self.limit = limit
    }
}

public struct CleanupRequest: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        case bytes(Int64)
        /// A fraction of the limit, 0...1.
        case fractionOfLimit(Double)
    }

    /// Only this function's versions are candidates (layers are then left alone).
    public var function: String?
    /// The newest `keep` versions of each function (and of each layer) always stay.
    public var keep: Int?
    public var targetUsage: Target?

    public init(function: String? = nil, keep: Int? = nil, targetUsage: Target? = nil) {
        self.function = function
        self.keep = keep
        self.targetUsage = targetUsage
    }

    /// Parses `--target-usage`: `80%` of the limit or a size such as `60GB`.
    public static func parseTarget(_ text: String) throws(RelctlError) -> Target {
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), percent >= 0, percent <= 100 else {
                throw RelctlError(
                    .invalidParameterValue, "Invalid target usage '\(text)': a percentage must be between 0% and 100%.")
            }
            return .fractionOfLimit(percent / 100)
        }
        return .bytes(try ByteSize.parse(text))
    }
}

/// The exact list of deletions a cleanup makes; `--dry-run` prints it, the real run applies it.
public struct CleanupPlan: Sendable, Equatable, Codable {
    public struct Deletion: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable {
            case functionVersion = "FunctionVersion", layerVersion = "LayerVersion"
        }
        public var Kind: Kind
        public var Name: String
        public var Version: Int
        public var CodeSize: Int64
        public var Created: String
    }

    public var Deletions: [Deletion]
    public var BytesFreed: Int64
    public var UsageBefore: Int64
    public var UsageAfter: Int64
    public var Limit: Int64
    public var TargetUsage: Int64?
    /// False when everything unprotected would go and usage still stays above the target.
    public var TargetReached: Bool
    /// Versions that stayed because something needs them, with the reason.
    public var Protected: [String: [String]]
}

/// Decides what cleanup deletes. Rules, in order:
/// 1. Never: `$LATEST`, a version an alias points at (primary or routing), a version an unfinished
///    deployment references, the newest `keep` versions of each function, a layer version that any
///    remaining function version (or any `$LATEST`) uses, the newest `keep` versions of each layer.
/// 2. Candidates go oldest first (by creation time), function versions before layer versions.
/// 3. With `--target-usage`, deletion stops as soon as usage is at or below the target, and `keep`
///    defaults to 1; with `--keep` alone every candidate goes.
public enum CleanupPlanner {
    public static func plan(_ inventory: CleanupInventory, _ request: CleanupRequest) -> CleanupPlan {
        let target: Int64? = request.targetUsage.map {
            switch $0 {
            case .bytes(let bytes): bytes
            case .fractionOfLimit(let fraction): Int64((Double(inventory.limit) * fraction).rounded(.down))
            }
        }
        let keep = request.keep ?? (target == nil ? 0 : 1)
        var usage = inventory.usage
        var deletions: [CleanupPlan.Deletion] = []
        var protected: [String: [String]] = [:]
        func targetMet() -> Bool { target.map { usage <= $0 } ?? false }

        // Function versions.
        var newest: [String: Set<Int>] = [:]
        for (function, versions) in Dictionary(grouping: inventory.versions, by: \.function) {
            newest[function] = Set(versions.map(\.version).sorted(by: >).prefix(keep))
        }
        var candidates: [CleanupInventory.PublishedVersion] = []
        for version in inventory.versions where request.function == nil || version.function == request.function {
            var reasons = version.protectedBy
            if newest[version.function]?.contains(version.version) == true { reasons.append("newest \(keep)") }
            if reasons.isEmpty {
                candidates.append(version)
            } else {
                protected["\(version.function):\(version.version)"] = reasons
            }
        }
        candidates.sort { ($0.created, $0.function, $0.version) < ($1.created, $1.function, $1.version) }
        var deleted = Set<String>()
        for candidate in candidates where !targetMet() {
            deletions.append(
                .init(
                    Kind: .functionVersion, Name: candidate.function, Version: candidate.version,
                    CodeSize: candidate.codeSize, Created: candidate.created))
            usage -= candidate.codeSize
            deleted.insert("\(candidate.function):\(candidate.version)")
        }

        var used = inventory.latestLayers
        for version in inventory.versions where !deleted.contains("\(version.function):\(version.version)") {
            used.formUnion(version.layers)
        }
        // Layer versions already deleted by hand go with their last user: count them, whatever the target.
        for layer in inventory.layerVersions where layer.deleted && !used.contains(layer.key) {
            deletions.append(
                .init(
                    Kind: .layerVersion, Name: layer.key.name, Version: layer.key.version,
                    CodeSize: layer.codeSize, Created: layer.created))
            usage -= layer.codeSize
        }

        // Layer versions, only in a whole-registry cleanup.
        if request.function == nil {
            var newestLayers: [String: Set<Int>] = [:]
            for (name, versions) in Dictionary(grouping: inventory.layerVersions.filter { !$0.deleted }, by: \.key.name)
            {
                newestLayers[name] = Set(versions.map(\.key.version).sorted(by: >).prefix(keep))
            }
            var layerCandidates: [CleanupInventory.StoredLayerVersion] = []
            for layer in inventory.layerVersions where !layer.deleted {
                var reasons: [String] = []
                if used.contains(layer.key) { reasons.append("used by a function version") }
                if newestLayers[layer.key.name]?.contains(layer.key.version) == true {
                    reasons.append("newest \(keep)")
                }
                if reasons.isEmpty {
                    layerCandidates.append(layer)
                } else {
                    protected["layer \(layer.key.name):\(layer.key.version)"] = reasons
                }
            }
            layerCandidates.sort {
                ($0.created, $0.key.name, $0.key.version) < ($1.created, $1.key.name, $1.key.version)
            }
            for candidate in layerCandidates where !targetMet() {
                deletions.append(
                    .init(
                        Kind: .layerVersion, Name: candidate.key.name, Version: candidate.key.version,
                        CodeSize: candidate.codeSize, Created: candidate.created))
                usage -= candidate.codeSize
            }
        }

        return CleanupPlan(
            Deletions: deletions, BytesFreed: inventory.usage - usage, UsageBefore: inventory.usage, UsageAfter: usage,
            Limit: inventory.limit, TargetUsage: target, TargetReached: target.map { usage <= $0 } ?? true,
            Protected: protected)
    }
}
