import Foundation
import GRDB
import RelctlCore
import Testing

@testable import RelctlStore

@Suite("The registry's WAL is checkpointed beside the writer, not inside its commits")
struct CheckpointTests {
    /// `orders` with versions 1 and 2 and `live` on version 1: every move of `live` is a small write.
    static func ordersWithAnAlias() throws -> Sandbox {
        let sandbox = try Sandbox()
        try sandbox.create("orders", try sandbox.code("one"), publish: true)
        try sandbox.publishNewCode("orders", "two")
        _ = try sandbox.registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        return sandbox
    }

    @Test func aBusyWriterHandsCheckpointsToTheBackgroundAndTheDatabaseFileCatchesUp() throws {
        let sandbox = try Self.ordersWithAnAlias()
        let registry = sandbox.registry
        #expect(registry.checkpointer.completedCount == 0)
        // Each move writes a few pages; SQLite's threshold is 1,000 WAL frames.
        var moves = 0
        while registry.checkpointer.completedCount == 0 && moves < 5000 {
            _ = try registry.updateAlias(
                function: "orders", name: "live", functionVersion: "1",
                additionalVersionWeights: ["2": Double(moves % 100) / 100])
            moves += 1
        }
        registry.checkpointer.settle()
        #expect(registry.checkpointer.completedCount >= 1, "no background checkpoint after \(moves) alias moves")
        // The database file alone (copied without its WAL) holds the moves the checkpoint copied back.
        let copy = sandbox.root.appendingPathComponent("file-only.sqlite")
        try FileManager.default.copyItem(
            at: sandbox.dataDirectory.appendingPathComponent("registry.sqlite"), to: copy)
        let inFile = try DatabaseQueue(path: copy.path).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM alias_moves WHERE cause = 'UpdateAlias'") ?? 0
        }
        #expect(inFile > 0)
        #expect(inFile <= moves)
        // The registry itself still reads every move and stays consistent.
        #expect(try registry.history(function: "orders", alias: "live", limit: 10_000).count == moves + 1)
        #expect(try registry.checkIntegrity().isConsistent)
    }

    /// Back-to-back writes never leave a background checkpoint the moment it needs to restart the WAL;
    /// past `writerFrameLimit` frames the writer checkpoints itself, so the WAL file stays bounded.
    @Test func theWALStaysBoundedUnderBackToBackWrites() throws {
        let sandbox = try Self.ordersWithAnAlias()
        let registry = sandbox.registry
        let wal = sandbox.dataDirectory.appendingPathComponent("registry.sqlite-wal")
        var largest: Int64 = 0
        // About 4 frames a move: well past the limit several times over.
        for index in 0..<6000 {
            _ = try registry.updateAlias(
                function: "orders", name: "live", functionVersion: "1",
                additionalVersionWeights: ["2": Double(index % 100) / 100])
            if index % 50 == 0 {
                let size = (try FileManager.default.attributesOfItem(atPath: wal.path)[.size] as? NSNumber)?.int64Value
                largest = max(largest, size ?? 0)
            }
        }
        let frameBytes: Int64 = 4096 + 24
        #expect(largest > 0)
        #expect(
            largest <= (Int64(WALCheckpointer.writerFrameLimit) + 64) * frameBytes + 32,
            "the WAL reached \(largest / frameBytes) frames")
        #expect(try registry.checkIntegrity().isConsistent)
    }
}
