import Foundation
import RelctlCore
import RelctlProcess
import RelctlStorage

/// Advances deployments (and release groups): every tick it moves due deployments a step (alarms are evaluated on
/// every tick), and runs `exec:` hooks. `relctl deploy` runs one scoped to its deployment,
/// `relctl controller run` and `relctl serve` one for all of them. Several may run at once against
/// one store. Between ticks it sleeps for the interval or until another process signals a change.
/// One task drives a controller at a time (it is not shared between tasks concurrently).
public final class Controller: @unchecked Sendable {
    public let engine: RolloutEngine
    public let hooks: HookRunner
    /// Only this deployment (a foreground `relctl deploy`), or all.
    public let scope: String?

    /// `invokeFunctionHook` invokes a hook that is a registry function (the local runtime does it);
    /// without one, such hooks wait for `relctl deployments hook-status`.
    public init(
        engine: RolloutEngine, scope: String? = nil, runnerName: String = Controller.defaultRunnerName(),
        invokeFunctionHook: (@Sendable (ClaimedHook) -> Void)? = nil
    ) {
        self.engine = engine
        self.scope = scope
        self.hooks = HookRunner(engine: engine, name: runnerName)
        self.hooks.invokeFunctionHook = invokeFunctionHook
    }

    public static func defaultRunnerName() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// One pass: run hooks that finished or are due, then tick the deployments.
    @discardableResult
    public func tick() async throws(RelctlError) -> [String] {
        try await hooks.poll(scope: scope)
        let changed = try await engine.tick(only: scope) + engine.tickReleases(only: scope)
        // A tick may have started new `exec:` hooks; launch them without waiting for the next pass.
        if !changed.isEmpty { try await hooks.poll(scope: scope) }
        return changed
    }

    /// Ticks every `interval` seconds (sooner when another process signals a change) until
    /// `shouldStop` says so (checked after each tick) or the task is cancelled.
    public func run(
        interval: Double, shouldStop: @Sendable () -> Bool, afterTick: () async -> Void = {}
    ) async throws(RelctlError) {
        let listener = engine.store.localDirectory.flatMap(WakeListener.init(directory:))
        defer {
            listener?.close()
            hooks.stopAll()
        }
        while true {
            try await tick()
            await afterTick()
            if shouldStop() || Task.isCancelled { break }
            // Running hooks are polled often (they finish at their own pace); otherwise the interval.
            let wait = hooks.runningCount > 0 ? min(interval, 0.2) : max(0.01, interval)
            if let listener {
                _ = await listener.wait(timeout: wait)
            } else {
                try? await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
            }
        }
    }
}

/// Where a controller made before the runtime sends the function hooks it claims: the server attaches its
/// runtime pool's invoker once the pool exists (before the controller's first tick). A claim made while
/// nothing is attached is reported Failed rather than left to its timeout.
public final class FunctionHookRelay: @unchecked Sendable {
    private let lock = NSLock()
    private var handler: (@Sendable (ClaimedHook) -> Void)?
    private let engine: RolloutEngine

    public init(engine: RolloutEngine) { self.engine = engine }

    public func attach(_ invoke: @escaping @Sendable (ClaimedHook) -> Void) {
        lock.withLock { handler = invoke }
    }

    /// The controller's `invokeFunctionHook`.
    public var invoke: @Sendable (ClaimedHook) -> Void {
        { [self] claim in
            if let handler = lock.withLock({ handler }) {
                handler(claim)
                return
            }
            let engine = engine
            Task {
                _ = try? await engine.reportHook(
                    deploymentId: claim.deploymentId, executionId: claim.execution.executionId, status: .failed,
                    output: "no runtime to invoke the hook function \(claim.execution.hook) in this process")
            }
        }
    }
}

/// Runs `exec:COMMAND` hooks as child processes (`/bin/sh -c`), the payload as JSON on stdin and in
/// `RELCTL_*` variables, output to `<data-dir>/hooks/<execution-id>.log`. Exit status 0 reports
/// Succeeded, anything else Failed, with the output's tail kept in the deployment record.
public final class HookRunner {
    let engine: RolloutEngine
    let name: String
    let logFolder: URL
    let dataDirectory: URL?
    private var running: [String: (deploymentId: String, process: ChildProcess, log: URL)] = [:]
    private var lastHeartbeat = Date.distantPast
    var invokeFunctionHook: (@Sendable (ClaimedHook) -> Void)?

    init(engine: RolloutEngine, name: String) {
        // A hook that exits without reading its stdin must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        self.engine = engine
        self.name = name
        self.dataDirectory = engine.store.localDirectory
        self.logFolder = (engine.store.localDirectory ?? FileManager.default.temporaryDirectory)
            .appendingPathComponent("hooks", isDirectory: true)
    }

