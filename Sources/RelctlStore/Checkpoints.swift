import Dispatch
import Foundation
import GRDB
import GRDBSQLite

/// Checkpoints the registry's WAL beside the writer instead of inside one of its commits.
///
/// SQLite's automatic checkpoint runs in the commit that takes the WAL past 1,000 frames: that one
/// commit (an alias move, a batch of a controller tick) then also copies every changed page back
/// into the database file and fsyncs it, which is the long tail of alias-move latency and about a
/// tenth of a busy tick. Here the writer's WAL hook only asks; a passive checkpoint runs on a
/// connection of its own on a background queue. WAL mode lets a checkpoint run while the writer
/// commits and readers read; it never holds the write lock, so no transaction waits for it. The
/// durability of a commit is unchanged (the WAL is fsynced at each commit, `synchronous = FULL`).
final class WALCheckpointer: @unchecked Sendable {
    /// SQLite's own automatic-checkpoint threshold: a background checkpoint is asked for every this many frames.
    static let frameThreshold: Int32 = 1000
    /// Past this many frames the writer checkpoints itself, as SQLite would. A passive checkpoint on
    /// another connection can only restart the WAL from its beginning if it copied every frame before
    /// the writer's next transaction; under back-to-back writes it never does, and the WAL would grow
    /// without end (and every frame appended past the file's end costs the kernel a zeroed page). By
    /// then the background checkpoints have copied all but the last frames, so the writer's own
    /// checkpoint is short, and the WAL restarts within the same 16 MB of file.
    static let writerFrameLimit: Int32 = 4000

    private let path: String
    private let lock = NSLock()
    /// WAL frames when the last checkpoint was asked for (0 after the WAL restarted from its start).
    private var askedAt: Int32 = 0
    /// The WAL's size in frames at the last commit the hook saw.
    private var lastSeen: Int32 = 0
    private var running = false
    private var askedAgain = false
    private var connection: DatabaseQueue?
    private let queue = DispatchQueue(label: "relctl.wal-checkpoint", qos: .utility)
    private var completed = 0
    /// Checkpoints run so far (tests).
    var completedCount: Int { lock.withLock { completed } }

    init(path: String) {
        self.path = path
    }

    /// Replaces SQLite's automatic checkpoint on the writer connection `db` with a request to this
    /// checkpointer. The caller keeps the checkpointer alive as long as the connection (the pool's
    /// configuration holds it).
    func install(on db: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, name, frames in
                guard let context else { return SQLITE_OK }
                let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue()
                if frames >= WALCheckpointer.writerFrameLimit {
                    checkpointer.checkpointInWriter(connection, name)
                } else {
                    checkpointer.committed(frames)
                }
                return SQLITE_OK
            }, context)
    }

    /// The writer's own checkpoint past `writerFrameLimit`. Only one checkpoint runs at a time (SQLite's
    /// checkpoint lock; a second one is refused, whatever its mode): a background one still running is
    /// waited for first, then this one copies the rest, so the next transaction restarts the WAL.
    func checkpointInWriter(_ connection: OpaquePointer?, _ name: UnsafePointer<CChar>?) {
        for _ in 0..<3 {
            settle()
            if sqlite3_wal_checkpoint_v2(connection, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil) != SQLITE_BUSY {
                return
            }
        }
    }

    /// Called by the writer after each commit with the WAL's length in frames: cheap unless a
    /// checkpoint is due.
    private func committed(_ frames: Int32) {
        let start: Bool = lock.withLock {
            if frames < lastSeen { askedAt = 0 }  // the writer restarted the WAL from its beginning
            lastSeen = frames
            guard frames - askedAt >= Self.frameThreshold else { return false }
            askedAt = frames
            if running {
                askedAgain = true
                return false
            }
            running = true
            return true
        }
        if start { queue.async { self.run() } }
    }

    private func run() {
        while true {
            checkpointOnce()
            let again: Bool = lock.withLock {
                completed += 1
                if askedAgain {
                    askedAgain = false
                    return true
                }
                running = false
                return false
            }
            if !again { return }
        }
    }

    /// One passive checkpoint: copies back every frame no reader still needs. Failing is harmless
    /// (the WAL keeps the data; the next request or the last connection's close checkpoints).
    private func checkpointOnce() {
        do {
            if connection == nil {
                var configuration = Configuration()
                configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
                connection = try DatabaseQueue(path: path, configuration: configuration)
            }
            try connection?.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch {
            connection = nil
        }
    }

    /// Waits until no checkpoint is running or asked for (tests).
    func settle() {
        queue.sync {}
        while lock.withLock({ running }) { queue.sync {} }
    }
}
