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
    /// Releases, newest first (`status` nil: any), at most `limit`.
    func releases(status: DeploymentStatus?, limit: Int) throws -> [ReleaseGroup]
    /// The release's decision log after entry `afterId`, oldest first.
    func releaseEvents(id: String, after afterId: Int64) throws -> [DeploymentEventEntry]
}

extension ReleaseTransaction {
    /// A release by id (`r-…`) or by name (the newest of that name).
    public func requireRelease(_ idOrName: String) throws -> ReleaseGroup {
        if let release = try release(id: idOrName) ?? release(named: idOrName) { return release }
        throw ReleaseGroup.notFound(idOrName)
    }
}

extension ReleaseGroup {
    public static func notFound(_ idOrName: String) -> RelctlError {
        RelctlError(
            .resourceNotFound,
            "Release \(idOrName) does not exist (give a release id r-… or a release name; `relctl release list` shows them)."
        )
    }
}
