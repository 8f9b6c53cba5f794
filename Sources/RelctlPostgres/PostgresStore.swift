import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import RelctlCore
import RelctlMigrations
import RelctlStorage

/// The registry on PostgreSQL (issue 10 §1): one `PostgresClient` (a connection pool) owned here,
/// the rollout engine's transactions, the registry records. It stores; it does not decide.
///
/// Transactions. A write transaction is `READ COMMITTED` and first takes one transaction-scoped
/// advisory lock (`pg_advisory_xact_lock(writeLockKey)`): writers run one at a time across every
/// server sharing the database, as SQLite's single writer does, so a body reads and writes the latest
/// committed state and runs exactly once — it is never retried, unlike SERIALIZABLE's 40001 retries,
/// which would run the engine's synchronous closure twice. A read is one `REPEATABLE READ READ ONLY`
/// snapshot and takes no lock. Finer locks (per function, per alias) can come later without changing
/// the protocol.
///
/// Threads. `RolloutTransaction` is synchronous (GRDB's shape), so a transaction's body runs on a
/// thread of `blockingPool`, never on an event loop; each statement there waits on postgres-nio's
/// future while the connection's event loop does the I/O.
public final class PostgresStore: Sendable {
    /// Where the database is and who connects: `--database` / `RELCTL_DATABASE` parsed (RelctlCore).
    public typealias Location = PostgresURL

    /// Advisory lock keys (one 64-bit space per database): the writers' lock, the migrator's, the controller's.
    static let writeLockKey: Int64 = 0x72_65_6c_63_74_6c_01  // "relctl" 1
    static let migrationLockKey: Int64 = 0x72_65_6c_63_74_6c_02
    public static let leadershipLockKey: Int64 = 0x72_65_6c_63_74_6c_03

    /// Threads that run transaction bodies (they block on PostgreSQL, never an event loop).
    static let blockingPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    public let location: Location
    public let arn: ArnContext
    public let actor: String
    let clock: @Sendable () -> Date
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger: Logger
    /// When set, every write checks in its own transaction that this is still the leadership epoch
    /// (see `fenced(epoch:)`): a former leader's step fails and applies nothing.
    public let fenceEpoch: Int64?

    private init(
        location: Location, arn: ArnContext, actor: String, clock: @escaping @Sendable () -> Date,
        client: PostgresClient, runner: Task<Void, Never>, logger: Logger, fenceEpoch: Int64?
    ) {
        self.location = location
        self.arn = arn
        self.actor = actor
        self.clock = clock
        self.client = client
        self.runner = runner
        self.logger = logger
        self.fenceEpoch = fenceEpoch
    }

    /// Connects, applies the migrations that are missing, and returns the store. An unreachable
    /// database is one `ServiceException` line naming where it looked. With `applyingMigrations: false`
    /// nothing is written: a database that is not at this relctl's schema is refused instead (a source
    /// that must never change, as `migrate-store --from-database` reads it).
    public static func open(
        _ location: Location, arn: ArnContext = ArnContext(), actor: String,
        clock: @escaping @Sendable () -> Date = { Date() },
        maximumConnections: Int = 20, applyingMigrations: Bool = true
    ) async throws(RelctlError) -> PostgresStore {
        let logger = Self.quietLogger("relctl.postgres")
        var configuration = location.clientConfiguration
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        // One direct connection first: an unreachable database fails at once (the pool would keep retrying),
        // and the migrations run on it.
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try location.connectionConfiguration, id: 0, logger: logger)
            do {
                try await blockingPool.runIfActive {
                    let blocking = BlockingConnection(connection: connection, logger: logger)
                    if applyingMigrations {
                        try migrate(blocking)
                    } else {
                        try requireCurrentSchema(blocking, location: location)
                    }
                }
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch {
            throw map(error, location: location)
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        return PostgresStore(
            location: location, arn: arn, actor: actor, clock: clock, client: client, runner: runner,
            logger: logger, fenceEpoch: nil)
    }

    /// postgres-nio logs connection trouble in the background; relctl reports errors where they matter.
    static func quietLogger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        return logger
    }

    /// The same store (same pool) whose writes are fenced by a leadership epoch.
    public func fenced(epoch: Int64) -> PostgresStore {
        PostgresStore(
            location: location, arn: arn, actor: actor, clock: clock, client: client, runner: runner, logger: logger,
            fenceEpoch: epoch)
    }

    /// The same store (same pool) with unfenced writes.
    var unfenced: PostgresStore {
        fenceEpoch == nil
            ? self
            : PostgresStore(
                location: location, arn: arn, actor: actor, clock: clock, client: client, runner: runner,
                logger: logger, fenceEpoch: nil)
    }

