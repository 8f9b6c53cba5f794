import Foundation
import RelctlCore
import RelctlProcess

/// How an instance's process is isolated.
///
/// Under bubblewrap (the default where it works): the package read-only at `/var/task`, the merged
/// layers read-only at `/opt`, a private `/tmp` capped at the function's ephemeral storage, the
/// host's root read-only (for interpreters), the data directory hidden, no capabilities, its own
/// PID namespace and session, and death with relctl (`--die-with-parent`), so everything the
/// function starts — also with `setsid` or a double fork — dies with the instance and with relctl.
///
/// Without it (`relctl config set sandbox off`, or no working `bwrap`): the function runs as a
/// plain process in relctl's file system, still in its own process group and with a parent-death
/// signal, so it dies with relctl.
public struct Sandbox: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// bubblewrap when it works here, else unsandboxed with a notice.
        case auto
        /// bubblewrap, or refuse to start functions.
        case on
        /// No sandbox.
        case off
    }

    /// The `bwrap` to run instances under; nil: unsandboxed.
    public let bubblewrap: String?

    public static let unsandboxed = Sandbox(bubblewrap: nil)

    init(bubblewrap: String?) {
        self.bubblewrap = bubblewrap
    }

    /// The sandbox for `mode` on this machine.
    public static func resolve(
        _ mode: Mode, bubblewrap: String? = Containment.bubblewrap
    ) throws(RelctlError) -> Sandbox {
        switch mode {
        case .off:
            return .unsandboxed
        case .on:
            guard let bubblewrap else {
                throw RelctlError(
                    .service,
                    "The sandbox is on (`relctl config get sandbox`) but bubblewrap cannot run here: install Debian's `bubblewrap` package (apt-get install -y bubblewrap), or `relctl config set sandbox off`."
                )
            }
            return Sandbox(bubblewrap: bubblewrap)
        case .auto:
            guard let bubblewrap else {
                noticeOnce()
                return .unsandboxed
            }
            return Sandbox(bubblewrap: bubblewrap)
        }
    }

    private static let notice: Void = {
        let text =
            "relctl: bubblewrap (bwrap) is not available here, so functions run without a sandbox: they can read the data directory and write outside their folder (they still die with relctl). Install Debian's `bubblewrap` package, or `relctl config set sandbox off` to run unsandboxed on purpose.\n"
        FileHandle.standardError.write(Data(text.utf8))
    }()

    static func noticeOnce() { _ = notice }

    public var isolated: Bool { bubblewrap != nil }

    /// Where the function sees its package and its layers.
    func taskRoot(host: URL) -> String { isolated ? "/var/task" : host.path }
    func opt(host: URL?) -> String? { host.map { isolated ? "/opt" : $0.path } }

    /// The command that runs `command` (already in the function's view of paths) for an instance,
    /// after `prelude` (limits, the working directory); spawn it with the lifeline.
    func wrap(
        _ command: [String], prelude: String, taskRoot: URL, opt: URL?, dataDirectory: URL, ephemeralStorageMB: Int
    ) -> [String] {
        guard let bubblewrap else { return Containment.guarded(command, scope: .processGroup, prelude: prelude) }
        var arguments = [
            bubblewrap,
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            // Lambda's file system: /var/task and /opt read-only, /tmp private and bounded.
            "--tmpfs", "/var",
            "--ro-bind", taskRoot.path, "/var/task",
            "--size", String(ephemeralStorageMB * 1024 * 1024), "--tmpfs", "/tmp",
        ]
        if let opt {
            arguments += ["--ro-bind", opt.path, "/opt"]
        } else {
            arguments += ["--tmpfs", "/opt", "--remount-ro", "/opt"]
        }
        // The registry, its blobs, keys and every other function's cache stay out of sight.
        let data = dataDirectory.resolvingSymlinksInPath().path
        if !data.hasPrefix("/tmp/") && !data.hasPrefix("/var/") {
            arguments += ["--tmpfs", data, "--remount-ro", data]
        }
        arguments += [
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--chdir", "/var/task",
            "--",
        ]
        return arguments + Containment.guarded(command, scope: .namespace, prelude: prelude)
    }
}
