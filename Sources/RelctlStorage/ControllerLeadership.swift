import Foundation
import RelctlCore

/// One term of the controller's leadership among servers sharing a store (issue 10 §5): the epoch
/// the term was granted with and the store whose writes are fenced by it — every write checks, in
/// its own transaction, that this epoch still leads, so a former leader applies nothing.
public struct LeadershipTerm: Sendable {
    public var epoch: Int64
    /// Who leads, as the leadership record names it (`host:pid`).
    public var holder: String
    /// The fenced store the leader's controller runs on.
    public var store: any RolloutStore

    public init(epoch: Int64, holder: String, store: any RolloutStore) {
        self.epoch = epoch
        self.holder = holder
        self.store = store
    }
}

/// Who may run the controller when several servers share one store (PostgreSQL's `LeaderElector`).
/// `LeadingController` (RelctlRollout) runs on this protocol, so the rollout engine names no database.
public protocol ControllerLeadership: Sendable {
    /// One attempt to lead: the term when this server leads (the same term while it keeps it), nil
    /// when another server does.
    func tryAcquire() async throws(RelctlError) -> LeadershipTerm?
    /// Whether `term` still leads: its session is alive and no later epoch exists. False as soon as
    /// either is not so (or the check cannot be made): the caller stops ticking.
    func stillLeads(_ term: LeadershipTerm) async -> Bool
    /// Gives leadership up (another server can take it at once).
    func resign() async
}

/// Wake-ups from other servers (PostgreSQL's LISTEN/NOTIFY): `wait` returns true early when another
/// server changed a deployment, an alarm or a metric, false when `timeout` seconds passed.
public protocol ControllerWake: Sendable {
    func wait(timeout: Double) async -> Bool
}
