import Foundation

/// One alias a release group moves: `orders:live` from version 7 to 8.
public struct ReleaseMember: Sendable, Codable, Equatable {
    public var functionName: String
    public var alias: String
    public var currentVersion: Int
    public var targetVersion: Int
    /// Percent of the alias's traffic the release last set on the target (checked before every
    /// shift, so a hand-moved alias is never silently overwritten).
    public var aliasWeight: Double

    public init(functionName: String, alias: String, currentVersion: Int, targetVersion: Int, aliasWeight: Double = 0) {
        self.functionName = functionName
        self.alias = alias
        self.currentVersion = currentVersion
        self.targetVersion = targetVersion
        self.aliasWeight = aliasWeight
    }

    /// `orders:live`.
    public var label: String { "\(functionName):\(alias)" }

    /// The alias as the release wants it with `weight` percent on the target.
    public func target(weight: Double) -> AliasTarget {
        if weight <= 0 { return AliasTarget(functionVersion: currentVersion) }
        if weight >= 100 { return AliasTarget(functionVersion: targetVersion) }
        return AliasTarget(
            functionVersion: currentVersion, additional: .init(version: targetVersion, weight: weight / 100))
    }
}

/// What `--member orders:live=8` asks for.
public struct ReleaseMemberSpec: Sendable, Equatable {
    public var function: String
    public var alias: String
    public var version: String

    public init(function: String, alias: String, version: String) {
        self.function = function
        self.alias = alias
        self.version = version
    }

    /// `FUNCTION:ALIAS=VERSION`.
    public static func parse(_ text: String) throws(RelctlError) -> ReleaseMemberSpec {
        let sides = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let names = sides.first.map { $0.split(separator: ":", omittingEmptySubsequences: false) } ?? []
        guard sides.count == 2, names.count == 2, !names[0].isEmpty, !names[1].isEmpty, !sides[1].isEmpty else {
            throw RelctlError(
                .invalidParameterValue,
                "--member '\(text)' is not allowed: use FUNCTION:ALIAS=VERSION, e.g. orders:live=8.")
        }
        return ReleaseMemberSpec(function: String(names[0]), alias: String(names[1]), version: String(sides[1]))
    }
}

/// A release group: several aliases moved in lockstep. One deployment machine keeps the timing,
/// the hooks, the alarms and the status for the whole group; every action it returns
/// (`.setWeight`, `.restoreOriginal`) is applied to every member in the same transaction. The
/// machine's wording speaks of one alias; the transitions here reword its log for a group.
public struct ReleaseGroup: Sendable, Codable, Equatable {
    /// Release ids are `r-` and nine characters (deployments' are `d-`…).
    public static let idPrefix = "r-"
    /// Most members one release may have.
    public static let maxMembers = 50

    public var name: String
    public var members: [ReleaseMember]
    /// The timing machine: its id is the release's, its function the release's name.
    public var machine: Deployment

    public init(
        id: String, name: String, members: [ReleaseMember], policy: DeploymentPolicy, preTrafficHook: String? = nil,
        postTrafficHook: String? = nil, alarms: [String] = [], hookTimeout: Double = 3600, autoRollback: Bool = true,
        creator: String = "", createTime: Double
    ) {
        self.name = name
        self.members = members
        machine = Deployment(
            id: id, functionName: name, alias: "", currentVersion: 0, targetVersion: 0, policy: policy,
            preTrafficHook: preTrafficHook, postTrafficHook: postTrafficHook, alarms: alarms, hookTimeout: hookTimeout,
            autoRollback: autoRollback, creator: creator, createTime: createTime)
    }

    public var id: String { machine.id }
    public var status: DeploymentStatus { machine.status }
    /// Percent the release has set on every member's target (the same on each: lockstep).
    public var weight: Double { machine.weight }

    public static func isReleaseId(_ id: String) -> Bool { id.hasPrefix(idPrefix) }

    /// `orders:live 7 → 8, billing:live 12 → 13`.
    public var transitions: String {
        members.map { "\($0.label) \($0.currentVersion) → \($0.targetVersion)" }.joined(separator: ", ")
    }