    /// The same store (same pool) recording another actor.
    public func acting(as actor: String, clock: (@Sendable () -> Date)? = nil) -> PostgresStore {
        PostgresStore(
            location: location, arn: arn, actor: actor, clock: clock ?? self.clock, client: client, runner: runner,
            logger: logger, fenceEpoch: fenceEpoch)
    }

    /// The same store (same pool) answering in another region and recording another actor (one per API request).
    public func scoped(region: String, actor: String) -> PostgresStore {
        PostgresStore(
            location: location, arn: ArnContext(region: region, account: arn.account), actor: actor, clock: clock,
            client: client, runner: runner, logger: logger, fenceEpoch: fenceEpoch)
    }

    /// The same store (same pool) answering in other ARNs (the database's own settings: `answeringInStoredSettings`).
    public func scoped(arn: ArnContext) -> PostgresStore {
        PostgresStore(
            location: location, arn: arn, actor: actor, clock: clock, client: client, runner: runner, logger: logger,
            fenceEpoch: fenceEpoch)
    }

    /// Stops the pool (its connections close); the store cannot be used afterwards.
    public func close() {
        runner.cancel()
    }

    // MARK: - Migrations

    /// Applies `PostgresMigrations.all` that are missing, in order, in one transaction under an
    /// advisory lock, so two servers starting together apply each file once.
    static func migrate(_ connection: BlockingConnection) throws {
        try connection.simple("BEGIN")
        do {
            try connection.execute("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))")
            try connection.simple(
                """
                CREATE TABLE IF NOT EXISTS relctl_migrations (identifier TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """)
            let applied = Set(try appliedIdentifiers(connection))
            for migration in PostgresMigrations.all where !applied.contains(migration.identifier) {
                try connection.simple(migration.sql)
                try connection.execute("INSERT INTO relctl_migrations (identifier) VALUES (\(migration.identifier))")
            }
            try connection.simple("COMMIT")
        } catch {
            try? connection.simple("ROLLBACK")
            throw error
        }
    }

    /// Refuses, reading only, a database without every one of this relctl's migrations (or with one it does not know).
    static func requireCurrentSchema(_ connection: BlockingConnection, location: Location) throws {
        let hasTable =
            try connection.rows("SELECT to_regclass('relctl_migrations') IS NOT NULL").first?.decode(Bool.self) ?? false
        switch SchemaSteps(
            applied: hasTable ? try appliedIdentifiers(connection) : [],
            known: PostgresMigrations.all.map(\.identifier))
        {
        case .current:
            return
        case .unknown(let step):
            throw RelctlError(
                .invalidParameterValue,
                "The database \(location.description) has the schema step \(step), which this relctl does not know: use the relctl that wrote it."
            )
        case .behind(let applied, let known):
            throw RelctlError(
                .invalidParameterValue,
                "The database \(location.description) is not a relctl registry at this relctl's schema (\(applied) of \(known) steps applied); it was left as it is."
            )
        }
    }

    /// The identifiers in `relctl_migrations`, oldest first.
    static func appliedIdentifiers(_ connection: BlockingConnection) throws -> [String] {
        try connection.rows("SELECT identifier FROM relctl_migrations ORDER BY identifier").map {
            try $0.decode(String.self)
        }
    }

    /// Applied migration identifiers, oldest first.
    public func appliedMigrations() async throws(RelctlError) -> [String] {
        try await blocking(write: false) { connection in try Self.appliedIdentifiers(connection) }
    }

    // MARK: - Transactions

    /// Runs `body` on a blocking thread with a pooled connection, inside a transaction unless told not to.
    func blocking<T: Sendable>(
        write: Bool, startTransaction: Bool = true, _ body: @escaping @Sendable (BlockingConnection) throws -> T
    ) async throws(RelctlError) -> T {
        let fenceEpoch = fenceEpoch
        let logger = logger
        do {
            return try await client.withConnection { connection in
                try await Self.blockingPool.runIfActive {
                    let blocking = BlockingConnection(connection: connection, logger: logger)
                    guard startTransaction else { return try body(blocking) }
                    try blocking.simple(
                        write
                            ? "BEGIN ISOLATION LEVEL READ COMMITTED" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                    )
                    do {
                        if write {
                            try blocking.execute("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))")
                            if let fenceEpoch { try Self.requireEpoch(fenceEpoch, blocking) }
                        }
                        let value = try body(blocking)
                        try blocking.simple("COMMIT")
                        return value
                    } catch {
                        try? blocking.simple("ROLLBACK")
                        throw error
                    }
                }
            }
        } catch {
            throw Self.map(error, location: location)
        }
    }

