import Foundation
import RelctlCore

/// What the rollout engine reads and writes of release groups inside one transaction (part of
/// every `RolloutTransaction`). Each method runs in the caller's transaction.
public protocol ReleaseTransaction {
    /// Created, InProgress or Paused releases, oldest first.
    func activeReleases() throws -> [ReleaseGroup]
    func release(id: String) throws -> ReleaseGroup?
    /// The newest release called `name`.
    func release(named name: String) throws -> ReleaseGroup?
    /// The active release that has `function:alias` as a member.
    func activeRelease(function: String, alias: String) throws -> ReleaseGroup?
    func insertRelease(_ release: ReleaseGroup) throws
    /// Saves the release's state and its members' weights (and frees its aliases once it has ended).
    func updateRelease(_ release: ReleaseGroup) throws
    /// Appends to the release's decision log and to the event log (one event per member).
    func appendReleaseEvents(_ events: [DeploymentEvent], to release: ReleaseGroup) throws
}
