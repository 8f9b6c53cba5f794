import Foundation
import RelctlProcess
import Testing

/// SIGKILLs a child `relctl` at random moments inside publish, alias update and cleanup, and
/// checks after every kill that `relctl fsck` finds the registry consistent.
@Suite("kill -9 leaves the registry consistent", .serialized)
struct CrashTests {
    /// How long one run of the command takes when nothing kills it, to spread kills over its whole life.
    static func duration(_ cli: CLI, _ arguments: [String]) throws -> TimeInterval {
        let start = Date()
        let result = try cli.run(arguments)
        #expect(result.status == 0, "\(arguments) failed: \(result.stderr)")
        return Date().timeIntervalSince(start)
    }

    /// Runs `command` in a child and SIGKILLs it after a random delay within its usual run time,
    /// until `kills` runs have really been killed (runs that finish first are fine too), with
    /// `relctl fsck` after every run.
    static func killRepeatedly(
        _ cli: CLI, kills target: Int, seed: UInt64, command: (Int) throws -> [String]
    ) throws -> (killed: Int, finished: Int) {
        var generator = SplitMix(seed: seed)
        // The kill lands at a random point of a typical run. A run that finished before its kill means runs got
        // faster than the first measurement (a machine whose load dropped): the estimate shrinks; a killed run lets
        // it grow back a little, so kills keep covering the whole run whatever the load does meanwhile.
        var typical = try duration(cli, try command(-1))
        var killed = 0
        var finished = 0
        var iteration = 0
        while killed < target && iteration < target * 4 {
            let process = try cli.start(try command(iteration))
            defer { process.killGroupAndWait() }
            let delay = Double(generator.next() % 1000) / 1000 * typical
            usleep(useconds_t(delay * 1_000_000))
            if !process.hasExited {
                kill(process.pid, SIGKILL)
            }
            #expect(process.wait(timeout: childDeadline))
            if process.terminatedBySignal {
                killed += 1
                typical *= 1.05
            } else {
                finished += 1
                typical *= 0.8
            }
            let fsck = try cli.run("fsck")
            #expect(fsck.status == 0, "after iteration \(iteration): \(fsck.stdout) \(fsck.stderr)")
            if fsck.status != 0 { break }
            iteration += 1
        }
        #expect(killed >= target, "only \(killed) of \(iteration) runs were killed mid-way")
        return (killed, finished)
    }

    @Test func killsDuringPublishNeverBreakTheRegistry() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("base", marker: "base", padding: 200_000))
        let sources = try (0..<8).map { try cli.source("s\($0)", marker: "s\($0)", padding: 200_000 + $0) }
        _ = try Self.killRepeatedly(cli, kills: 80, seed: 1) { iteration in
            ["function", "update-code", "orders", "--dir", sources[(iteration + 8) % 8], "--publish"]
        }
        // Numbers are never reused: the versions that exist are strictly increasing and each is readable.
        let versions = (try cli.json("versions", "orders")["Versions"] as? [[String: Any]] ?? []).compactMap {
            $0["Version"] as? String
        }
        #expect(versions.first == "$LATEST")
        let numbers = versions.dropFirst().compactMap(Int.init)
        #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count)
    }

    @Test func killsDuringAliasUpdatesNeverLeaveADanglingAlias() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("base", marker: "base"))
        for index in 1...4 {
            try cli.json(
                "function", "update-code", "orders", "--dir", try cli.source("v\(index)", marker: "v\(index)"),
                "--publish")
        }
        try cli.json("alias", "create", "orders", "live", "--version", "1")
        _ = try Self.killRepeatedly(cli, kills: 60, seed: 2) { iteration in
            let step = iteration + 12  // the first, unkilled, run is iteration -1
            switch step % 3 {
            case 0: return ["alias", "update", "orders", "live", "--version", "\(step % 4 + 1)", "--no-routing"]
            case 1:
                return [
                    "alias", "update", "orders", "live", "--version", "1", "--weight",
                    "\(step % 3 + 2)=0.\(step % 9 + 1)",
                ]
            default: return ["rollback", "orders", "live", "--to", "\(step % 4 + 1)"]
            }
        }
        let alias = try cli.json("alias", "get", "orders", "live")
        #expect(["1", "2", "3", "4"].contains(alias["FunctionVersion"] as? String ?? ""))
    }

    @Test func killsDuringCleanupNeverLoseCodeOrMiscountUsage() throws {
        let cli = try CLI()
        try cli.json("function", "create", "orders", "--dir", try cli.source("base", marker: "base", padding: 50_000))
        var next = 0
        _ = try Self.killRepeatedly(cli, kills: 60, seed: 3) { iteration in
            // Alternate: grow (publish new code) and shrink (cleanup), so cleanup always has work.
            if iteration % 2 == 0 || iteration < 0 {
                next += 1
                return [
                    "function", "update-code", "orders", "--dir",
                    try cli.source("c\(next)", marker: "c\(next)", padding: 50_000), "--publish",
                ]
            }
            return ["cleanup", "--keep", "1"]
        }
        #expect(try cli.run("gc", "--temporary-age", "0").status == 0)
        let fsck = try cli.run("fsck")
        #expect(fsck.status == 0 && !fsck.stdout.contains("notice: "), "gc left nothing behind: \(fsck.stdout)")
    }
}

/// A small deterministic generator, so a failing run can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
