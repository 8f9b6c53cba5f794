import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child started with posix_spawn in its own process group, so a kill reaches everything it
/// started, with a clean descriptor table (nothing of relctl's — its sockets, event fds, a test
/// runner's pipes — is inherited), and reaped by a thread of its own, so it never lingers as a
/// zombie whatever becomes of it.
///
/// Children are spawned from one long-lived thread: `PR_SET_PDEATHSIG` (which `bwrap
/// --die-with-parent` and `setpriv --pdeathsig` use to make a child die with relctl) fires when the
/// *thread* that created the child exits, and the concurrency pool's threads may come and go.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?
    private var exitHandlers: [@Sendable (Int32) -> Void] = []

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// What to start: `arguments[0]` (a path) with exactly `environment`; stdin from `stdinPath`,
    /// stdout appended to `logPath`, stderr too unless `stderrPath` names another file.
    public struct Launch: Sendable {
        public var arguments: [String]
        public var environment: [String: String]
        public var stdinPath: String
        public var logPath: String
        public var stderrPath: String?
        public var workingDirectory: String?
        /// Give the child the read end of relctl's `Lifeline` as descriptor 3 (for `Containment.guarded`).
        public var lifeline: Bool

        public init(
            arguments: [String], environment: [String: String], stdinPath: String = "/dev/null", logPath: String,
            stderrPath: String? = nil, workingDirectory: String? = nil, lifeline: Bool = false
        ) {
            self.lifeline = lifeline
            self.arguments = arguments
            self.environment = environment
            self.stdinPath = stdinPath
            self.logPath = logPath
            self.stderrPath = stderrPath
            self.workingDirectory = workingDirectory
        }
    }

    /// Starts a child (blocking the caller for the spawn itself, about a millisecond).
    public static func spawn(_ launch: Launch) throws -> ChildProcess {
        let result = Spawner.shared.run { Result { try startNow(launch) } }
        return try result.get()
    }

    /// Starts a child without blocking a concurrency thread.
    public static func spawn(_ launch: Launch) async throws -> ChildProcess {
        try await withCheckedThrowingContinuation { continuation in
            Spawner.shared.submit { continuation.resume(with: Result { try startNow(launch) }) }
        }
    }

    private static func startNow(_ launch: Launch) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, launch.stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, launch.logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        if let stderrPath = launch.stderrPath {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        if let workingDirectory = launch.workingDirectory {
            guard SpawnActions.addChdir(&actions, workingDirectory) else {
                throw NSError(
                    domain: NSPOSIXErrorDomain, code: Int(ENOSYS),
                    userInfo: [
                        NSLocalizedDescriptionKey:
                            "cannot start \(launch.arguments[0]) in \(workingDirectory): this C library cannot change directory in posix_spawn (glibc 2.29+ can)"
                    ])
            }
        }
        var lowestClosed: Int32 = 3
        if launch.lifeline, let lifeline = Lifeline.readEnd {
            posix_spawn_file_actions_adddup2(&actions, lifeline, 3)
            lowestClosed = 4
        }
        let closesInChild = SpawnActions.addCloseFrom(&actions, lowestClosed)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // relctl ignores SIGPIPE; the child gets the default dispositions and an empty mask.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = launch.arguments.map { strdup($0) } + [nil]
        let envp = launch.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        if !closesInChild { SpawnActions.markCloseOnExec(from: 3) }  // the lifeline's pipe is close-on-exec already
        var pid: pid_t = 0
        let result = posix_spawn(&pid, launch.arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw NSError(
                domain: NSPOSIXErrorDomain, code: Int(result),
                userInfo: [
                    NSLocalizedDescriptionKey:
                        "cannot start \(launch.arguments[0]): \(String(cString: strerror(result)))"
                ])
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
    public func onExit(_ handler: @escaping @Sendable (Int32) -> Void) {
        let already: Int32? = lock.withLock {
            if let status { return status }
            exitHandlers.append(handler)
            return nil
        }
        if let already { handler(already) }
    }

    public var hasExited: Bool { lock.withLock { status != nil } }

    /// The raw wait status, once it has exited.
    public var exitStatus: Int32? { lock.withLock { status } }

    /// True when it exited with status 0.
    public var succeeded: Bool { exitStatus.map { $0 & 0x7f == 0 && ($0 >> 8) & 0xff == 0 } ?? false }

    /// SIGKILL to the whole process group.
    public func killGroup() {
        if !hasExited { kill(-pid, SIGKILL) }
    }

    /// Kills the group and waits (up to `timeout` seconds) until the child is reaped.
    public func killGroupAndWait(timeout: Double = 5) {
        killGroup()
        let deadline = Date().addingTimeInterval(timeout)
        while !hasExited && Date() < deadline { usleep(2_000) }
    }

    /// `exit status 1` / `signal: killed`, as Lambda words it.
    public static func describe(_ raw: Int32) -> String {
        let signal = raw & 0x7f
        if signal == 0 { return "exit status \((raw >> 8) & 0xff)" }
        return signal == SIGKILL ? "signal: killed" : "signal: \(signal)"
    }
}

/// The one thread children are spawned from (see `ChildProcess`); it lives as long as the process.
final class Spawner: @unchecked Sendable {
    static let shared = Spawner()
    private let condition = NSCondition()
    private var work: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "relctl-spawner"
        thread.start()
    }

    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        work.append(job)
        condition.signal()
        condition.unlock()
    }

    func run<T>(_ job: @escaping () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var value: T?
        submit {
            value = job()
            done.signal()
        }
        done.wait()
        return value!
    }

    private func loop() {
        while true {
            condition.lock()
            while work.isEmpty { condition.wait() }
            let jobs = work
            work.removeAll()
            condition.unlock()
            for job in jobs { job() }
        }
    }
}

