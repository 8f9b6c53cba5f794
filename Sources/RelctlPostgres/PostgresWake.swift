import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import RelctlCore

/// Wake-ups across servers sharing one PostgreSQL database (issue 10 §6), the counterpart of the
/// SQLite engine's `WakeSignal`/`WakeListener` (datagrams in the data directory): whoever changes a
/// deployment sends `NOTIFY relctl_wake`; a controller LISTENs on a dedicated connection and its
/// `wait(timeout:)` returns early. Best effort like the datagrams: polling stays the fallback.
public final class PostgresWakeListener: Sendable {
    public static let channel = "relctl_wake"

    private struct State {
        var pending = false
        var waiter: (id: Int, continuation: CheckedContinuation<Bool, Never>)?
        var nextId = 0
    }

    private let state = NIOLockedValueBox(State())
    private let connection: PostgresConnection
    private let listening = NIOLockedValueBox<Task<Void, Never>?>(nil)

    private init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Connects and LISTENs; returns once notifications are being received.
    public static func start(_ location: PostgresStore.Location) async throws(RelctlError) -> PostgresWakeListener {
        let logger = PostgresStore.quietLogger("relctl.wake")
        let listener: PostgresWakeListener
        do {
            listener = PostgresWakeListener(
                connection: try await PostgresConnection.connect(
                    configuration: try location.connectionConfiguration, id: 2, logger: logger))
        } catch {
            throw PostgresStore.map(error, location: location)
        }
        await withCheckedContinuation { (ready: CheckedContinuation<Void, Never>) in
            let readiness = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(ready)
            let resumeReady: @Sendable () -> Void = {
                readiness.withLockedValue { value in
                    value?.resume(); value = nil
                }
            }
            let task = Task {
                _ = try? await listener.connection.listen(on: channel) { notifications in
                    resumeReady()
                    for try await _ in notifications { listener.signal() }
                }
                resumeReady()  // LISTEN failed or the connection closed: the controller polls.
            }
            listener.listening.withLockedValue { $0 = task }
        }
        return listener
    }

    /// Waits until a notification arrives (true) or `timeout` seconds pass (false). A notification
    /// that came while nobody waited is kept for the next wait. One waiter at a time (one controller).
    public func wait(timeout: Double) async -> Bool {
        await withCheckedContinuation { continuation in
            let id: Int? = state.withLockedValue { state in
                if state.pending {
                    state.pending = false
                    return nil
                }
                state.nextId += 1
                state.waiter = (state.nextId, continuation)
                return state.nextId
            }
            guard let id else { return continuation.resume(returning: true) }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1_000_000_000))
                let expired = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
                    guard let waiter = state.waiter, waiter.id == id else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(returning: false)
            }
        }
    }

    func signal() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: true)
    }

    /// Stops listening and closes the connection.
    public func close() async {
        listening.withLockedValue { $0?.cancel() }
        try? await connection.close()
    }
}

extension PostgresStore {
    /// Wakes every controller listening on this database (`NOTIFY relctl_wake`).
    public func notifyWake() async throws(RelctlError) {
        try await blocking(write: false, startTransaction: false) { db in
            try db.simple("NOTIFY \(PostgresWakeListener.channel)")
        }
    }
}
