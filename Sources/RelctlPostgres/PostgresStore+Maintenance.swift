import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// `relctl gc` and `relctl fsck` on `--database postgres://…` (issue 10 §3): the rows name the code
// objects (versions and layer versions, a deleted layer version kept for its users included, and the
// S3 subset's objects); the
// objects live in the code store, which `CodeObjectMaintenance` collects and checks against these names.

/// What fsck found in the PostgreSQL rows, and the code objects they name (hash → recorded size).
public struct PostgresRowCheck: Sendable, Equatable {
    public var problems: [String]
    public var checkedVersions: Int
    public var objects: [String: Int64]
}

extension PostgresStore {
    /// Every code object a row names, with its recorded size (gc keeps these).
    public func referencedCodeObjects() async throws(RelctlError) -> [String: Int64] {
        try await readRecords { db in try db.referencedCodeObjects() }
    }

    /// The row invariants SQLite's fsck checks that PostgreSQL's constraints do not already enforce.
    public func checkRows() async throws(RelctlError) -> PostgresRowCheck {
        try await readRecords { db in
            var problems: [String] = []
            let checks: [(String, (String) -> String)] = [
                (
                    """
                    SELECT name FROM functions f WHERE NOT EXISTS
                        (SELECT 1 FROM versions v WHERE v.function_name = f.name AND v.version = 0) ORDER BY name
                    """, { "Function \($0) has no $LATEST" }
                ),
                (
                    """
                    SELECT f.name FROM functions f JOIN versions v ON v.function_name = f.name
                    GROUP BY f.name, f.highest_version HAVING MAX(v.version) > f.highest_version ORDER BY f.name
                    """, { "Function \($0) has a version above its highest_version counter (numbers could be reused)" }
                ),
                (
                    """
                    SELECT l.name FROM layers l JOIN layer_versions v ON v.layer_name = l.name
                    GROUP BY l.name, l.highest_version HAVING MAX(v.version) > l.highest_version ORDER BY l.name
                    """, { "Layer \($0) has a version above its highest_version counter" }
                ),
                (
                    """
                    SELECT layer_name || ':' || version FROM layer_versions l WHERE deleted AND NOT EXISTS
                        (SELECT 1 FROM version_layers v WHERE v.layer_name = l.layer_name AND v.layer_version = l.version)
                    ORDER BY 1
                    """, { "Deleted layer version \($0) is kept although no function uses it" }
                ),
                (
                    """
                    SELECT code_sha256 FROM (
                        SELECT code_sha256, code_size FROM versions UNION SELECT code_sha256, code_size FROM layer_versions
                    ) AS named GROUP BY code_sha256 HAVING COUNT(*) > 1 ORDER BY 1
                    """, { "Rows record different sizes for code object \($0)" }
                ),
            ]
            for (query, sentence) in checks {
                for row in try db.db.rows(PostgresQuery(unsafeSQL: query)) {
                    problems.append(sentence(try row.decode(String.self)))
                }
            }
            let versions = try db.db.rows("SELECT COUNT(*)::bigint FROM versions").first?.decode(Int64.self) ?? 0
            return PostgresRowCheck(
                problems: problems, checkedVersions: Int(versions), objects: try db.referencedCodeObjects())
        }
    }
}

extension PostgresTransaction {
    func referencedCodeObjects() throws -> [String: Int64] {
        var objects: [String: Int64] = [:]
        for row in try db.rows(
            """
            SELECT code_sha256, MAX(code_size)::bigint FROM (
                SELECT code_sha256, code_size FROM versions UNION ALL SELECT code_sha256, code_size FROM layer_versions
                -- MARK: S3 subset (S): its objects' bytes live in the code store too
                UNION ALL SELECT sha256, size FROM s3_objects
            ) AS named GROUP BY code_sha256
            """
        ) {
            let (hash, size) = try row.decode((String, Int64).self)
            objects[hash] = size
        }
        return objects
    }
}
