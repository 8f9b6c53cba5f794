import Foundation

/// A child started with posix_spawn in its own process group, so a kill reaches everything it
/// started (a shell bootstrap's curl, say), and reaped by a thread of its own, so it never lingers
/// as a zombie whatever becomes of it.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?
    private var exitHandlers: [@Sendable (Int32) -> Void] = []

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `arguments[0]` with exactly `environment`, output appended to `logPath`, stdin empty.
    static func spawn(_ arguments: [String], environment: [String: String], logPath: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // relctl ignores SIGPIPE; the function gets the default dispositions and an empty mask.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(result),
                          userInfo: [NSLocalizedDescriptionKey: "cannot start \(arguments[0]): \(String(cString: strerror(result)))"])
        }
        let child = ChildProcess(pid: pid)
        let childPid = pid
        let reaper = Thread {
            var raw: Int32 = 0
            while waitpid(childPid, &raw, 0) < 0 && errno == EINTR {}
            child.finished(raw)
        }
        reaper.name = "relctl-reaper-\(pid)"
        reaper.start()
        return child
    }

    private func finished(_ raw: Int32) {
        let handlers: [@Sendable (Int32) -> Void] = lock.withLock {
            status = raw
            defer { exitHandlers.removeAll() }
            return exitHandlers
        }
        for handler in handlers { handler(raw) }
    }

    /// Calls `handler` once the child has exited (at once if it already has).
    func onExit(_ handler: @escaping @Sendable (Int32) -> Void) {
        let already: Int32? = lock.withLock {
            if let status { return status }
            exitHandlers.append(handler)
            return nil
        }
        if let already { handler(already) }
    }

    var hasExited: Bool { lock.withLock { status != nil } }

    /// SIGKILL to the whole process group.
    func killGroup() {
        if !hasExited { kill(-pid, SIGKILL) }
    }

    /// `exit status 1` / `signal: killed`, as Lambda words it.
    static func describe(_ raw: Int32) -> String {
        let signal = raw & 0x7f
        if signal == 0 { return "exit status \((raw >> 8) & 0xff)" }
        return signal == SIGKILL ? "signal: killed" : "signal: \(signal)"
    }
}