    public var runningCount: Int { running.count }

    func poll(scope: String?) async throws(RelctlError) {
        // Finished processes report their outcome.
        for (executionId, entry) in running {
            guard let raw = entry.process.exitStatus else { continue }
            running[executionId] = nil
            try? FileManager.default.removeItem(at: eventFile(executionId))
            let status: HookStatus = entry.process.succeeded ? .succeeded : .failed
            let output = Self.tail(entry.log) + (status == .failed ? "\n[\(ChildProcess.describe(raw))]" : "")
            do {
                try await engine.reportHook(
                    deploymentId: entry.deploymentId, executionId: executionId, status: status, output: output)
            } catch  where error.code == .resourceConflict {
                // Already decided (timed out, or the deployment ended): nothing to report.
            }
        }
        // Heartbeats, and stopping processes nobody waits for any more.
        if Date().timeIntervalSince(lastHeartbeat) >= 2, !running.isEmpty {
            lastHeartbeat = Date()
            let unwanted = try await engine.heartbeatHooks(
                runner: name, executions: running.map { ($0.value.deploymentId, $0.key) })
            for executionId in unwanted {
                if let entry = running.removeValue(forKey: executionId) {
                    entry.process.killGroupAndWait()
                    try? FileManager.default.removeItem(at: eventFile(executionId))
                }
            }
        }
        for claim in try await engine.claimExecHooks(runner: name, only: scope)
        where running[claim.execution.executionId] == nil {
            await start(claim)
        }
        if let invokeFunctionHook {
            for claim in try await engine.claimFunctionHooks(runner: name, only: scope) { invokeFunctionHook(claim) }
        }
    }

    /// Starts the hook's command in its own process group, made to die with this controller (so a
    /// restarted controller that runs the hook again never races an orphan of the first run).
    private func start(_ claim: ClaimedHook) async {
        try? FileManager.default.createDirectory(at: logFolder, withIntermediateDirectories: true)
        let log = logFolder.appendingPathComponent("\(claim.execution.executionId).log")
        let event = eventFile(claim.execution.executionId)
        FileManager.default.createFile(atPath: log.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        let payload = String(
            decoding: (try? JSONSerialization.data(withJSONObject: claim.payload, options: [.sortedKeys]))
                ?? Data("{}".utf8), as: UTF8.self)
        FileManager.default.createFile(atPath: event.path, contents: Data(payload.utf8))
        environment["RELCTL_HOOK_EVENT"] = payload
        environment["RELCTL_DEPLOYMENT_ID"] = claim.deploymentId
        environment["RELCTL_LIFECYCLE_EVENT"] = claim.execution.event.rawValue
        environment["RELCTL_LIFECYCLE_EVENT_HOOK_EXECUTION_ID"] = claim.execution.executionId
        environment["RELCTL_FUNCTION_NAME"] = claim.payload["FunctionName"]
        environment["RELCTL_ALIAS"] = claim.payload["Alias"]
        environment["RELCTL_CURRENT_VERSION"] = claim.payload["CurrentVersion"]
        environment["RELCTL_TARGET_VERSION"] = claim.payload["TargetVersion"]
        environment["RELCTL_HOME"] = dataDirectory?.path
        let command = Containment.dieWithParent(["/bin/sh", "-c", claim.execution.command ?? "false"])
        do {
            let process = try await ChildProcess.spawn(
                .init(
                    arguments: command, environment: environment, stdinPath: event.path, logPath: log.path,
                    lifeline: true))
            running[claim.execution.executionId] = (claim.deploymentId, process, log)
        } catch {
            _ = try? await engine.reportHook(
                deploymentId: claim.deploymentId, executionId: claim.execution.executionId, status: .failed,
                output: "cannot start /bin/sh: \(error.localizedDescription)")
        }
    }

    public func stopAll() {
        for (executionId, entry) in running {
            entry.process.killGroupAndWait()
            try? FileManager.default.removeItem(at: eventFile(executionId))
        }
        running.removeAll()
    }

    /// The hook's event, its stdin while it runs (removed once it has finished; the log stays).
    private func eventFile(_ executionId: String) -> URL {
        logFolder.appendingPathComponent("\(executionId).event.json")
    }

    /// The last 16 KB of a hook's output.
    static func tail(_ url: URL) -> String {
        guard let data = try? Data(contentsOf: url) else { return "" }
        return String(decoding: data.suffix(16 * 1024), as: UTF8.self)
    }
}
