import GRDB
import RelctlCore

extension Registry {
    /// Whether code with this hash is something a caller may read: the code of a function's
    /// `$LATEST` or of a published version, or the content of a layer version that is not deleted.
    public func isReadableCode(_ sha256Hex: String) throws(RelctlError) -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM versions WHERE code_sha256 = ?)
                    OR EXISTS (SELECT 1 FROM layer_versions WHERE code_sha256 = ? AND deleted = 0)
                """, arguments: [sha256Hex, sha256Hex]) ?? false
        }
    }
}
