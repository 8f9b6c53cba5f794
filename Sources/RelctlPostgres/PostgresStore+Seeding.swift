import Foundation
import PostgresNIO
import RelctlCore

extension PostgresStore {
    /// Bulk-publishes `count` copies of a function's `$LATEST` in one transaction, as SQLite's
    /// `Registry.seedPublishedVersions` does (numbering, layers; usage is counted from the rows here;
    /// audit is skipped). For benchmarks that need a million versions, which `publishVersion` (one
    /// commit each) would take hours to build: rows go in batches of 10,000 through `unnest`.
    @_spi(Benchmarks)
    public func seedPublishedVersions(function: String, count: Int, firstCreated: Date) async throws(RelctlError) {
        try await write(records: true) { db in
            guard
                let highest = try db.db.rows("SELECT highest_version FROM functions WHERE name = \(function)").first?
                    .decode(Int.self)
            else {
                throw RelctlError.functionNotFound(db.arn.functionArn(function))
            }
            let first = highest + 1
            let batch = 10_000
            for start in stride(from: 0, to: count, by: batch) {
                let offsets = start..<min(start + batch, count)
                let numbers = offsets.map { first + $0 }
                try db.db.execute(
                    """
                    INSERT INTO versions (function_name, version, code_sha256, code_size, unzipped_size, runtime, handler,
                        role, description, memory_size, timeout, architecture, last_modified, revision_id, environment,
                        logging_config, ephemeral_storage_size, tracing_mode)
                    SELECT v.function_name, seeded.version, v.code_sha256, v.code_size, v.unzipped_size, v.runtime,
                        v.handler, v.role, seeded.description, v.memory_size, v.timeout, v.architecture,
                        seeded.last_modified, seeded.revision_id, v.environment, v.logging_config,
                        v.ephemeral_storage_size, v.tracing_mode
                    FROM versions v,
                        unnest(\(numbers)::integer[], \(numbers.map { "seed \($0)" })::text[],
                               \(offsets.map { LambdaTimestamp.string(from: firstCreated.addingTimeInterval(Double($0))) })::text[],
                               \(offsets.map { _ in PostgresStore.newRevisionId() })::text[])
                            AS seeded(version, description, last_modified, revision_id)
                    WHERE v.function_name = \(function) AND v.version = 0
                    """)
            }
            try db.db.execute(
                """
                INSERT INTO version_layers (function_name, version, position, layer_name, layer_version)
                SELECT vl.function_name, v.version, vl.position, vl.layer_name, vl.layer_version
                FROM version_layers vl JOIN versions v ON v.function_name = vl.function_name
                WHERE vl.function_name = \(function) AND vl.version = 0 AND v.version >= \(first)
                """)
            try db.db.execute(
                """
                UPDATE functions SET highest_version = \(highest + count), changed_since_publish = FALSE
                WHERE name = \(function)
                """)
        }
    }
}
