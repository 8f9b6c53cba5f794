import Foundation

/// The host's processes, read from /proc.
public enum ProcessTable {
    /// The processes whose environment holds `variable=value` (a function's own variables reach
    /// every process it starts, so this finds all of them wherever they moved: another session,
    /// another parent, a PID namespace).
    public static func pids(withEnvironment variable: String, _ value: String) -> [pid_t] {
        let needle = Data("\(variable)=\(value)".utf8)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), pid != getpid(),
                let environment = FileManager.default.contents(atPath: "/proc/\(name)/environ")
            else { return nil }
            return environment.split(separator: 0).contains { Data($0) == needle } ? pid : nil
        }
    }

    /// Polls until at least `count` processes have `variable=value` in their environment, at most
    /// `timeout` seconds; how many there are.
    @discardableResult
    public static func waitUntilAtLeast(_ count: Int, _ variable: String, _ value: String, timeout: Double) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var found = pids(withEnvironment: variable, value).count
        while found < count && Date() < deadline {
            usleep(50_000)
            found = pids(withEnvironment: variable, value).count
        }
        return found
    }

    /// Polls until no process has `variable=value` in its environment, at most `timeout` seconds;
    /// the ones left.
    public static func waitUntilGone(_ variable: String, _ value: String, timeout: Double) -> [pid_t] {
        let deadline = Date().addingTimeInterval(timeout)
        var left = pids(withEnvironment: variable, value)
        while !left.isEmpty && Date() < deadline {
            usleep(50_000)
            left = pids(withEnvironment: variable, value)
        }
        return left
    }
}