/// glibc's posix_spawn extensions that Swift's Glibc module does not export, looked up at run
/// time: `posix_spawn_file_actions_addclosefrom_np` (2.34+: close every descriptor above stderr in
/// the child) and `posix_spawn_file_actions_addchdir_np` (2.29+). Without the first, relctl's own
/// descriptors are marked close-on-exec before the spawn.
enum SpawnActions {
    private typealias IntAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias PathAction =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    nonisolated(unsafe) private static let closeFrom: IntAction? = symbol("posix_spawn_file_actions_addclosefrom_np")
    nonisolated(unsafe) private static let chdir: PathAction? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<T>(_ name: String) -> T? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }

    static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Bool {
        closeFrom.map { $0(actions, lowest) == 0 } ?? false
    }

    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Bool {
        chdir.map { function in path.withCString { function(actions, $0) == 0 } } ?? false
    }

    static func markCloseOnExec(from lowest: Int32) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            guard let fd = Int32(name), fd >= lowest else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}

extension ChildProcess {
    /// Waits until the child exits, at most `timeout` seconds; true when it did.
    @discardableResult
    public func wait(timeout: Double) -> Bool {
        let exited = DispatchSemaphore(value: 0)
        onExit { _ in exited.signal() }
        return exited.wait(timeout: .now() + timeout) == .success
    }

    /// The exit code, or 128 + the signal that ended it (as a shell reports it); nil while running.
    public var terminationStatus: Int32? {
        exitStatus.map { raw in raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f) }
    }

    /// True when a signal ended it.
    public var terminatedBySignal: Bool { exitStatus.map { $0 & 0x7f != 0 } ?? false }

    /// What a run to completion gave.
    public struct Completed: Sendable {
        /// The exit code, 128 + signal, or -1 when the deadline passed and the group was killed.
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
    }

    /// Runs `launch` to completion with its stdout and stderr captured (in files, so nothing the
    /// child leaves behind can hold a pipe open); past `timeout` seconds its whole process group is
    /// killed and `timedOut` is set.
    public static func run(
        arguments: [String], environment: [String: String], workingDirectory: String? = nil,
        stdinPath: String = "/dev/null", timeout: Double
    ) throws -> Completed {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("relctl-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("stdout").path
        let err = folder.appendingPathComponent("stderr").path
        let child = try spawn(
            Launch(
                arguments: arguments, environment: environment, stdinPath: stdinPath, logPath: out,
                stderrPath: err, workingDirectory: workingDirectory))
        let finished = child.wait(timeout: timeout)
        if !finished { child.killGroupAndWait() }
        func read(_ path: String) -> String {
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return Completed(
            status: finished ? child.terminationStatus ?? -1 : -1, stdout: read(out), stderr: read(err),
            timedOut: !finished)
    }
}
