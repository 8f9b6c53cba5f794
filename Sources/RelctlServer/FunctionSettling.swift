import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import RelctlCore
import RelctlStore

/// The names of functions created with `--settle` whose `Pending` state has not been settled yet:
/// Invoke reads the registry for them only, so it costs other invocations nothing.
final class FunctionSettling: Sendable {
    private let pending = NIOLockedValueBox<Set<String>>([])
    /// Versions published through the API that are `Pending` until the time given (`function:version`).
    /// Published versions are immutable rows, so the window lives here, as long as this server does.
    private let publishing = NIOLockedValueBox<[String: Date]>([:])

    func insert(_ function: String) { _ = pending.withLockedValue { $0.insert(function) } }
    func remove(_ function: String) { _ = pending.withLockedValue { $0.remove(function) } }
    func contains(_ function: String) -> Bool { pending.withLockedValue { $0.contains(function) } }

    func insertPublishing(_ function: String, version: String, until end: Date) {
        publishing.withLockedValue { $0["\(function):\(version)"] = end }
    }

    /// Whether `function:version` is still Pending at `now` (forgetting windows that are over).
    func isPublishing(_ function: String, version: String, at now: Date) -> Bool {
        publishing.withLockedValue { windows in
            windows = windows.filter { $0.value > now }
            return windows["\(function):\(version)"] != nil
        }
    }
}

extension ServerServices {
    /// The settle time API changes get (nil: answers are final at once).
    var settle: Double? { options.settle > 0 ? options.settle : nil }

    func mayBePending(_ function: String) -> Bool { settle != nil && settling.contains(function) }

    /// After a PublishVersion that answered Pending: the version reads Pending for the settle time.
    func notePublishing(_ configuration: FunctionConfiguration) {
        guard let settle, configuration.State == "Pending" else { return }
        settling.insertPublishing(
            configuration.FunctionName, version: configuration.Version, until: clock().addingTimeInterval(settle))
    }

    /// A version's configuration as read now: Pending while its publish settles.
    func withPublishingState(_ configuration: FunctionConfiguration) -> FunctionConfiguration {
        guard settle != nil, configuration.Version != "$LATEST",
            settling.isPublishing(configuration.FunctionName, version: configuration.Version, at: clock())
        else { return configuration }
        var pending = configuration
        Registry.applyPublishingState(to: &pending)
        return pending
    }

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
