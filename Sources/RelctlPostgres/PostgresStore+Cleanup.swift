import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// `relctl cleanup --database postgres://…` (issue 10 §3): SQLite's `Registry.cleanup` on the shared
// database. The same `CleanupPlanner` plans over the PostgreSQL rows; a real run plans again inside
// the write transaction (under the store's one write lock, so no other server changes the rows
// between the plan and the deletions) and deletes rows only, as DeleteFunction(version) does: the
// code objects stay until `relctl gc` collects the ones no row names.
extension PostgresStore {
    /// Plans a cleanup; with `dryRun` nothing changes, otherwise the same plan is applied in one transaction.
    public func cleanup(_ request: CleanupRequest, dryRun: Bool) async throws(RelctlError) -> CleanupPlan {
        if let keep = request.keep, keep < 0 {
            throw RelctlError(.invalidParameterValue, "--keep must be 0 or more.")
        }
        if dryRun {
            return try await readRecords { db in CleanupPlanner.plan(try db.cleanupInventory(), request) }
        }
        return try await write(records: true) { db in
            let plan = CleanupPlanner.plan(try db.cleanupInventory(), request)
            try db.applyCleanup(plan)
            if !plan.Deletions.isEmpty {
                try db.recordEvent(
                    .cleanupApplied,
                    message: "Cleanup deleted \(plan.Deletions.count) version(s), freeing \(plan.BytesFreed) bytes",
                    details: [
                        "deleted": plan.Deletions.map { "\($0.Name):\($0.Version)" }.joined(separator: ","),
                        "bytesFreed": String(plan.BytesFreed), "usageAfter": String(plan.UsageAfter),
                    ])
            }
            return plan
        }
    }
}

extension PostgresTransaction {
    /// What the planner needs: every published version with what protects it, every layer version.
    func cleanupInventory() throws -> CleanupInventory {
        var layersByVersion: [String: [CleanupInventory.LayerKey]] = [:]
        var latestLayers = Set<CleanupInventory.LayerKey>()
        for row in try db.rows(
            "SELECT function_name, version, layer_name, layer_version FROM version_layers ORDER BY function_name, version, position"
        ) {
            let (function, version, layer, layerVersion) = try row.decode((String, Int, String, Int).self)
            let key = CleanupInventory.LayerKey(name: layer, version: layerVersion)
            if version == 0 {
                latestLayers.insert(key)
            } else {
                layersByVersion["\(function):\(version)", default: []].append(key)
            }
        }
        var protectedBy: [String: [String]] = [:]
        for row in try db.rows(
            "SELECT function_name, name, function_version, additional_version FROM aliases ORDER BY function_name, name"
        ) {
            let (function, alias, primary, additional) = try row.decode((String, String, Int, Int?).self)
            protectedBy["\(function):\(primary)", default: []].append("alias \(alias)")
            if let additional {
                protectedBy["\(function):\(additional)", default: []].append("alias \(alias) (routing)")
            }
        }
        for row in try db.rows(
            """
            SELECT 'deployment ' || id, function_name, current_version, target_version FROM deployments
            WHERE status IN ('Created', 'InProgress', 'Paused')
            UNION ALL
            SELECT 'release ' || release_id, function_name, current_version, target_version FROM release_members WHERE active
            """
        ) {
            let (reason, function, current, target) = try row.decode((String, String, Int, Int).self)
            protectedBy["\(function):\(current)", default: []].append(reason)
            protectedBy["\(function):\(target)", default: []].append(reason)
        }
        let versions = try db.rows(
            """
            SELECT function_name, version, code_size, last_modified FROM versions WHERE version > 0
            ORDER BY function_name, version
            """
        ).map { row in
            let (function, version, size, created) = try row.decode((String, Int, Int64, String).self)
            let key = "\(function):\(version)"
            return CleanupInventory.PublishedVersion(
                function: function, version: version, codeSize: size, created: created,
                layers: layersByVersion[key] ?? [], protectedBy: protectedBy[key] ?? [])
        }
        let layerVersions = try db.rows(
            "SELECT layer_name, version, code_size, created_date, deleted FROM layer_versions ORDER BY layer_name, version"
        ).map { row in
            let (name, version, size, created, deleted) = try row.decode((String, Int, Int64, String, Bool).self)
            return CleanupInventory.StoredLayerVersion(
                key: .init(name: name, version: version), codeSize: size, created: created, deleted: deleted)
        }
        return CleanupInventory(
            versions: versions, layerVersions: layerVersions, latestLayers: latestLayers, usage: try codeUsage(),
            limit: try codeLimit())
    }

    /// Deletes the plan's rows (its versions are unprotected: the plan was made in this transaction).
    func applyCleanup(_ plan: CleanupPlan) throws {
        for deletion in plan.Deletions {
            let (name, version) = (deletion.Name, deletion.Version)
            switch deletion.Kind {
            case .functionVersion:
                try db.execute("DELETE FROM versions WHERE function_name = \(name) AND version = \(version)")
                try audit(
                    "Cleanup", function: name, resource: arn.functionArn(name, qualifier: String(version)),
                    before: deletion, after: nil as String?)
            case .layerVersion:
                try db.execute(
                    "UPDATE layer_versions SET deleted = TRUE WHERE layer_name = \(name) AND version = \(version)")
                try audit(
                    "Cleanup", function: nil, resource: arn.layerVersionArn(name, version: version), before: deletion,
                    after: nil as String?)
            }
        }
        try purgeDeletedLayerVersions()
    }
}
