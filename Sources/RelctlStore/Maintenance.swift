import Foundation
import GRDB
import RelctlCore
import RelctlPackages

/// What `relctl gc` removed.
public struct GarbageReport: Codable, Sendable, Equatable {
    public var RemovedFiles: Int
    public var RemovedBytes: Int64
    public var RemovedTemporaryFiles: Int
    /// Objects removed from the bucket of `--code-store` (absent without one).
    public var RemovedObjects: Int?
    public var RemovedObjectBytes: Int64?

    public init(
        RemovedFiles: Int, RemovedBytes: Int64, RemovedTemporaryFiles: Int, RemovedObjects: Int? = nil,
        RemovedObjectBytes: Int64? = nil
    ) {
        self.RemovedFiles = RemovedFiles
        self.RemovedBytes = RemovedBytes
        self.RemovedTemporaryFiles = RemovedTemporaryFiles
        self.RemovedObjects = RemovedObjects
        self.RemovedObjectBytes = RemovedObjectBytes
    }
}

/// `relctl fsck`'s findings: `Problems` break an invariant, `Notices` do not (gc clears them).
public struct IntegrityReport: Codable, Sendable, Equatable {
    public var Problems: [String]
    public var Notices: [String]
    public var CheckedVersions: Int
    public var CheckedBlobs: Int
    public var isConsistent: Bool { Problems.isEmpty }

    public init(Problems: [String], Notices: [String], CheckedVersions: Int, CheckedBlobs: Int) {
        self.Problems = Problems
        self.Notices = Notices
        self.CheckedVersions = CheckedVersions
        self.CheckedBlobs = CheckedBlobs
    }
}

extension Registry {
    // MARK: - Cleanup

    /// Plans a cleanup; with `dryRun` nothing changes, otherwise the same plan is computed and
    /// applied in one write transaction (so it cannot go stale between planning and deleting).
    public func cleanup(_ request: CleanupRequest, dryRun: Bool) throws(RelctlError) -> CleanupPlan {
        if let keep = request.keep, keep < 0 {
            throw RelctlError(.invalidParameterValue, "--keep must be 0 or more.")
        }
        if dryRun {
            return try read { db in CleanupPlanner.plan(try cleanupInventory(db), request) }
        }
        return try write { db, effects in
            let plan = CleanupPlanner.plan(try cleanupInventory(db), request)
            try apply(db, plan, &effects)
            if !plan.Deletions.isEmpty {
                try recordEvent(
                    db, .cleanupApplied,
                    message: "Cleanup deleted \(plan.Deletions.count) version(s), freeing \(plan.BytesFreed) bytes",
                    details: [
                        "deleted": plan.Deletions.map { "\($0.Name):\($0.Version)" }.joined(separator: ","),
                        "bytesFreed": String(plan.BytesFreed), "usageAfter": String(plan.UsageAfter),
                    ])
            }
            return plan
        }
    }

    func cleanupInventory(_ db: Database) throws -> CleanupInventory {
        var layersByVersion: [String: [CleanupInventory.LayerKey]] = [:]
        var latestLayers = Set<CleanupInventory.LayerKey>()
        let layerCursor = try Row.fetchCursor(
            db, sql: "SELECT function_name, version, layer_name, layer_version FROM version_layers")
        while let row = try layerCursor.next() {
            let key = CleanupInventory.LayerKey(name: row[2], version: row[3])
            let version: Int = row[1]
            if version == 0 {
                latestLayers.insert(key)
            } else {
                layersByVersion["\(row[0] as String):\(version)", default: []].append(key)
            }
        }
        var protectedBy: [String: [String]] = [:]
        let aliasCursor = try Row.fetchCursor(
            db, sql: "SELECT function_name, name, function_version, additional_version FROM aliases")
        while let row = try aliasCursor.next() {
            let function: String = row[0]
            let alias: String = row[1]
            protectedBy["\(function):\(row[2] as Int)", default: []].append("alias \(alias)")
            if let additional: Int = row[3] {
                protectedBy["\(function):\(additional)", default: []].append("alias \(alias) (routing)")
            }
        }
        for (key, reasons) in try versionsInDeployments(db) { protectedBy[key, default: []] += reasons }
        var versions: [CleanupInventory.PublishedVersion] = []
        let versionCursor = try Row.fetchCursor(
            db, sql: "SELECT function_name, version, code_size, last_modified FROM versions WHERE version > 0")
        while let row = try versionCursor.next() {
            let key = "\(row[0] as String):\(row[1] as Int)"
            versions.append(
                .init(
                    function: row[0], version: row[1], codeSize: row[2], created: row[3],
                    layers: layersByVersion[key] ?? [], protectedBy: protectedBy[key] ?? []))
        }
        let layerVersions = try Row.fetchAll(
            db, sql: "SELECT layer_name, version, code_size, created_date, deleted FROM layer_versions"
        ).map {
            CleanupInventory.StoredLayerVersion(
                key: .init(name: $0[0], version: $0[1]), codeSize: $0[2], created: $0[3], deleted: $0[4])
        }
        return CleanupInventory(
            versions: versions, layerVersions: layerVersions, latestLayers: latestLayers,
            usage: try usage(db).totalCodeSize, limit: try limit(db))
    }