    /// Checks a release name: 1–64 letters, digits, `-` and `_`.
    public static func validateName(_ name: String) throws(RelctlError) {
        let allowed = name.utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95
        }
        guard !name.isEmpty, name.count <= 64, allowed else {
            throw RelctlError(
                .invalidParameterValue,
                "Release name '\(name.prefix(80))' is not allowed: use 1–64 letters, digits, '-' or '_'.")
        }
    }

    // MARK: - Transitions (the machine's, reworded for a group)

    public mutating func tick(
        now: Double, alarms: [String: AlarmObservation], newExecutionId: () -> String
    ) -> [DeploymentAction] {
        reword(machine.tick(now: now, alarms: alarms, newExecutionId: newExecutionId))
    }

    public mutating func fail(
        now: Double, code: String, message: String, details: [String: String] = [:], rollback: Bool? = nil
    ) -> [DeploymentAction] {
        reword(machine.fail(now: now, code: code, message: message, details: details, rollback: rollback))
    }

    public mutating func stop(now: Double, rollback: Bool, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        let actions = try rewordingErrors { (machine: inout Deployment) throws(RelctlError) in
            try machine.stop(now: now, rollback: rollback, by: actor)
        }
        return reword(actions)
    }

    public mutating func promote(now: Double, full: Bool, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        let actions = try rewordingErrors { (machine: inout Deployment) throws(RelctlError) in
            try machine.promote(now: now, full: full, by: actor)
        }
        return reword(actions)
    }

    public mutating func pause(now: Double, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        let actions = try rewordingErrors { (machine: inout Deployment) throws(RelctlError) in
            try machine.pause(now: now, by: actor)
        }
        return reword(actions)
    }

    public mutating func resume(now: Double, by actor: String) throws(RelctlError) -> [DeploymentAction] {
        let actions = try rewordingErrors { (machine: inout Deployment) throws(RelctlError) in
            try machine.resume(now: now, by: actor)
        }
        return reword(actions)
    }

    public mutating func reportHook(
        executionId: String, status: HookStatus, output: String?, now: Double
    ) throws(RelctlError) -> [DeploymentAction] {
        let actions = try rewordingErrors { (machine: inout Deployment) throws(RelctlError) in
            try machine.reportHook(executionId: executionId, status: status, output: output, now: now)
        }
        return reword(actions)
    }

    /// The machine's errors name "Deployment r-…"; a release's name it by name and id.
    private mutating func rewordingErrors(
        _ body: (inout Deployment) throws(RelctlError) -> [DeploymentAction]
    ) throws(RelctlError) -> [DeploymentAction] {
        do {
            return try body(&machine)
        } catch {
            var reworded = error
            reworded.message = error.message.replacingOccurrences(
                of: "Deployment \(id)", with: "Release \(name) (\(id))"
            )
            .replacingOccurrences(of: "relctl deployments", with: "relctl release")
            throw reworded
        }
    }

    /// Rewrites the machine's log entries (and its error and rollback texts) for a group.
    private mutating func reword(_ actions: [DeploymentAction]) -> [DeploymentAction] {
        if let error = machine.error {
            let message = rewordMessage(error.message)
            machine.error?.message = message
        }
        if let message = machine.rollbackMessage, message.hasPrefix(machineRestorePrefix) {
            machine.rollbackMessage =
                "Every member restored to its original version (\(originals)): \(message.dropFirst(machineRestorePrefix.count))"
        }
        return actions.map { action in
            guard case .record(var event) = action else { return action }
            event.message = rewordEvent(event)
            event.details["release"] = name
            // The machine's own versions (0) mean nothing for a group: each member has its pair.
            if event.details.removeValue(forKey: "currentVersion") != nil {
                event.details.removeValue(forKey: "targetVersion")
            }
            if event.kind == "Start" { event.details["members"] = transitions }
            if event.kind == "Rollback" {
                event.details["from"] =
                    (event.details["from"]?.components(separatedBy: " on version").first ?? "") + " on every member"
                event.details["to"] = originals
            }
            return .record(event)
        }
    }

    /// How the machine begins a restore's message ("Alias  restored to version 0: …").
    private var machineRestorePrefix: String {
        "Alias \(machine.alias) restored to version \(machine.currentVersion): "
    }
    private var originals: String { members.map { "\($0.label) → \($0.currentVersion)" }.joined(separator: ", ") }
    private var targets: String { members.map { "\($0.label) → \($0.targetVersion)" }.joined(separator: ", ") }

    private func rewordEvent(_ event: DeploymentEvent) -> String {
        switch event.kind {
        case "Start":
            return "Release \(name) started: \(transitions) with \(machine.policy.name)"
        case "Shift":
            let weight = event.details["weight"] ?? DeploymentPolicy.percentText(machine.weight)
            let hold = event.details["hold"].map { "; holding \($0)" } ?? ""
            return "Shifted \(weight) of every member to its target (\(targets))\(hold)"
        case "Pause":
            return "Waiting for `relctl release promote \(name)` at \(DeploymentPolicy.percentText(machine.weight))"
        case "Succeeded":
            return "Release \(name) succeeded: \(targets)"
        case "Rollback":
            return machine.rollbackMessage ?? event.message
        default:
            return rewordMessage(event.message)
        }
    }

    /// The machine names the target "version 0" in alarm messages: a group has one per member.
    private func rewordMessage(_ text: String) -> String {
        text.replacingOccurrences(of: " to version \(machine.targetVersion):", with: " on every member:")
    }
}
