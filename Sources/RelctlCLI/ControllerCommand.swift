import ArgumentParser
import Foundation
import RelctlCore
import RelctlNotify
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

struct ControllerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller", abstract: "The rollout controller.", subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Advance every deployment (and run exec: hooks) until interrupted; several may run at once.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Seconds between ticks (alarms are evaluated on every tick).") var interval: Double = 0.5
        @Flag(name: .customLong("until-idle"), help: "Exit once no deployment or release is active.") var untilIdle =
            false

        func run() async throws {
            if case .postgres = try global.databaseLocation() {
                guard !untilIdle else {
                    throw RelctlError(
                        .invalidParameterValue,
                        "--until-idle is for the SQLite registry; on PostgreSQL the controller leads until interrupted."
                    )
                }
                let store = try await global.postgresStore()!
                return try await runLeadingController(
                    store, interval: interval, pool: try global.runtimeParts(on: store).pool())
            }
            let registry = try global.registry()
            let pool = RuntimePool(store: registry, rollout: RolloutEngine(store: registry))
            let controller = makeController(registry, scope: nil, pool: pool)
            let stop = SignalFlag()
            Output.note(
                "controller: ticking every \(DurationText.format(interval)) on \(global.resolvedDataDirectory.path) (Ctrl-C stops)"
            )
            let untilIdle = untilIdle
            // Webhooks are delivered beside the controller, from their outbox cursors.
            let dispatcher = Task { try await WebhookDispatcher(store: registry).run() }
            defer { dispatcher.cancel() }
            do {
                try await controller.run(
                    interval: interval,
                    shouldStop: {
                        if stop.raised { return true }
                        return untilIdle
                            && ((try? registry.activeDeployments().isEmpty && registry.activeReleases().isEmpty)
                                ?? false)
                    }, afterTick: {})
            } catch {
                await pool.shutdown()
                throw error
            }
            dispatcher.cancel()
            _ = await dispatcher.result
            await pool.shutdown()
        }
    }
}

/// Set by SIGINT/SIGTERM so a loop can finish its tick and exit cleanly.
final class SignalFlag: @unchecked Sendable {
    nonisolated(unsafe) static var raisedFlag: sig_atomic_t = 0
    init() {
        signal(SIGINT) { _ in SignalFlag.raisedFlag = 1 }
        signal(SIGTERM) { _ in SignalFlag.raisedFlag = 1 }
    }
    var raised: Bool { SignalFlag.raisedFlag != 0 }
}
