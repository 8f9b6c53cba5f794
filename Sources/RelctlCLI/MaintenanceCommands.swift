import ArgumentParser
import Foundation
import RelctlCore
import RelctlPostgres
import RelctlStorage
import RelctlStore

struct QuotaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Code storage: the limit (75 GB by default), usage as AWS counts it, bytes really stored.",
        subcommands: [Show.self, Set.self],
        defaultSubcommand: Show.self
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the limit, the usage and the biggest functions and layers.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await global.rollout().records.quotaReport(top: 10)
            if global.output == .json { return Output.json(report) }
            let usage = report.AccountUsage.TotalCodeSize
            let percent = (report.UsedPercent * 100).rounded() / 100
            Output.fields([
                (
                    "Limit",
                    "\(Output.size(report.AccountLimit.TotalCodeSize)) (\(report.AccountLimit.TotalCodeSize) bytes)"
                ),
                ("Used", "\(Output.size(usage)) (\(usage) bytes, \(percent)%)"),
                ("Stored on disk", "\(Output.size(report.StoredBytes)) after dedupe"),
                ("Functions", String(report.AccountUsage.FunctionCount)),
            ])
            if !report.TopConsumers.isEmpty {
                print("")
                Output.table(
                    ["Name", "Kind", "Versions", "CodeSize"],
                    report.TopConsumers.map {
                        [$0.Name, $0.Kind, String($0.Versions), Output.size($0.CodeSize)]
                    })
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the code storage limit, e.g. 75GB (binary units, as AWS counts).")
        @OptionGroup var global: GlobalOptions
        @Argument var size: String

        func run() async throws {
            let bytes = try ByteSize.parse(size)
            let records = try await global.rollout().records
            try await records.setQuota(bytes)
            if global.output == .json { return Output.json(try await records.quotaReport(top: 10)) }
            print("Code storage limit set to \(Output.size(bytes)) (\(bytes) bytes).")
        }
    }
}

struct Cleanup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete unprotected versions, oldest first, until --keep and/or --target-usage is met.",
        discussion: """
            Never deleted: $LATEST, versions an alias points at (primary or routing), the newest --keep versions of
            each function and layer, and layer versions a remaining function version uses. With --target-usage alone,
            --keep defaults to 1. --dry-run prints the exact plan and changes nothing.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this function's versions.") var function: String?
    @Option(help: "Keep the newest N versions of each function.") var keep: Int?
    @Option(
        name: .customLong("target-usage"),
        help: "Stop once usage is at most this: 80% of the limit, or a size such as 60GB.") var targetUsage: String?
    @Flag(name: .customLong("dry-run"), help: "Print the plan; delete nothing.") var dryRun = false

    func validate() throws {
        if keep == nil && targetUsage == nil {
            throw ValidationError("Say what to keep: --keep N and/or --target-usage 80%.")
        }
        if let keep, keep < 0 { throw ValidationError("--keep must be 0 or more.") }
    }

    func run() async throws {
        let request = CleanupRequest(
            function: try function.map { try parseFunction($0).name }, keep: keep,
            targetUsage: try targetUsage.map(CleanupRequest.parseTarget))
        let plan: CleanupPlan
        if let store = try await global.postgresStore() {
            defer { store.close() }
            plan = try await store.cleanup(request, dryRun: dryRun)
        } else {
            plan = try global.registry().cleanup(request, dryRun: dryRun)
        }
        if global.output == .json { return Output.json(plan) }
        if plan.Deletions.isEmpty {
            print("Nothing to delete.")
        } else {
            Output.table(
                ["Delete", "Kind", "CodeSize", "Created"],
                plan.Deletions.map {
                    ["\($0.Name):\($0.Version)", $0.Kind.rawValue, Output.size($0.CodeSize), $0.Created]
                })
        }
        print(
            "\(dryRun ? "Would free" : "Freed") \(Output.size(plan.BytesFreed)) (\(plan.Deletions.count) version(s)); usage \(Output.size(plan.UsageBefore)) → \(Output.size(plan.UsageAfter)) of \(Output.size(plan.Limit))."
        )
        if !plan.TargetReached, let target = plan.TargetUsage {
            Output.note(
                "note: the target \(Output.size(target)) cannot be reached without deleting protected versions.")
        }
    }
}

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove blob files no row references (left by interrupted writes).")
    @OptionGroup var global: GlobalOptions
    @Option(
        name: .customLong("temporary-age"),
        help: "Remove temporary files older than this many seconds (younger ones may belong to a write in progress).")
    var temporaryAge: Double = 3600

    func run() async throws {
        if let store = try await global.postgresStore() { return try await collectOnDatabase(store) }
        let registry = try global.registry()
        var report = try registry.collectGarbage(temporaryAge: temporaryAge)
        if let remote = registry.remoteCode {
            // The bucket is listed first and the rows read after, so an upload whose row has not
            // committed is either unlisted or younger than --temporary-age.
            let collected = try OffPoolWait.run { () async throws(RelctlError) in
                try await CodeObjectMaintenance.collectGarbage(
                    in: remote, referenced: { () throws(RelctlError) in Set(try registry.blobSizes().keys) },
                    now: Date(), minimumAge: temporaryAge)
            }
            report.RemovedObjects = collected.removed.count
            report.RemovedObjectBytes = collected.removedBytes
        }
        if global.output == .json { return Output.json(report) }
        print(
            "Removed \(report.RemovedFiles) orphan blob file(s) (\(Output.size(report.RemovedBytes))) and \(report.RemovedTemporaryFiles) stale temporary file(s)."
        )
        if let objects = report.RemovedObjects, let remote = registry.remoteCode {
            print(
                "Removed \(objects) unreferenced object(s) (\(Output.size(report.RemovedObjectBytes ?? 0))) older than \(Int(temporaryAge)) s from \(remote.location)."
            )
        }
    }
}

struct Fsck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check every registry invariant; exit 1 if one fails.",
        discussion:
            "Checks: no dangling alias or orphan row, every version's blob present with a matching hash, usage = Σ CodeSize, stored bytes = the blob files."
    )
    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("skip-hashes"), help: "Do not re-hash blob files (faster).") var skipHashes = false

    func run() async throws {
        if let store = try await global.postgresStore() { return try await checkDatabase(store) }
        let registry = try global.registry()
        var report = try registry.checkIntegrity(verifyHashes: !skipHashes)
        if let remote = registry.remoteCode {
            let expected = try registry.blobSizes()
            report.Problems += try OffPoolWait.run { () async throws(RelctlError) in
                try await CodeObjectMaintenance.check(remote, expected: expected, verifyHashes: !skipHashes)
            }
        }
        try finish(report)
    }

    /// Prints the report; exit 1 with one error line when an invariant is broken.
    func finish(_ report: IntegrityReport) throws {
        if global.output == .json {
            Output.json(report)
        } else {
            for problem in report.Problems { print("problem: \(problem)") }
            for notice in report.Notices { print("notice: \(notice)") }
            print(
                report.isConsistent
                    ? "ok: \(report.CheckedVersions) version(s), \(report.CheckedBlobs) blob(s) consistent"
                    : "\(report.Problems.count) problem(s) found")
        }
        if !report.isConsistent {
            Output.error(
                RelctlError(
                    .integrityCheckFailed, "\(report.Problems.count) invariant(s) broken: \(report.Problems[0])"))
            throw CommandFailure(status: 1)
        }
    }
}
