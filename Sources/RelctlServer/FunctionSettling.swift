import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import RelctlStore

/// The names of functions created with `--settle` whose `Pending` state has not been settled yet:
/// Invoke reads the registry for them only, so it costs other invocations nothing.
final class FunctionSettling: Sendable {
    private let pending = NIOLockedValueBox<Set<String>>([])

    func insert(_ function: String) { _ = pending.withLockedValue { $0.insert(function) } }
    func remove(_ function: String) { _ = pending.withLockedValue { $0.remove(function) } }
    func contains(_ function: String) -> Bool { pending.withLockedValue { $0.contains(function) } }
}

extension ServerServices {
    /// The settle time API changes get (nil: answers are final at once).
    var settle: Double? { options.settle > 0 ? options.settle : nil }

    func mayBePending(_ function: String) -> Bool { settle != nil && settling.contains(function) }

    /// Settles `function`'s transition once its time has come: the state turns Active/Successful and
    /// `$LATEST`'s RevisionId changes, as on AWS. A transition the timer misses (the server stopped)
    /// settles at the next start, or at the next change made by relctl's CLI.
    func scheduleSettle(_ function: String, registry: Registry, pendingCreate: Bool = false) {
        guard let settle else { return }
        if pendingCreate { settling.insert(function) }
        let (threads, settling, logger) = (storeThreads, settling, logger)
        Task {
            // A few tries: the wake-up may come a hair before the recorded time on the wall clock.
            for attempt in 0..<10 {
                try? await Task.sleep(nanoseconds: UInt64((attempt == 0 ? settle : 0.005) * 1e9))
                do {
                    let settled = try await threads.runIfActive { try registry.settleTransition(function: function) }
                    if settled { break }
                } catch {
                    logger.warning("settling \(function) failed", metadata: ["error": "\(error)"])
                    break
                }
            }
            if pendingCreate { settling.remove(function) }
        }
    }
}