    func apply(_ db: Database, _ plan: CleanupPlan, _ effects: inout WriteEffects) throws {
        for deletion in plan.Deletions {
            switch deletion.Kind {
            case .functionVersion:
                guard let record = try version(db, deletion.Name, deletion.Version) else { continue }
                try deleteVersionRow(db, record, &effects)
                try audit(
                    db, "Cleanup", function: deletion.Name,
                    resource: arn.functionArn(deletion.Name, qualifier: String(deletion.Version)), before: deletion)
            case .layerVersion:
                guard
                    var record = try LayerVersionRecord.fetchOne(
                        db, key: ["layer_name": deletion.Name, "version": deletion.Version])
                else { continue }
                record.deleted = true
                try record.update(db, columns: ["deleted"])
                try purgeLayerVersionIfUnused(db, record, &effects)
                try audit(
                    db, "Cleanup", function: nil,
                    resource: arn.layerVersionArn(deletion.Name, version: deletion.Version), before: deletion)
            }
        }
    }

    // MARK: - gc

    /// Removes blob files no row references, and temporary files older than `temporaryAge`
    /// (younger ones may belong to a write in progress). Holds the write lock while it looks.
    /// Files that are not blobs at all (`BlobStore.strayFiles`) are left for their owner; fsck reports them.
    public func collectGarbage(temporaryAge: TimeInterval = 3600) throws(RelctlError) -> GarbageReport {
        let files = blobs.files()
        return try write { db, _ in
            let known = Set(try String.fetchAll(db, sql: "SELECT sha256 FROM blobs"))
            var report = GarbageReport(RemovedFiles: 0, RemovedBytes: 0, RemovedTemporaryFiles: 0)
            let cutoff = clock().addingTimeInterval(-temporaryAge)
            report.RemovedTemporaryFiles = blobs.removeTemporaryFiles(modifiedBefore: cutoff, of: files)
            for file in files where !file.isTemporary {
                if !known.contains(file.name), file.isBlob, unlink(file.url.path) == 0 {
                    report.RemovedFiles += 1
                    report.RemovedBytes += file.size
                }
            }
            return report
        }
    }

    // MARK: - fsck

