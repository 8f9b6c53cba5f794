import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import RelctlCore

/// The controller's leadership among servers sharing one PostgreSQL database (issue 10 §5).
///
/// A server leads while its dedicated connection (never a pooled one: a session lock must not go
/// back to a pool) holds the session advisory lock `PostgresStore.leadershipLockKey`. Each acquisition
/// bumps `leadership.epoch`; the leader's store is `store.fenced(epoch:)`, whose every write checks in
/// its own transaction that the epoch is still current. So a former leader — paused, partitioned, its
/// connection dead but its process alive — can never apply a step once another has taken over: the
/// new epoch is committed before the new leader's first step, and the old one's writes see it.
/// PostgreSQL releases the lock when the holder's session ends (the process dies, the connection
/// drops, TCP keepalive gives up), which is what lets another server take over.
public final class LeaderElector: Sendable {
    /// Leadership held: the epoch to fence writes with.
    public struct Leadership: Sendable, Equatable {
        public var epoch: Int64
        public var holder: String
    }

    public let location: PostgresStore.Location
    /// Who leads, as the leadership row and messages show it (e.g. `host:port pid`).
    public let holder: String
    let clock: @Sendable () -> Date
    let logger: Logger
    private let state = NIOLockedValueBox<(connection: PostgresConnection?, leadership: Leadership?)>((nil, nil))

    public init(location: PostgresStore.Location, holder: String, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.location = location
        self.holder = holder
        self.clock = clock
        self.logger = PostgresStore.quietLogger("relctl.leader")
    }

    /// The leadership this elector holds now (nil: none, or its connection has died).
    public var leadership: Leadership? {
        state.withLockedValue { value in
            guard let connection = value.connection, !connection.isClosed else { return nil }
            return value.leadership
        }
    }

    /// One attempt: takes the lock if nobody holds it, bumping the epoch. Nil when another server leads.
    public func tryAcquire() async throws(RelctlError) -> Leadership? {
        if let leadership { return leadership }
        do {
            let connection = try await dedicatedConnection()
            let locked =
                try await connection.query(
                    "SELECT pg_try_advisory_lock(\(PostgresStore.leadershipLockKey))", logger: logger
                )
                .collect().first?.decode(Bool.self) ?? false
            guard locked else { return nil }
            // Waits for any fenced write in flight (it holds the row FOR SHARE), then commits the new epoch.
            let row = try await connection.query(
                """
                UPDATE leadership SET epoch = epoch + 1, holder = \(holder), acquired_at = \(clock().timeIntervalSince1970)
                WHERE id = 1 RETURNING epoch
                """, logger: logger
            ).collect().first
            guard let epoch = try row?.decode(Int64.self) else {
                throw RelctlError(.service, "The leadership row is missing; the PostgreSQL schema is damaged.")
            }
            let leadership = Leadership(epoch: epoch, holder: holder)
            state.withLockedValue { $0.leadership = leadership }
            return leadership
        } catch {
            throw PostgresStore.map(error, location: location)
        }
    }

    /// Tries every `interval` until this elector leads (or the task is cancelled).
    public func campaign(every interval: Duration = .milliseconds(500)) async throws -> Leadership {
        while true {
            if let leadership = try await tryAcquire() { return leadership }
            try await Task.sleep(for: interval)
        }
    }

    /// Whether `epoch` still leads: this elector holds it, its connection is alive and answers within
    /// `timeout`, and the leadership row has no later epoch. False otherwise (the caller stops leading).
    public func confirm(epoch: Int64, timeout: Duration = .seconds(5)) async -> Bool {
        guard
            let connection = state.withLockedValue({ value -> PostgresConnection? in
                guard value.leadership?.epoch == epoch else { return nil }
                return value.connection
            }), !connection.isClosed
        else { return false }
        let logger = logger
        let answer = NIOLockedValueBox<CheckedContinuation<Bool, Never>?>(nil)
        let finish: @Sendable (Bool) -> Void = { value in
            answer.withLockedValue { waiter in
                waiter?.resume(returning: value)
                waiter = nil
            }
        }
        // The query and the deadline race; a connection that hangs (a partition) counts as lost.
        return await withCheckedContinuation { continuation in
            answer.withLockedValue { $0 = continuation }
            Task {
                let current = try? await connection.query("SELECT epoch FROM leadership WHERE id = 1", logger: logger)
                    .collect().first?.decode(Int64.self)
                finish(current == epoch)
            }
            Task {
                try? await Task.sleep(for: timeout)
                finish(false)
            }
        }
    }

    /// Gives leadership up: the connection closes, so the lock goes with its session.
    public func resign() async {
        let connection = state.withLockedValue { value in
            defer { value = (nil, nil) }
            return value.connection
        }
        try? await connection?.close()
    }

    /// The backend process id of the dedicated connection (tests end it with `pg_terminate_backend`).
    public func backendPID() async throws(RelctlError) -> Int32? {
        guard let connection = state.withLockedValue({ $0.connection }), !connection.isClosed else { return nil }
        do {
            return try await connection.query("SELECT pg_backend_pid()", logger: logger).collect().first?.decode(
                Int32.self)
        } catch {
            throw PostgresStore.map(error, location: location)
        }
    }

    private func dedicatedConnection() async throws -> PostgresConnection {
        if let connection = state.withLockedValue({ $0.connection }), !connection.isClosed { return connection }
        let connection = try await PostgresConnection.connect(
            configuration: try location.connectionConfiguration, id: 1, logger: logger)
        state.withLockedValue { $0 = (connection, nil) }
        return connection
    }
}
