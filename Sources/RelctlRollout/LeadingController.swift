import Foundation
import RelctlCore
import RelctlStorage

/// What a leading controller reports about itself (`/healthz`, `/metrics`, logs): whether this server
/// leads now and with which epoch. Read from any thread.
public final class LeadershipStatus: @unchecked Sendable {
    private let lock = NSLock()
    private var current: (leading: Bool, epoch: Int64?) = (false, nil)
    private var terms = 0

    public init() {}

    public var leading: Bool { lock.withLock { current.leading } }
    /// The epoch this server leads with (nil: it does not lead).
    public var epoch: Int64? { lock.withLock { current.leading ? current.epoch : nil } }
    /// How many terms this server has led since it started.
    public var termsLed: Int { lock.withLock { terms } }

    func began(_ epoch: Int64) {
        lock.withLock {
            current = (true, epoch)
            terms += 1
        }
    }

    func ended() {
        lock.withLock { current = (false, nil) }
    }
}

/// The controller of one server among several sharing a store (issue 10 §5): it campaigns for
/// leadership every `campaignInterval`; while it leads it runs an ordinary `Controller` (ticks, hook
/// runners, alarm evaluation) over the term's fenced store, and checks before every tick that it still
/// leads. The moment it does not — its session died, a later epoch exists, a fenced write was refused,
/// or a tick failed — it stops its hooks' processes, resigns and campaigns again. Between ticks it
/// waits for the interval or for a wake-up from another server.
///
/// Hooks are claimed in the store with a runner name and heartbeats; a new leader runs a hook the old
/// one had started only once the old runner's heartbeats are `staleAfter` (15 s) old, and a leader that
/// loses its term stops its hook processes before its next tick, so one hook never runs twice at once.
public final class LeadingController: @unchecked Sendable {
    public let leadership: any ControllerLeadership
    public let status = LeadershipStatus()
    let wake: (any ControllerWake)?
    let makeController: @Sendable (RolloutEngine) -> Controller
    let log: @Sendable (String) -> Void

    /// `makeController` builds the term's controller over the engine on its fenced store (the caller
    /// adds what runs function hooks); `log` gets one line per change of leadership or failed tick.
    public init(
        leadership: any ControllerLeadership, wake: (any ControllerWake)? = nil,
        makeController: @escaping @Sendable (RolloutEngine) -> Controller = { Controller(engine: $0) },
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.leadership = leadership
        self.wake = wake
        self.makeController = makeController
        self.log = log
    }

    /// Campaigns and leads until `shouldStop` says so or the task is cancelled; resigns on the way out.
    public func run(
        interval: Double, campaignInterval: Double = 0.5, shouldStop: @escaping @Sendable () -> Bool = { false }
    ) async {
        let stopping: @Sendable () -> Bool = { shouldStop() || Task.isCancelled }
        while !stopping() {
            let term: LeadershipTerm?
            do {
                term = try await leadership.tryAcquire()
            } catch {
                log("controller: cannot campaign for leadership: \(error.message)")
                term = nil
            }
            if let term {
                await lead(term, interval: interval, stopping: stopping)
                status.ended()
                await leadership.resign()
            }
            if stopping() { break }
            try? await Task.sleep(nanoseconds: UInt64(max(0.01, campaignInterval) * 1_000_000_000))
        }
        await leadership.resign()
    }

    /// One term: ticks while the term holds.
    private func lead(_ term: LeadershipTerm, interval: Double, stopping: @Sendable () -> Bool) async {
        status.began(term.epoch)
        log("controller: leading with epoch \(term.epoch) (\(term.holder))")
        let controller = makeController(RolloutEngine(store: term.store))
        defer { controller.hooks.stopAll() }
        while !stopping() {
            guard await leadership.stillLeads(term) else {
                log("controller: lost leadership (epoch \(term.epoch)); campaigning again")
                return
            }
            do {
                try await controller.tick()
            } catch {
                log("controller: stepping down from epoch \(term.epoch): \(error.message)")
                return
            }
            if stopping() { return }
            let wait = controller.hooks.runningCount > 0 ? min(interval, 0.2) : max(0.01, interval)
            if let wake {
                _ = await wake.wait(timeout: wait)
            } else {
                try? await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
            }
        }
    }
}
