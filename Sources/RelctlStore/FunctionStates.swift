import Foundation
import GRDB
import RelctlCore

/// A function between an API change and its settling: AWS's `Pending` after CreateFunction,
/// `LastUpdateStatus: InProgress` after an update.
struct FunctionTransitionRecord: SnakeCaseRecord {
    static let databaseTableName = "function_transitions"
    var functionName: String
    var kind: String
    /// Seconds since 1970.
    var settlesAt: Double
}

extension Registry {
    static let creatingReason = "The function is being created."

    /// Finishes the transition of `function` if it is due (or at once with `force`): the row goes and
    /// `$LATEST` gets a new RevisionId, as AWS's does at Pending→Active and InProgress→Successful.
    /// Returns whether a transition settled.
    @discardableResult
    public func settleTransition(function: String, force: Bool = false) throws(RelctlError) -> Bool {
        let now = clock().timeIntervalSince1970
        return try write { db, _ in
            guard let transition = try FunctionTransitionRecord.fetchOne(db, key: function),
                force || transition.settlesAt <= now + 0.001
            else { return false }
            try finish(db, transition)
            return true
        }
    }

    /// Settles every transition left behind (by a server that stopped before its timers fired).
    @discardableResult
    public func settleAllTransitions() throws(RelctlError) -> Int {
        try write { db, _ in
            let transitions = try FunctionTransitionRecord.fetchAll(db)
            for transition in transitions { try finish(db, transition) }
            return transitions.count
        }
    }

    func finish(_ db: Database, _ transition: FunctionTransitionRecord) throws {
        try transition.delete(db)
        guard var latest = try version(db, transition.functionName, AliasTarget.latestVersionNumber) else { return }
        latest.revisionId = Registry.newRevisionId()
        try latest.update(db, columns: ["revision_id"])
    }

    /// Before a change to `function`: with `settle` (an API caller that sees AWS's states), a change
    /// still settling is a ResourceConflictException in AWS's words; without it (relctl's own CLI, the
    /// engine), the transition is finished first, so they never wait on it.
    func requireSettled(_ db: Database, _ function: String, settle: Double?) throws {
        guard let transition = try FunctionTransitionRecord.fetchOne(db, key: function) else { return }
        if settle != nil, transition.settlesAt > clock().timeIntervalSince1970 {
            throw Self.transitionConflict(transition.kind, functionArn: arn.functionArn(function))
        }
        try finish(db, transition)
    }

    static func transitionConflict(_ kind: String, functionArn: String) -> RelctlError {
        RelctlError(
            .resourceConflict,
            kind == "create"
                ? "The operation cannot be performed at this time. The function is currently in the following state: Pending"
                : "The operation cannot be performed at this time. An update is in progress for resource: \(functionArn)"
        )
    }

    /// After a change through the API with `settle` seconds (nil or 0: settled at once).
    func beginTransition(_ db: Database, _ function: String, kind: String, settle: Double?) throws {
        guard let settle, settle > 0 else { return }
        try FunctionTransitionRecord(
            functionName: function, kind: kind, settlesAt: clock().timeIntervalSince1970 + settle
        ).save(db)
    }

    /// The state fields of `$LATEST` as AWS reports them during and after a transition.
    func applyState(_ db: Database, to configuration: inout FunctionConfiguration) throws {
        let transition = try FunctionTransitionRecord.fetchOne(db, key: configuration.FunctionName)
        Self.applyState(transition?.kind, to: &configuration)
    }

    static func applyState(_ kind: String?, to configuration: inout FunctionConfiguration) {
        configuration.State = kind == "create" ? "Pending" : "Active"
        configuration.StateReason = kind == "create" ? creatingReason : nil
        configuration.StateReasonCode = kind == "create" ? "Creating" : nil
        configuration.LastUpdateStatus = kind == nil ? "Successful" : kind == "update" ? "InProgress" : nil
        configuration.LastUpdateStatusReason = kind == "update" ? creatingReason : nil
        configuration.LastUpdateStatusReasonCode = kind == "update" ? "Creating" : nil
    }

    /// A version just published, as AWS answers it until it turns Active: `Pending`, `Creating`, and no
    /// LastUpdateStatus (a version has none then). The server keeps the window (FunctionSettling).
    public static func applyPublishingState(to configuration: inout FunctionConfiguration) {
        configuration.State = "Pending"
        configuration.StateReason = creatingReason
        configuration.StateReasonCode = "Creating"
        configuration.LastUpdateStatus = nil
        configuration.LastUpdateStatusReason = nil
        configuration.LastUpdateStatusReasonCode = nil
    }

    /// Whether `function` is still being created (Invoke is refused then, as on AWS).
    public func isPending(_ function: String) throws(RelctlError) -> Bool {
        try read { db in try FunctionTransitionRecord.fetchOne(db, key: function)?.kind == "create" }
    }
}
