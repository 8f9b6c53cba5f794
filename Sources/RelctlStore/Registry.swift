import Foundation
import GRDB
import RelctlCore
import RelctlMigrations
import RelctlPackages
import RelctlStorage

/// The registry: the one owner of the SQLite database and the blob store of a data directory.
/// Every public method that changes something is one write transaction.
public final class Registry: Sendable {
    public let dataDirectory: URL
    public let blobs: BlobStore
    /// The bucket code also goes to (`--code-store s3://…`), nil for the data directory alone. Every
    /// package is uploaded and checked there before the row naming it commits; `blobs` stays this
    /// machine's copy. Objects whose rows go are left to `gc` and its age guard (see `write(staging:)`).
    public let remoteCode: (any CodeObjectStore)?
    let pool: DatabasePool
    let clock: @Sendable () -> Date
    /// Who is recorded in the audit log for mutations made through this instance.
    public let actor: String
    public let arn: ArnContext
    /// Decoded deployment states by id, reused while the stored JSON is unchanged: an idle
    /// controller tick then costs a read, not thousands of JSON decodes.
    let deploymentCache: DecodedDeploymentCache
    let activeList: ActiveDeploymentList
    let alarmCache: DecodedAlarmCache
    /// Copies the WAL back into the database file in the background (see `WALCheckpointer`).
    let checkpointer: WALCheckpointer

