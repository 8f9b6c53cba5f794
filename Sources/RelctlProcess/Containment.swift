import Foundation

/// How a child is made to die with relctl, including on `kill -9`.
///
/// - bubblewrap (`bwrap`) with its own PID namespace and `--die-with-parent`: when relctl dies,
///   bwrap is killed, the namespace's init with it, and the kernel kills every process in the
///   namespace — also those started with `setsid` or a double fork.
/// - Without bubblewrap: the child's process group; what it starts in a session of its own is not covered.
///
/// Both also hold a lifeline (`Lifeline`): a watcher inside that kills everything the moment relctl
/// is gone, which also covers bubblewrap's own start-up, before its parent-death signal is armed.
public enum Containment {
    /// The path of a working `bwrap` (probed once: it must start a PID namespace here), or nil.
    public static let bubblewrap: String? = {
        guard let path = executable("bwrap") else { return nil }
        let probe = [
            path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--die-with-parent",
            "--cap-drop", "ALL", "--", "/bin/true",
        ]
        return run(probe) ? path : nil
    }()

    /// `command` wrapped so that it and everything it starts die with this process: a PID namespace
    /// under bubblewrap (the host's file system unchanged), else its process group. Spawn it with
    /// `lifeline: true`.
    public static func dieWithParent(_ command: [String]) -> [String] {
        if let bubblewrap {
            return [bubblewrap, "--dev-bind", "/", "/", "--unshare-pid", "--die-with-parent", "--"]
                + guarded(command, scope: .namespace)
        }
        return guarded(command, scope: .processGroup)
    }

    /// What the lifeline's watcher kills when relctl dies.
    public enum Scope: Sendable {
        /// Every process of the PID namespace the command runs in (bubblewrap's).
        case namespace
        /// The command's process group (without a PID namespace: `setsid` escapes it).
        case processGroup
    }

    /// `command` run by a shell that first starts a watcher on the lifeline (descriptor 3, see
    /// `Lifeline`): when relctl dies — however, also before bubblewrap has armed its own parent-death
    /// signal — the watcher sees end-of-file and kills everything in `scope`. The command itself
    /// starts without descriptor 3. `prelude` runs first (e.g. `ulimit`).
    public static func guarded(_ command: [String], scope: Scope, prelude: String = "") -> [String] {
        let victims = scope == .namespace ? "-1" : "0"
        let script =
            "(cat <&3 >/dev/null 2>&1; kill -KILL \(victims)) </dev/null >/dev/null 2>&1 & exec 3<&-; \(prelude)exec \"$@\""
        return ["/bin/sh", "-c", script, "relctl-lifeline"] + command
    }

    static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") + ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a short probe to completion (at most 10 s); true when it exits 0.
    static func run(_ arguments: [String]) -> Bool {
        guard
            let child = try? ChildProcess.spawn(
                .init(arguments: arguments, environment: ["PATH": "/usr/bin:/bin"], logPath: "/dev/null"))
        else {
            return false
        }
        let deadline = Date().addingTimeInterval(10)
        while !child.hasExited && Date() < deadline { usleep(1_000) }
        if !child.hasExited { child.killGroupAndWait() }
        return child.succeeded
    }
}

/// A pipe whose write end only this process holds (close-on-exec): a child given the read end
/// sees end-of-file exactly when this process has died, however it died.
public enum Lifeline {
    static let descriptors: (read: Int32, write: Int32) = {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return (-1, -1) }
        // Above the standard descriptors and 3, so the child's dup2 onto 3 is never a no-op.
        let read = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
        let write = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
        close(fds[0])
        close(fds[1])
        return (read, write)
    }()

    /// The read end, or nil when no pipe could be made.
    static var readEnd: Int32? { descriptors.read >= 0 ? descriptors.read : nil }
}
