import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

struct ReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract:
            "Release groups: move several functions' aliases in lockstep under one policy; any failure rolls every member back.",
        subcommands: [Create.self, List.self, Get.self, Stop.self, Promote.self, Pause.self, Resume.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a release group: every step sets every member's weight in one transaction.",
            discussion: """
                Each --member FUNCTION:ALIAS=VERSION names an alias and the version to shift it to; no deployment or other
                release may own the alias. The policy's steps apply to every member at once. An alarm in ALARM, a failed or
                timed-out hook, or a stop restores every member to its original version in one transaction. The hooks run once
                for the whole release; their payload (JSON on stdin) carries ReleaseName and Members. Without --detach the release
                runs in the foreground with a live view (a row per member); killing it is safe: `relctl controller run` (or serve)
                continues from the persisted step. Exit status 0 only when the release Succeeded.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The release's name (letters, digits, - and _).") var name: String
        @Option(name: .customLong("member"), help: "FUNCTION:ALIAS=VERSION (repeatable).") var members: [String] = []
        @Option(help: "A policy name: a preset, a YAML policy or a config created over the CodeDeploy API.") var policy:
            String
        @Option(
            name: .customLong("pre-traffic-hook"), help: "Function name or exec:COMMAND run before any traffic moves.")
        var preTrafficHook: String?
        @Option(
            name: .customLong("post-traffic-hook"),
            help: "Function name or exec:COMMAND run after 100% on every member.") var postTrafficHook: String?
        @Option(help: "An alarm that fails the release when in ALARM (repeatable).") var alarm: [String] = []
        @Option(name: .customLong("hook-timeout"), help: "How long a hook may take (default 1h).") var hookTimeout:
            String = "1h"
        @Flag(name: .customLong("no-rollback"), help: "On failure leave every alias where it is.") var noRollback =
            false
        @Flag(help: "Create the release and return; `relctl controller run` advances it.") var detach = false
        @Option(help: "Seconds between ticks in the foreground.") var interval: Double = 0.25

        func validate() throws {
            if members.isEmpty { throw ValidationError("Give at least one --member FUNCTION:ALIAS=VERSION.") }
            if interval <= 0 { throw ValidationError("--interval must be more than 0.") }
        }

        /// The release to create, its policy from `policies`.
        func request(_ policies: PolicyCatalog) throws -> ReleaseRequest {
            var specs: [ReleaseMemberSpec] = []
            for text in members { specs.append(try ReleaseMemberSpec.parse(text)) }
            return ReleaseRequest(
                name: name, members: specs, policy: try policies.policy(named: policy),
                preTrafficHook: preTrafficHook,
                postTrafficHook: postTrafficHook, alarms: alarm, hookTimeout: try DurationText.parse(hookTimeout),
                autoRollback: !noRollback)
        }

        func run() async throws {
            if let store = try await global.postgresStore() { return try await runOnDatabase(store) }
            let registry = try global.registry()
            var release = try await RolloutEngine(store: registry).createRelease(
                try request(try await global.policies()))
            if detach {
                if global.output == .json { return Output.json(ReleaseInfo(release)) }
                print(
                    "Created release \(release.name) (\(release.id), \(release.status.rawValue)); `relctl controller run` advances it, `relctl release get \(release.name)` shows it."
                )
                return
            }
            release = try await ReleaseWatch(registry: registry, id: release.id, json: global.output == .json).follow(
                interval: interval)
            if global.output == .json {
                Output.json(ReleaseInfo(release, events: try registry.releaseEvents(id: release.id)))
            }
            if release.status != .succeeded { throw CommandFailure(status: 1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List releases, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Created, InProgress, Paused, Succeeded, Failed or Stopped.") var status: String?
        @Option var limit: Int = 100

        func run() async throws {
            let (status, limit) = (try self.status.map(DeploymentStatus.parse), limit)
            let releases = try await global.engine().store.read { try $0.releases(status: status, limit: limit) }
            if global.output == .json {
                struct Listing: Encodable { var releases: [ReleaseInfo] }
                return Output.json(Listing(releases: releases.map { ReleaseInfo($0) }))
            }
            Output.table(
                ["Id", "Name", "Members", "Policy", "Status", "Step", "Created"],
                releases.map {
                    [
                        $0.id, $0.name, $0.transitions, $0.machine.policy.name, $0.status.rawValue,
                        ReleaseInfo($0).step ?? "",
                        LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.machine.createTime)),
                    ]
                })
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The full record: members, steps with times, hooks, alarms, every decision.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A release id (r-…) or name (the newest of that name).") var release: String

        func run() async throws {
            let engine = try await global.engine()
            let idOrName = self.release
            let (release, events) = try await engine.store.read { tx in
                let release = try tx.requireRelease(idOrName)
                return (release, try tx.releaseEvents(id: release.id, after: 0))
            }
            let alarms = try await engine.alarmStatuses(of: release)
            if global.output == .json { return Output.json(ReleaseInfo(release, alarms: alarms, events: events)) }
            for line in ReleaseText.panel(release, alarms: alarms, now: Date().timeIntervalSince1970) { print(line) }
            if !release.status.isActive { print(ReleaseText.outcome(release)) }
            print("")
            DeploymentText.eventTable(events)
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a release; every member is restored unless --no-rollback.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A release id or name.") var release: String
        @Flag(name: .customLong("no-rollback"), help: "Leave every alias where it is.") var noRollback = false

        func run() async throws {
            let release = try await global.engine().stopRelease(self.release, rollback: !noRollback)
            if global.output == .json { return Output.json(ReleaseInfo(release)) }
            print(ReleaseText.outcome(release))
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Skip the current wait for every member; --full goes straight to 100%.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A release id or name.") var release: String
        @Flag(help: "Skip every remaining step.") var full = false

        func run() async throws {
            let release = try await global.engine().promoteRelease(self.release, full: full)
            if global.output == .json { return Output.json(ReleaseInfo(release)) }
            print(
                "Release \(release.name) (\(release.id)): \(ReleaseText.weight(release)) on every member, step \(ReleaseInfo(release).step ?? ""), \(release.status.rawValue)."
            )
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Freeze a release's timers (alarms are still checked).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A release id or name.") var release: String

        func run() async throws {
            let release = try await global.engine().pauseRelease(self.release)
            if global.output == .json { return Output.json(ReleaseInfo(release)) }
            print("Release \(release.name) (\(release.id)) paused at \(ReleaseText.weight(release)) on every member.")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a paused release; the current hold continues where it stopped.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A release id or name.") var release: String

        func run() async throws {
            let release = try await global.engine().resumeRelease(self.release)
            if global.output == .json { return Output.json(ReleaseInfo(release)) }
            print("Release \(release.name) (\(release.id)) resumed (\(release.status.rawValue)).")
        }
    }
}

/// Runs a release in the foreground and shows it (see `LiveView`): a row per member in the panel.
struct ReleaseWatch {
    let registry: Registry
    let id: String
    let json: Bool

    func follow(interval: Double) async throws -> ReleaseGroup {
        var release = try registry.release(id)
        var lastEvent: Int64 = 0
        try await LiveView(registry: registry, id: id, json: json).run(interval: interval) { engine, terminal in
            release = try registry.release(id)
            let events = try registry.releaseEvents(id: id, after: lastEvent)
            lastEvent = events.last?.id ?? lastEvent
            guard terminal else { return (events, [], release.status.isActive) }
            let alarms = try await engine.alarmStatuses(of: release)
            return (
                events, ReleaseText.panel(release, alarms: alarms, now: Date().timeIntervalSince1970),
                release.status.isActive
            )
        }
        if !json { print(ReleaseText.outcome(release)) }
        return release
    }
}

enum ReleaseText {
    /// `10%` (what the release has set on every member's target).
    static func weight(_ release: ReleaseGroup) -> String {
        DeploymentPolicy.percentText(release.members.first?.aliasWeight ?? 0)
    }

    static func weights(_ member: ReleaseMember) -> String {
        let target = member.aliasWeight
        if target <= 0 { return "v\(member.currentVersion) 100%" }
        if target >= 100 { return "v\(member.targetVersion) 100%" }
        return
            "v\(member.currentVersion) \(DeploymentPolicy.percentText(100 - target)) | v\(member.targetVersion) \(DeploymentPolicy.percentText(target))"
    }

    /// The block a terminal redraws: the group's line, its progress, a row per member, hooks and alarms.
    static func panel(_ release: ReleaseGroup, alarms: [String: AlarmStatus], now: Double) -> [String] {
        let machine = release.machine
        let info = ReleaseInfo(release)
        var lines = [
            "Release \(release.name) (\(release.id))  \(release.members.count) members  policy \(machine.policy.name)  [\(release.status.rawValue)]"
        ]
        var progress = "Step \(info.step ?? "")"
        if let next = machine.nextShiftAt { progress += "  next shift in \(DurationText.format(max(0, next - now)))" }
        if let eta = machine.estimatedCompletion {
            progress += "  ETA \(DeploymentText.clock(eta)) (\(DurationText.format(max(0, eta - now))))"
        }
        if machine.phase == .allowTraffic, machine.nextShiftAt == nil, machine.status == .inProgress {
            progress += "  waiting for `relctl release promote \(release.name)`"
        }
        if machine.status == .paused { progress += "  paused" }
        lines.append(progress)
        let width = release.members.map(\.label.count).max() ?? 0
        for member in release.members {
            lines.append(
                "  \(member.label.padding(toLength: width, withPad: " ", startingAt: 0))  v\(member.currentVersion) → v\(member.targetVersion)  traffic: \(weights(member))"
            )
        }
        // The hook and alarm lines are the deployment panel's (after its two lines about one alias).
        lines += DeploymentText.panel(machine, alarms: alarms, now: now).dropFirst(2)
        return lines
    }

    static func outcome(_ release: ReleaseGroup) -> String {
        let machine = release.machine
        let elapsed = (machine.completeTime ?? machine.createTime) - (machine.startTime ?? machine.createTime)
        let subject = "Release \(release.name) (\(release.id))"
        switch release.status {
        case .succeeded:
            return
                "\(subject) Succeeded: \(release.members.map { "\($0.label) → \($0.targetVersion)" }.joined(separator: ", ")) (\(DurationText.format(elapsed)))."
        case .failed, .stopped:
            var why = machine.error.map { "\($0.code): \($0.message)" } ?? ""
            if !why.hasSuffix(".") { why += "." }
            let restored =
                machine.rolledBack
                ? " Every member restored to its original version." : " The aliases were left as they are."
            return "\(subject) \(release.status.rawValue) after \(DurationText.format(elapsed)) — \(why)\(restored)"
        default:
            return "\(subject) is \(release.status.rawValue)."
        }
    }
}