    /// Opens (creating and migrating if needed) the registry in `dataDirectory`.
    public init(
        dataDirectory: URL, actor: String = Registry.defaultActor(),
        clock: @escaping @Sendable () -> Date = { Date() }, accountOverride: String? = nil,
        remoteCode: (any CodeObjectStore)? = nil
    ) throws(RelctlError) {
        self.dataDirectory = dataDirectory
        self.blobs = BlobStore(dataDirectory: dataDirectory)
        self.remoteCode = remoteCode
        self.clock = clock
        self.actor = actor
        try FileSystem.createDirectory(dataDirectory)
        try FileSystem.createDirectory(blobs.root)
        let path = dataDirectory.appendingPathComponent("registry.sqlite").path
        let checkpointer = WALCheckpointer(path: path)
        self.checkpointer = checkpointer
        var configuration = Configuration()
        configuration.busyMode = .timeout(60)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // A command that reported success survives a power cut.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            if !db.configuration.readonly {
                // The writer keeps up to 32 MiB of pages (SQLite's default is 2 MiB): a tick that steps
                // thousands of deployments otherwise re-reads their rows and indexes from the file.
                try db.execute(sql: "PRAGMA cache_size = -32768")
                // Checkpoints run beside the writer, not inside one of its commits.
                checkpointer.install(on: db)
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Registry.migrator.migrate(pool)
            let stored = try pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'account-id'")
            }
            let regionSetting = try pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'region'")
            }
            let environmentAccount = ProcessInfo.processInfo.environment["RELCTL_ACCOUNT_ID"].flatMap {
                $0.isEmpty ? nil : $0
            }
            arn = ArnContext(
                region: regionSetting ?? ArnContext.defaultRegion,
                account: accountOverride ?? environmentAccount ?? stored ?? ArnContext.defaultAccount)
            deploymentCache = DecodedDeploymentCache()
            activeList = ActiveDeploymentList()
            alarmCache = DecodedAlarmCache()
        } catch {
            throw Registry.map(error)
        }
    }

    /// The same registry (same database, same files) answering in another region or recording
    /// another actor: the server makes one per request from the SigV4 scope and the access key.
    /// `account`: `relctl serve --database` answers in the shared database's account.
    public func scoped(region: String? = nil, account: String? = nil, actor: String? = nil) -> Registry {
        Registry(
            sharing: self, arn: ArnContext(region: region ?? arn.region, account: account ?? arn.account),
            actor: actor ?? self.actor)
    }

    private init(sharing other: Registry, arn: ArnContext, actor: String) {
        dataDirectory = other.dataDirectory
        blobs = other.blobs
        remoteCode = other.remoteCode
        pool = other.pool
        clock = other.clock
        self.actor = actor
        self.arn = arn
        deploymentCache = other.deploymentCache
        activeList = other.activeList
        alarmCache = other.alarmCache
        checkpointer = other.checkpointer
    }

    /// Sets `account-id` (in every ARN), `region` (the CLI's ARNs; the server answers in the signed
    /// region) or `sandbox` (`auto`, `on`, `off`: how function instances are isolated).
    public func setSetting(_ key: String, _ value: String) throws(RelctlError) {
        try SettingRules.validate(key, value)
        try write { db, _ in
            let before = try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
            try db.execute(
                sql:
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, value])
            try audit(
                db, "SetSetting", function: nil, resource: "setting:\(key)", before: before.map { [key: $0] },
                after: [key: value])
        }
    }

    public static let sandboxKey = "sandbox"

    /// A setting's stored value (nil: never set).
    public func setting(_ key: String) throws(RelctlError) -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]) }
    }

    public static func defaultActor() -> String {
        let env = ProcessInfo.processInfo.environment
        if let actor = env["RELCTL_ACTOR"], !actor.isEmpty { return actor }
        return "cli:\(env["USER"] ?? "unknown")@\(ProcessInfo.processInfo.hostName)"
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in Migrations.all {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// Applied migration identifiers, oldest first.
    public func appliedMigrations() throws(RelctlError) -> [String] {
        try read { db in try Registry.migrator.appliedIdentifiers(db).sorted() }
    }

    // MARK: - Transactions

    func read<T>(_ body: (Database) throws -> T) throws(RelctlError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Registry.map(error)
        }
    }

    /// A read whose answer is one SELECT (a GetAlias): SQLite runs a lone statement on one snapshot
    /// of its own, so the BEGIN and COMMIT of `read` (a tenth of the read's cost) are left out. A
    /// second statement (the error path's "does the function exist?") sees the same or a later state.
    func readOneStatement<T>(_ body: (Database) throws -> T) throws(RelctlError) -> T {
        do {
            return try pool.unsafeRead(body)
        } catch {
            throw Registry.map(error)
        }
    }

    /// One write transaction. Blobs whose last reference went away are removed after it commits.
    func write<T>(_ body: (Database, inout WriteEffects) throws -> T) throws(RelctlError) -> T {
        var effects = WriteEffects()
        let result: T
        do {
            result = try pool.write { db in
                effects = WriteEffects()
                return try body(db, &effects)
            }
        } catch {
            throw Registry.map(error)
        }
        removeReleasedBlobs(effects.releasedBlobs)
        return result
    }

    /// Writes with code: stages the blob outside the transaction (the slow part), installs it
    /// inside, and discards the temporary file if the transaction fails. With a bucket, the staged
    /// file is uploaded and checked before the transaction starts — also when the hash is stored
    /// already, so the object's LastModified is fresh and gc's age guard covers this write until
    /// its row commits. (Deleting a released object at once could race a publisher of the same
    /// bytes whose upload landed just before; gc's age guard cannot.) A package `uploadAhead` put in
    /// the bucket is not uploaded again: the server's async callers upload that way, and only
    /// synchronous callers (the CLI) wait here for the upload, off the cooperative pool.
    func write<T>(
        staging package: InspectedPackage?, _ body: (Database, inout WriteEffects, StagedBlob?) throws -> T
    ) throws(RelctlError) -> T {
        let staged = try package.map { p throws(RelctlError) in try blobs.stage(p) }
        if let staged, let remoteCode, package?.uploadedAhead != true {
            do {
                try OffPoolWait.run { () async throws(RelctlError) in
                    try await remoteCode.put(staged.sha256Hex, size: staged.size, from: staged.temporaryURL)
                }
            } catch {
                blobs.discard(staged)
                throw error
            }
        }
        do {
            return try write { db, effects in try body(db, &effects, staged) }
        } catch {
            if let staged { blobs.discard(staged) }
            throw error
        }
    }

    /// With a bucket, uploads a package staged by `BlobStore.inspectAndStage` from its prestaged file, for an async
    /// caller (the server) to await before the write that records it: that write then does not upload it again,
    /// which from synchronous code means waiting for the upload on the calling thread. Without a bucket, or for a
    /// package with no prestaged file, the package is returned as it is and the write uploads it.
    public func uploadAhead(_ package: InspectedPackage) async throws(RelctlError) -> InspectedPackage {
        guard let remoteCode, let prestaged = package.prestaged else { return package }
        try await remoteCode.put(package.sha256Hex, size: package.size, from: prestaged.url)
        var uploaded = package
        uploaded.uploadedAhead = true
        return uploaded
    }

    /// Removes the files of blobs whose rows a committed transaction deleted. Each check and unlink
    /// happens holding the write lock, so a writer that reinstalls the same hash (its rename also
    /// happens under the lock) is never undone. A crash here leaves an orphan file for `gc`.
    private func removeReleasedBlobs(_ hashes: Set<String>) {
        guard !hashes.isEmpty else { return }
        try? pool.write { db in
            for hash in hashes where try !BlobRecord.exists(db, key: hash) {
                blobs.remove(hash)
            }
        }
    }

    static func map(_ error: any Error) -> RelctlError {
        if let error = error as? RelctlError { return error }
        if let error = error as? DatabaseError {
            if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                return RelctlError(
                    .tooManyRequests, "The registry is busy (another relctl holds the write lock); try again.")
            }
            return RelctlError(.service, "Registry database error: \(error.message ?? error.description)")
        }
        return RelctlError(.service, "\(error)")
    }

    var now: String { LambdaTimestamp.string(from: clock()) }

    static func newRevisionId() -> String { LowercaseUUID.make() }
}

/// What a write transaction leaves for after its commit.
struct WriteEffects {
    var releasedBlobs: Set<String> = []
}