    /// The fence: the leadership row is read `FOR SHARE`, so an elector's epoch bump waits for this
    /// transaction to end — a step either commits before a new leader's epoch exists, or fails.
    static func requireEpoch(_ epoch: Int64, _ connection: BlockingConnection) throws {
        guard
            let current = try connection.rows("SELECT epoch FROM leadership WHERE id = 1 FOR SHARE").first?.decode(
                Int64.self)
        else {
            throw RelctlError(.service, "The leadership row is missing; the PostgreSQL schema is damaged.")
        }
        guard current == epoch else {
            throw RelctlError(
                .preconditionFailed,
                "This server's controller leadership (epoch \(epoch)) is stale: epoch \(current) leads now, so the step was not applied."
            )
        }
    }

    static func map(_ error: any Error, location: Location) -> RelctlError {
        if let error = error as? RelctlError { return error }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return RelctlError(.service, "PostgreSQL at \(location.description): \(message)\(state)")
            }
            return RelctlError(.service, "Cannot use PostgreSQL at \(location.description): \(error.code.description)")
        }
        if error is CancellationError { return RelctlError(.service, "The PostgreSQL store is closed.") }
        return RelctlError(.service, "PostgreSQL at \(location.description): \(error)")
    }
}

/// A pooled connection seen from a blocking thread: each call waits for its statement's result.
struct BlockingConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// One statement with binds (the extended protocol): its rows.
    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        Array(try connection.query(query, logger: logger).wait())
    }

    /// One statement with binds: how many rows it changed.
    @discardableResult
    func execute(_ query: PostgresQuery) throws -> Int {
        try connection.query(query, logger: logger).wait().metadata.rows ?? 0
    }

    /// Statements without binds, one after the other (a migration file's several statements:
    /// postgres-nio prepares each query, and a prepared statement holds one command).
    func simple(_ sql: String) throws {
        for statement in Self.statements(sql) {
            _ = try connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).wait()
        }
    }

    /// `sql` cut at its top-level semicolons: not inside quotes, `$$` bodies or `--` comments.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var quote: Character?  // ' or "
        var inDollarBody = false
        var inComment = false
        var previous: Character = " "
        for character in sql {
            defer { previous = character }
            if inComment {
                if character == "\n" { inComment = false }
                current.append(character)
                continue
            }
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "$" && previous == "$" {
                inDollarBody.toggle()
            } else if !inDollarBody {
                if character == "'" || character == "\"" { quote = character }
                if character == "-" && previous == "-" { inComment = true }
                if character == ";" {
                    let text = current.trimmingCharacters(in: .whitespacesAndNewlines)
                    if !Self.isOnlyComments(text) { statements.append(text) }
                    current = ""
                    continue
                }
            }
            current.append(character)
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !Self.isOnlyComments(rest) { statements.append(rest) }
        return statements
    }

    static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy {
            $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.trimmingCharacters(in: .whitespaces).hasPrefix("--")
        }
    }
}

extension PostgresURL {
    /// TLS as libpq's sslmode asks (nil: none): `prefer`/`allow` try it and go on without when the server
    /// offers none; `require` insists without checking the certificate; `verify-ca`/`verify-full` check it.
    var tls: (configuration: TLSConfiguration, required: Bool)? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable: return nil
        case .allow, .prefer, .require:
            configuration.certificateVerification = .none
            return (configuration, sslMode == .require)
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return (configuration, true)
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            return (configuration, true)
        }
    }

    var clientConfiguration: PostgresClient.Configuration {
        switch endpoint {
        case .tcp(let host, let port):
            let mode: PostgresClient.Configuration.TLS =
                tls.map { $0.required ? .require($0.configuration) : .prefer($0.configuration) } ?? .disable
            return PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: mode)
        case .unixSocket(let path):
            return PostgresClient.Configuration(
                unixSocketPath: path, username: username, password: password, database: database)
        }
    }

    /// A dedicated connection's configuration (the leader's); throws when the TLS settings cannot make a context.
    var connectionConfiguration: PostgresConnection.Configuration {
        get throws {
            switch endpoint {
            case .tcp(let host, let port):
                var mode = PostgresConnection.Configuration.TLS.disable
                if let tls {
                    let context = try NIOSSLContext(configuration: tls.configuration)
                    mode = tls.required ? .require(context) : .prefer(context)
                }
                return PostgresConnection.Configuration(
                    host: host, port: port, username: username, password: password, database: database, tls: mode)
            case .unixSocket(let path):
                return PostgresConnection.Configuration(
                    unixSocketPath: path, username: username, password: password, database: database)
            }
        }
    }
}
