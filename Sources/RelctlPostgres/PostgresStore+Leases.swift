import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

/// Reserved concurrency across the servers sharing this database: a lease row per invocation in flight
/// (`concurrency_leases`, migration 0007). Admission counts the function's unexpired leases and inserts
/// one in the same transaction, under a transaction-scoped advisory lock on the function's name, so two
/// servers admitting at once are serialised: never more than `limit` leases are live.
public struct PostgresConcurrencyLeases: ConcurrencyLeases {
    public let store: PostgresStore
    /// Who holds the leases (this server: `host:pid`), for an operator reading the table.
    public let holder: String

    public init(store: PostgresStore, holder: String) {
        self.store = store
        self.holder = holder
    }

    public func acquire(
        function: String, limit: Int, seconds: Double
    ) async throws(RelctlError) -> ConcurrencyLease? {
        guard limit > 0 else { return nil }
        let holder = holder
        let now = store.clock().timeIntervalSince1970
        // Its own READ COMMITTED transaction: not the registry's write lock (admissions of different
        // functions, and registry writes, do not wait for each other).
        return try await store.blocking(write: false, startTransaction: false) { db in
            try db.simple("BEGIN ISOLATION LEVEL READ COMMITTED")
            do {
                try db.execute("SELECT pg_advisory_xact_lock(\(Self.lockSpace), hashtext(\(function)))")
                let live =
                    try db.rows(
                        """
                        SELECT count(*) FROM concurrency_leases WHERE function_name = \(function) AND expires_at > \(now)
                        """
                    ).first?.decode(Int.self) ?? 0
                guard live < limit else {
                    try db.simple("COMMIT")
                    return nil
                }
                // Expired leases of this function go while the lock is held (a dead server's leftovers).
                _ = try db.execute(
                    "DELETE FROM concurrency_leases WHERE function_name = \(function) AND expires_at <= \(now)")
                let id = try db.rows(
                    """
                    INSERT INTO concurrency_leases (function_name, holder, acquired_at, expires_at)
                    VALUES (\(function), \(holder), \(now), \(now + seconds)) RETURNING id
                    """
                ).first?.decode(Int64.self)
                try db.simple("COMMIT")
                return id.map { ConcurrencyLease(id: $0, function: function) }
            } catch {
                try? db.simple("ROLLBACK")
                throw error
            }
        }
    }

    public func release(_ lease: ConcurrencyLease) async {
        _ = try? await store.blocking(write: false, startTransaction: false) { db in
            try db.execute("DELETE FROM concurrency_leases WHERE id = \(lease.id)")
        }
    }

    /// The first key of the two-key advisory locks on function names (distinct from the store's own locks).
    static let lockSpace: Int32 = 0x7265_6C63  // "relc"

    /// Leases live now, by function (tests and `/metrics`).
    public func liveLeases() async throws(RelctlError) -> [String: Int] {
        let now = store.clock().timeIntervalSince1970
        return try await store.blocking(write: false) { db in
            Dictionary(
                uniqueKeysWithValues: try db.rows(
                    """
                    SELECT function_name, count(*) FROM concurrency_leases WHERE expires_at > \(now)
                    GROUP BY function_name
                    """
                ).map { try $0.decode((String, Int).self) })
        }
    }
}
