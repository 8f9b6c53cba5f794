import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import RelctlCore

/// Wake-ups across servers sharing one PostgreSQL database (issue 10 §6), the counterpart of the
/// SQLite engine's `WakeSignal`/`WakeListener` (datagrams in the data directory): whoever changes a
/// deployment sends `NOTIFY relctl_wake`; a controller LISTENs on a dedicated connection and its
/// `wait(timeout:)` returns early. Best effort like the datagrams: polling stays the fallback.
///
/// A listening connection that ends (a restarted database, a killed backend, a network cut) is
/// opened again every `retryInterval` until it answers; the reconnection itself wakes the waiter
/// once, since notifications sent while it was down are lost.
public final class PostgresWakeListener: Sendable {
    public static let channel = "relctl_wake"

    private struct State {
        var pending = false
        var waiter: (id: Int, continuation: CheckedContinuation<Bool, Never>)?
        var nextId = 0
    }

    private let state = NIOLockedValueBox(State())
    private let location: PostgresStore.Location
    private let retryInterval: Duration
    /// The connection LISTENing now (nil while reconnecting), and how many times it was opened.
    private let current = NIOLockedValueBox<(connection: PostgresConnection?, opened: Int)>((nil, 0))
    private let listening = NIOLockedValueBox<Task<Void, Never>?>(nil)

    private init(location: PostgresStore.Location, retryInterval: Duration) {
        self.location = location
        self.retryInterval = retryInterval
    }

    /// Connects and LISTENs; returns once notifications are being received. Only this first
    /// connection's failure is an error (one line); later ones are retried.
    public static func start(
        _ location: PostgresStore.Location, retryInterval: Duration = .seconds(1)
    ) async throws(RelctlError) -> PostgresWakeListener {
        let listener = PostgresWakeListener(location: location, retryInterval: retryInterval)
        let first: PostgresConnection
        do {
            first = try await listener.connect()
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
            let task = Task { await listener.listen(from: first, ready: resumeReady) }
            listener.listening.withLockedValue { $0 = task }
        }
        return listener
    }

    /// How many times the listening connection was opened (1 until it had to reconnect).
    public var connectionsOpened: Int { current.withLockedValue { $0.opened } }

    /// The backend process id of the listening connection (tests end it with `pg_terminate_backend`).
    public func backendPID() async throws -> Int32? {
        guard let connection = current.withLockedValue({ $0.connection }), !connection.isClosed else { return nil }
        return try await connection.query("SELECT pg_backend_pid()", logger: connection.logger).collect().first?
            .decode(Int32.self)
    }

    private func connect() async throws -> PostgresConnection {
        let connection = try await PostgresConnection.connect(
            configuration: try location.connectionConfiguration, id: 2,
            logger: PostgresStore.quietLogger("relctl.wake"))
        current.withLockedValue { $0 = (connection, $0.opened + 1) }
        return connection
    }

    /// LISTENs on `first`, and on a new connection each time the last one ends, until cancelled.
    private func listen(from first: PostgresConnection, ready: @escaping @Sendable () -> Void) async {
        var connection: PostgresConnection? = first
        while !Task.isCancelled {
            if let listening = connection {
                _ = try? await listening.listen(on: Self.channel) { notifications in
                    ready()
                    for try await _ in notifications { self.signal() }
                }
                ready()  // LISTEN failed or the connection closed: the controller polls meanwhile.
                current.withLockedValue { $0.connection = nil }
                try? await listening.close()
                if Task.isCancelled { break }
                signal()  // what was sent while it was down is lost: let the controller look once.
            }
            try? await Task.sleep(for: retryInterval)
            connection = try? await connect()
        }
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
        let task = listening.withLockedValue { $0 }
        task?.cancel()
        try? await current.withLockedValue({ $0.connection })?.close()
        await task?.value
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
