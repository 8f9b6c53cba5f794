import Foundation
import RelctlProcess
import Testing

/// Nothing a function or a hook starts outlives relctl: not after `traffic` ends, not after a
/// `kill -9` of relctl (issue 8, "Orphaned instances").
@Suite("No orphaned processes", .serialized)
struct OrphanTests {
    /// A runtime-loop function that also leaves a `setsid` child behind on every event; every process
    /// it starts carries `MARKER` in its environment.
    static func lingeringFunction(_ cli: CLI, marker: String) throws {
        let folder = try cli.runtimeLoop(
            "lingering",
            body: """
                  setsid sleep 600 </dev/null >/dev/null 2>&1 &
                  curl -sS -X POST "$API/invocation/$ID/response" -d '{}' >/dev/null
                """)
        try cli.json("function", "create", "lingering", "--dir", folder, "--env", "MARKER=\(marker)", "--publish")
        try cli.json("alias", "create", "lingering", "live", "--version", "1")
    }

    /// SIGKILLs relctl (not its group: what relctl started must die by itself) and returns the
    /// processes carrying `variable=value` still alive shortly after.
    static func killNine(_ relctl: ChildProcess, leaves variable: String, _ value: String) -> [pid_t] {
        kill(relctl.pid, SIGKILL)
        #expect(relctl.wait(timeout: childDeadline))
        return ProcessTable.waitUntilGone(variable, value, timeout: 10)
    }

    @Test func tenTrafficRunsLeaveNoInstanceBehind() throws {
        let cli = try CLI()
        let marker = UUID().uuidString
        try Self.lingeringFunction(cli, marker: marker)
        defer { for pid in ProcessTable.pids(withEnvironment: "MARKER", marker) { kill(pid, SIGKILL) } }
        for run in 1...10 {
            let result = try cli.run("traffic", "lingering:live", "--rate", "20", "--duration", "1s")
            #expect(result.status == 0, "\(result.stderr)")
            let left = ProcessTable.waitUntilGone("MARKER", marker, timeout: 10)
            #expect(left == [], "after traffic run \(run): \(left.count) processes of the function live on")
            if !left.isEmpty { break }
        }
    }

    @Test func kill9OfRelctlTakesItsInstancesAlong() throws {
        let cli = try CLI()
        let marker = UUID().uuidString
        try Self.lingeringFunction(cli, marker: marker)
        defer { for pid in ProcessTable.pids(withEnvironment: "MARKER", marker) { kill(pid, SIGKILL) } }
        for run in 1...5 {
            let traffic = try cli.start(["traffic", "lingering:live", "--rate", "20", "--duration", "60s"])
            defer { traffic.killGroupAndWait() }
            #expect(
                ProcessTable.waitUntilAtLeast(2, "MARKER", marker, timeout: 30) >= 2, "run \(run): the instances are up"
            )
            let left = Self.killNine(traffic, leaves: "MARKER", marker)
            #expect(left == [], "after kill -9 \(run): \(left.count) processes of the function live on")
            if !left.isEmpty { break }
        }
    }

    @Test func anExecHookDiesWithTheControllerThatStartedIt() throws {
        let cli = try RolloutCLITests.fixture(holds: "1s")
        let marker = UUID().uuidString
        defer { for pid in ProcessTable.pids(withEnvironment: "HOOK_MARKER", marker) { kill(pid, SIGKILL) } }
        // The hook's runner inherits the deploy's environment, so every process of the hook carries the marker.
        let deploy = try cli.start(
            [
                "deploy", "orders", "--alias", "live", "--version", "2", "--policy", "Quick",
                "--pre-traffic-hook", "exec:setsid sleep 600 & sleep 600",
            ], environment: ["HOOK_MARKER": marker])
        defer { deploy.killGroupAndWait() }
        // relctl itself, the hook's shell and its two sleeps.
        #expect(ProcessTable.waitUntilAtLeast(4, "HOOK_MARKER", marker, timeout: 30) >= 4, "the hook is running")
        let left = Self.killNine(deploy, leaves: "HOOK_MARKER", marker)
        #expect(
            left == [], "the hook's processes died with the controller; a restarted controller can run it again safely")
    }
}
