import Foundation
import RelctlCore
import RelctlStorage

/// The controller's leadership on PostgreSQL as `LeadingController` (RelctlRollout) sees it: a term is
/// a `LeaderElector` epoch, and its store is this store fenced by that epoch, recording the epoch in
/// its actor (so every alias move and event names the term that applied it).
public final class PostgresLeadership: ControllerLeadership {
    public let store: PostgresStore
    public let elector: LeaderElector

    /// `holder` is what the leadership row shows (`host:pid` by default: a test finds the leader's process by it).
    public init(store: PostgresStore, holder: String) {
        self.store = store
        self.elector = LeaderElector(location: store.location, holder: holder, clock: store.clock)
    }

    public func tryAcquire() async throws(RelctlError) -> LeadershipTerm? {
        guard let leadership = try await elector.tryAcquire() else { return nil }
        return LeadershipTerm(
            epoch: leadership.epoch, holder: leadership.holder,
            store: store.fenced(epoch: leadership.epoch).acting(as: Self.actor(store.actor, epoch: leadership.epoch)))
    }

    public func stillLeads(_ term: LeadershipTerm) async -> Bool {
        await elector.confirm(epoch: term.epoch)
    }

    public func resign() async {
        await elector.resign()
    }

    /// `relctl controller (leader epoch 3)`: the actor of the steps a term applies.
    public static func actor(_ actor: String, epoch: Int64) -> String {
        "\(actor) (leader epoch \(epoch))"
    }
}

extension PostgresWakeListener: ControllerWake {}
