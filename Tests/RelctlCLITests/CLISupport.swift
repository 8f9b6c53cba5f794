import Foundation
import RelctlProcess
import Testing

/// How long any child a test starts may run before its process group is killed: no test can hang.
let childDeadline: Double = 300

/// Runs the built `relctl` binary as a child process against a temporary data directory.
struct CLI {
    let dataDirectory: URL
    let workDirectory: URL

    static let binary: URL = {
        if let explicit = ProcessInfo.processInfo.environment["RELCTL_BIN"] { return URL(fileURLWithPath: explicit) }
        // The test bundle runs from the build products folder, next to the `relctl` executable.
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for folder in candidates {
            var current = folder
            for _ in 0..<4 {
                let candidate = current.appendingPathComponent("relctl")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                current = current.deletingLastPathComponent()
            }
        }
        return URL(fileURLWithPath: "relctl-not-found")
    }()

    init() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "relctl-cli-\(UUID().uuidString)", isDirectory: true)
        dataDirectory = root.appendingPathComponent("data", isDirectory: true)
        workDirectory = root.appendingPathComponent("work", isDirectory: true)
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    /// The environment every relctl child gets: this test's data directory and actor.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["RELCTL_HOME"] = dataDirectory.path
        environment["RELCTL_ACTOR"] = "test"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Starts `relctl ARGUMENTS` in the background (own process group), output to `log` (default:
    /// discarded). The caller waits with a deadline and kills it in a `defer`.
    func start(
        _ arguments: [String], log: String = "/dev/null", stderr: String? = nil,
        environment extra: [String: String] = [:]
    ) throws -> ChildProcess {
        try ChildProcess.spawn(
            .init(
                arguments: [CLI.binary.path] + arguments, environment: environment(extra), logPath: log,
                stderrPath: stderr, workingDirectory: workDirectory.path))
    }

    @discardableResult
    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    /// Runs `relctl ARGUMENTS` to completion (killed, and recorded as a failure, past the deadline).
    @discardableResult
    func run(
        _ arguments: [String], environment extra: [String: String] = [:], timeout: Double = childDeadline,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Result {
        let completed = try ChildProcess.run(
            arguments: [CLI.binary.path] + arguments, environment: environment(extra),
            workingDirectory: workDirectory.path, timeout: timeout)
        if completed.timedOut {
            Issue.record(
                "relctl \(arguments.joined(separator: " ")) ran past \(Int(timeout)) s and was killed",
                sourceLocation: sourceLocation)
        }
        return Result(status: completed.status, stdout: completed.stdout, stderr: completed.stderr)
    }

    /// `run` that must succeed; returns the parsed JSON object.
    @discardableResult
    func json(_ arguments: String...) throws -> [String: Any] {
        let result = try run(arguments + ["--output", "json"])
        #expect(result.status == 0, "relctl \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        return result.object
    }

    /// A function folder whose `bootstrap` is a custom runtime loop in sh: it takes each event from
    /// the Runtime API into $EVENT (request id in $ID, $API the base URL) and runs `body` on it.
    func runtimeLoop(_ name: String, body: String) throws -> String {
        let folder = workDirectory.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
            while true; do
              H=$(mktemp); EVENT=$(curl -sS -D "$H" "$API/invocation/next")
              ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2); rm -f "$H"
            \(body)
            done
            """
        let file = folder.appendingPathComponent("bootstrap")
        try Data(script.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        return folder.path
    }

    /// Writes a function folder with an executable `bootstrap` that prints `marker`.
    func source(_ name: String, marker: String, padding: Int = 0) throws -> String {
        let folder = workDirectory.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = "#!/bin/sh\necho \(marker)\n" + String(repeating: "#", count: padding)
        let file = folder.appendingPathComponent("bootstrap")
        try Data(script.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        return folder.path
    }
}

extension CLI {
    /// `run` for a command that might run away: the child gets at most `addressSpace` bytes of
    /// memory (`ulimit -v`, so a runaway allocation fails instead of taking the machine's memory)
    /// and its process group is SIGKILLed if it is still running after `deadline`.
    func run(
        _ arguments: [String], deadline: Duration, addressSpace: Int = 4 << 30
    ) throws -> (result: Result, timedOut: Bool) {
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        let completed = try ChildProcess.run(
            arguments: ["/bin/sh", "-c", "ulimit -v \(addressSpace / 1024) && exec \"$0\" \"$@\"", CLI.binary.path]
                + arguments,
            environment: environment(), workingDirectory: workDirectory.path, timeout: seconds)
        return (
            Result(status: completed.status, stdout: completed.stdout, stderr: completed.stderr), completed.timedOut
        )
    }
}