    /// Checks every invariant the registry promises. Holds the write lock, so writers wait and
    /// what it sees is one consistent state of rows and files.
    public func checkIntegrity(verifyHashes: Bool = true) throws(RelctlError) -> IntegrityReport {
        try write { db, _ in
            var problems: [String] = []
            var notices: [String] = []
            let integrity = try String.fetchAll(db, sql: "PRAGMA quick_check")
            if integrity != ["ok"] {
                problems.append("SQLite quick_check: \(integrity.prefix(5).joined(separator: "; "))")
            }
            for row in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") {
                problems.append(
                    "Dangling reference: a row of \(row[0] as String) (rowid \(row[1] as Int64? ?? -1)) points at a missing row of \(row[2] as String)"
                )
            }
            let functionsWithoutLatest = try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM functions f WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.function_name = f.name AND v.version = 0)
                    """)
            for name in functionsWithoutLatest { problems.append("Function \(name) has no $LATEST") }
            let numbering = try String.fetchAll(
                db,
                sql: """
                    SELECT f.name FROM functions f JOIN versions v ON v.function_name = f.name GROUP BY f.name HAVING MAX(v.version) > f.highest_version
                    """)
            for name in numbering {
                problems.append(
                    "Function \(name) has a version above its highest_version counter (numbers could be reused)")
            }
            let layerNumbering = try String.fetchAll(
                db,
                sql: """
                    SELECT l.name FROM layers l JOIN layer_versions v ON v.layer_name = l.name GROUP BY l.name HAVING MAX(v.version) > l.highest_version
                    """)
            for name in layerNumbering {
                problems.append("Layer \(name) has a version above its highest_version counter")
            }
            let routing =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM aliases WHERE additional_version IS NOT NULL AND (additional_version = function_version OR function_version = 0)
                        """) ?? 0
            if routing > 0 { problems.append("\(routing) alias(es) have an invalid routing configuration") }

            let usage = try usage(db)
            let counted =
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT (SELECT COALESCE(SUM(code_size), 0) FROM versions) + (SELECT COALESCE(SUM(code_size), 0) FROM layer_versions)
                        """) ?? 0
            if usage.totalCodeSize != counted {
                problems.append(
                    "Quota usage is \(usage.totalCodeSize) bytes but the code sizes it counts add up to \(counted)")
            }
            let blobRows = try BlobRecord.fetchAll(db)
            let storedSum = blobRows.reduce(Int64(0)) { $0 + $1.size }
            if usage.storedBytes != storedSum {
                problems.append(
                    "Stored bytes are recorded as \(usage.storedBytes) but the blob rows add up to \(storedSum)")
            }
            let unreferenced = try String.fetchAll(
                db,
                sql: """
                    SELECT sha256 FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.code_sha256 = b.sha256)
                      AND NOT EXISTS (SELECT 1 FROM layer_versions l WHERE l.code_sha256 = b.sha256)
                    """)
            for hash in unreferenced { problems.append("Blob row \(hash) is referenced by nothing") }
            let sizeMismatch = try String.fetchAll(
                db,
                sql: """
                    SELECT v.function_name || ':' || v.version FROM versions v JOIN blobs b ON b.sha256 = v.code_sha256 WHERE b.size <> v.code_size
                    UNION ALL
                    SELECT 'layer ' || l.layer_name || ':' || l.version FROM layer_versions l JOIN blobs b ON b.sha256 = l.code_sha256 WHERE b.size <> l.code_size
                    """)
            for name in sizeMismatch { problems.append("\(name) records a CodeSize different from its blob's size") }
            let waiting =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM layer_versions l WHERE deleted = 1
                          AND NOT EXISTS (SELECT 1 FROM version_layers v WHERE v.layer_name = l.layer_name AND v.layer_version = l.version)
                        """) ?? 0
            if waiting > 0 {
                problems.append("\(waiting) deleted layer version(s) are kept although no function uses them")
            }

            var fileBytes: Int64 = 0
            let files = Dictionary(
                blobs.files().filter(\.isBlob).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for blob in blobRows {
                guard let file = files[blob.sha256] else {
                    problems.append("Blob \(blob.sha256) has a row but no file")
                    continue
                }
                fileBytes += file.size
                if file.size != blob.size {
                    problems.append("Blob \(blob.sha256) is \(file.size) bytes on disk, \(blob.size) in its row")
                } else if verifyHashes {
                    let data = try blobs.read(blob.sha256)
                    if CodeHash.hex(of: data) != blob.sha256 {
                        problems.append("Blob \(blob.sha256)'s content does not match its hash")
                    }
                }
            }
            if fileBytes != storedSum && problems.isEmpty {
                problems.append("Blob files referenced by rows hold \(fileBytes) bytes, the rows say \(storedSum)")
            }
            for stray in blobs.strayFiles() {
                problems.append(
                    "blobs/\(stray) is not a content blob (a blob is a file named by the SHA-256 of its content in hex, in the folder of its first two digits); relctl never writes such a file and gc leaves it: move it out of the data directory"
                )
            }
            let known = Set(blobRows.map(\.sha256))
            var orphans = files.values.filter { !known.contains($0.name) }.sorted { $0.name < $1.name }
            if verifyHashes {
                var blobLike: [BlobStore.FileEntry] = []
                for file in orphans {
                    if CodeHash.hex(of: try blobs.read(file.name)) == file.name {
                        blobLike.append(file)
                    } else {
                        problems.append(
                            "blobs/sha256/\(file.name.prefix(2))/\(file.name) belongs to no row and its content does not match its name, so it is not a content blob; `relctl gc` removes it"
                        )
                    }
                }
                orphans = blobLike
            }
            if !orphans.isEmpty {
                notices.append(
                    "\(orphans.count) blob file(s) (\(orphans.reduce(0) { $0 + $1.size }) bytes) belong to no row; `relctl gc` removes them"
                )
            }
            let temporaries = blobs.files().filter(\.isTemporary).count
            if temporaries > 0 {
                notices.append(
                    "\(temporaries) temporary file(s) from interrupted writes; `relctl gc` removes them after an hour")
            }
            let versionCount = try VersionRecord.fetchCount(db)
            return IntegrityReport(
                Problems: problems, Notices: notices, CheckedVersions: versionCount, CheckedBlobs: blobRows.count)
        }
    }
}
