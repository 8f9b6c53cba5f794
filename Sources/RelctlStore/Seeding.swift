import Foundation
import GRDB
import RelctlCore

extension Registry {
    /// Bulk-publishes `count` copies of a function's `$LATEST` in one transaction, keeping every
    /// invariant (numbering, usage, layers, audit is skipped). For benchmarks that need a registry
    /// with a million versions, which `publishVersion` (one durable commit each) would take hours to build.
    @_spi(Benchmarks)
    public func seedPublishedVersions(function: String, count: Int, firstCreated: Date) throws(RelctlError) {
        try write { db, _ in
            var record = try requireFunction(db, function)
            let latest = try latest(db, function)
            let first = record.highestVersion + 1
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO versions (function_name, version, code_sha256, code_size, unzipped_size, runtime, handler, role,
                        description, memory_size, timeout, environment, architecture, last_modified, revision_id)
                    SELECT function_name, ?, code_sha256, code_size, unzipped_size, runtime, handler, role,
                        ?, memory_size, timeout, environment, architecture, ?, ?
                    FROM versions WHERE function_name = ? AND version = 0
                    """)
            for offset in 0..<count {
                let created = LambdaTimestamp.string(from: firstCreated.addingTimeInterval(Double(offset)))
                try statement.execute(arguments: [
                    first + offset, "seed \(first + offset)", created, Registry.newRevisionId(), function,
                ])
            }
            try db.execute(
                sql: """
                    INSERT INTO version_layers (function_name, version, position, layer_name, layer_version)
                    SELECT vl.function_name, v.version, vl.position, vl.layer_name, vl.layer_version
                    FROM version_layers vl JOIN versions v ON v.function_name = vl.function_name
                    WHERE vl.function_name = ? AND vl.version = 0 AND v.version >= ?
                    """, arguments: [function, first])
            try addUsage(db, codeSize: latest.codeSize * Int64(count))
            record.highestVersion += count
            record.changedSincePublish = false
            try record.update(db)
        }
    }
}
