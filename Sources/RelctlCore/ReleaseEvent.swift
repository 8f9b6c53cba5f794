import Foundation

/// One entry of relctl's event log: everything that changes a release — a deployment's decisions,
/// an alias move, a publish, a cleanup, a quota warning — with a global sequence number, the time,
/// who did it and the values behind it. `relctl events`, webhooks (and the server's stream) show
/// exactly these, as JSON.
public struct ReleaseEvent: Sendable, Codable, Equatable {
    public enum EventType: String, Sendable, Codable, CaseIterable {
        case deploymentCreated = "DeploymentCreated"
        /// A deployment began its lifecycle, or reached a pause step (it waits for a promote).
        case stepStarted = "StepStarted"
        /// A traffic step set the alias's weight on the target (its step number, weight and hold).
        case weightShifted = "WeightShifted"
        case hookStarted = "HookStarted"
        case hookSucceeded = "HookSucceeded"
        case hookFailed = "HookFailed"
        case alarmStateChanged = "AlarmStateChanged"
        /// The canary judge's verdict changed (WAIT, PROMOTE, ABORT, PAUSE), with its evidence.
        case judgeVerdict = "JudgeVerdict"
        case paused = "Paused"
        case resumed = "Resumed"
        case promoted = "Promoted"
        case succeeded = "Succeeded"
        case failed = "Failed"
        case stopped = "Stopped"
        case rolledBack = "RolledBack"
        case aliasMoved = "AliasMoved"
        case versionPublished = "VersionPublished"
        case cleanupApplied = "CleanupApplied"
        /// Code storage crossed 80, 90 or 100% of the quota.
        case quotaWarning = "QuotaWarning"
        /// Sent by `relctl notify test` only; never stored.
        case test = "Test"

        /// The type named `text` (any letter case); the error lists the types there are.
        public static func parse(_ text: String) throws(RelctlError) -> EventType {
            guard let type = allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                throw RelctlError(
                    .invalidParameterValue,
                    "Unknown event type '\(text)': use one of \(allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return type
        }

        /// Types from a comma-separated list (`--on`, `--type`), each parsed by `parse`.
        public static func parseList(_ texts: [String]) throws(RelctlError) -> [EventType] {
            var types: [EventType] = []
            for text in texts.flatMap({ $0.split(separator: ",") }) {
                let type = try parse(text.trimmingCharacters(in: .whitespaces))
                if !types.contains(type) { types.append(type) }
            }
            return types
        }
    }

    /// The global order of the log (1, 2, …); 0 until stored.
    public var seq: Int64
    /// Seconds since 1970; JSON carries it as ISO 8601 with milliseconds.
    public var time: Double
    public var type: EventType
    /// Who: the CLI user, an API key, the controller.
    public var actor: String
    public var function: String?
    public var alias: String?
    public var deploymentId: String?
    public var message: String
    /// The values behind it: versions, weights, alarm, reason, sizes.
    public var details: [String: String]

    public init(
        seq: Int64 = 0, time: Double, type: EventType, actor: String, function: String? = nil, alias: String? = nil,
        deploymentId: String? = nil, message: String, details: [String: String] = [:]
    ) {
        self.seq = seq
        self.time = time
        self.type = type
        self.actor = actor
        self.function = function
        self.alias = alias
        self.deploymentId = deploymentId
        self.message = message
        self.details = details
    }

    enum CodingKeys: String, CodingKey {
        case seq, time, type, actor, function, alias, deploymentId, message, details
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int64.self, forKey: .seq)
        let text = try container.decode(String.self, forKey: .time)
        guard let date = try? Date(text, strategy: Self.timeStyle) else {
            throw DecodingError.dataCorruptedError(
                forKey: .time, in: container, debugDescription: "Not an ISO 8601 time: \(text)")
        }
        time = date.timeIntervalSince1970
        type = try container.decode(EventType.self, forKey: .type)
        actor = try container.decode(String.self, forKey: .actor)
        function = try container.decodeIfPresent(String.self, forKey: .function)
        alias = try container.decodeIfPresent(String.self, forKey: .alias)
        deploymentId = try container.decodeIfPresent(String.self, forKey: .deploymentId)
        message = try container.decode(String.self, forKey: .message)
        details = try container.decodeIfPresent([String: String].self, forKey: .details) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(Date(timeIntervalSince1970: time).formatted(Self.timeStyle), forKey: .time)
        try container.encode(type, forKey: .type)
        try container.encode(actor, forKey: .actor)
        try container.encodeIfPresent(function, forKey: .function)
        try container.encodeIfPresent(alias, forKey: .alias)
        try container.encodeIfPresent(deploymentId, forKey: .deploymentId)
        try container.encode(message, forKey: .message)
        try container.encode(details, forKey: .details)
    }

    static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// One line for people (Slack's `text`): `[relctl] WeightShifted orders:live — Shifted 10% …`.
    public var summary: String {
        let subject = [function.map { f in alias.map { "\(f):\($0)" } ?? f }, deploymentId].compactMap { $0 }.joined(
            separator: " ")
        return "[relctl] \(type.rawValue)\(subject.isEmpty ? "" : " \(subject)") — \(message)"
    }

    /// The types a deployment's log entry (`DeploymentEvent.kind`) stands for; empty for
    /// bookkeeping entries that have no event of their own (the invocation of a function hook).
    public static func types(of entry: DeploymentEvent) -> [EventType] {
        switch entry.kind {
        case "Created": return [.deploymentCreated]
        case "Start", "Pause": return [.stepStarted]
        case "Shift": return [.weightShifted]
        case LifecycleEvent.beforeAllowTraffic.rawValue, LifecycleEvent.afterAllowTraffic.rawValue:
            return [entry.message.hasSuffix(" succeeded") ? .hookSucceeded : .hookStarted]
        case "HookRetry": return [.hookStarted]
        case "HookStatus": return entry.details["status"] == HookStatus.failed.rawValue ? [.hookFailed] : []
        // A hook that never reported fails the deployment with TIMEOUT: the hook failed too.
        case "Failed": return entry.details["code"] == "TIMEOUT" ? [.hookFailed, .failed] : [.failed]
        case "Paused": return [.paused]
        case "Resumed": return [.resumed]
        case "Promote": return [.promoted]
        case "JudgeVerdict": return [.judgeVerdict]
        case "Succeeded": return [.succeeded]
        case "Stopped": return [.stopped]
        case "Rollback": return [.rolledBack]
        default: return []
        }
    }

    /// The quota thresholds (percent) that a change from `before` to `after` bytes crossed upwards.
    public static func quotaThresholdsCrossed(before: Int64, after: Int64, limit: Int64) -> [Int] {
        guard limit > 0, after > before else { return [] }
        return [80, 90, 100].filter { percent in
            let line = Double(limit) * Double(percent) / 100
            return Double(before) < line && Double(after) >= line
        }
    }
}

/// Which events a reader or a webhook wants: all of them, or those of one function and/or some types.
public struct EventFilter: Sendable, Equatable {
    public var function: String?
    /// Empty: every type.
    public var types: [ReleaseEvent.EventType]

    public init(function: String? = nil, types: [ReleaseEvent.EventType] = []) {
        self.function = function
        self.types = types
    }

    public func matches(_ event: ReleaseEvent) -> Bool {
        (function == nil || event.function == function) && (types.isEmpty || types.contains(event.type))
    }
}
