import Foundation
import RelctlCore
import RelctlPostgres
import RelctlProcess

/// A throw-away PostgreSQL 15 cluster for this test process: `initdb` in a temporary directory,
/// `postgres` on a free port on 127.0.0.1 with its socket in that directory, run as `nobody` when the
/// tests run as root (postgres refuses root). One cluster serves the whole process; each test gets
/// its own database (`database()`).
///
/// A watchdog shell started with the cluster stops it (and removes its directory) when this test
/// process ends, however it ends — kill -9 included — so no server outlives the tests.
/// If PostgreSQL cannot start, every test that asks for it fails with one line saying why.
final class PostgresCluster: Sendable {
    /// Debian's server binaries: the newest major version installed (15 on Debian 12), or 15's path to name in the error.
    static let binaries: String = {
        let majors = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(
            Int.init
        ).sorted()
        return "/usr/lib/postgresql/\(majors.last ?? 15)/bin"
    }()
    static let user = "relctl"

    let root: URL
    let port: Int
    let watchdog: ChildProcess

    private static let started: Result<PostgresCluster, RelctlError> = Result { () throws(RelctlError) in
        try PostgresCluster()
    }
    private static let counter = Counter()

    /// The shared cluster, started on first use.
    static func shared() throws(RelctlError) -> PostgresCluster { try started.get() }

    /// A new empty database on the shared cluster, and where it is.
    static func database() throws(RelctlError) -> PostgresStore.Location {
        let cluster = try shared()
        let name = "t\(counter.next())"
        let created = try cluster.run(
            [binaries + "/createdb", "-h", cluster.socketDirectory, "-p", String(cluster.port), "-U", user, name],
            timeout: 60)
        guard created.status == 0 else {
            throw failure("createdb \(name) failed: \(created.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return cluster.location(database: name)
    }

    var socketDirectory: String { root.appendingPathComponent("socket").path }

    func location(database: String) -> PostgresStore.Location {
        PostgresStore.Location(
            endpoint: .unixSocket(path: socketDirectory + "/.s.PGSQL.\(port)"), username: Self.user, database: database)
    }

    private init() throws(RelctlError) {
        guard FileManager.default.isExecutableFile(atPath: Self.binaries + "/initdb") else {
            throw Self.failure(
                "\(Self.binaries)/initdb is missing: install Debian's postgresql package (scripts/setup test does)")
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "relctl-pg-\(UUID().uuidString.prefix(8))")
        let runAs = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] : []
        do {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("socket"), withIntermediateDirectories: true)
            if getuid() == 0 {
                for path in [root.path, root.appendingPathComponent("socket").path] {
                    try FileManager.default.setAttributes(
                        [.ownerAccountID: 65534, .groupOwnerAccountID: 65534], ofItemAtPath: path)
                }
            }
        } catch {
            throw Self.failure("cannot prepare \(root.path): \(error)")
        }
        self.root = root
        self.port = Self.freePort()
        let initdb = try Self.runStatic(
            runAs + [
                Self.binaries + "/initdb", "-D", root.appendingPathComponent("data").path, "-U", Self.user,
                "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C",
            ], timeout: 120)
        guard initdb.status == 0 else {
            try? FileManager.default.removeItem(at: root)
            throw Self.failure("initdb failed: \(initdb.stderr.split(separator: "\n").last ?? "")")
        }
        // The watchdog: starts postgres, stops it when this process is gone or when told to (TERM), then removes the folder.
        let script = """
            owner=$1; shift
            "$@" &
            server=$!
            stop() { kill -INT $server 2>/dev/null; for _ in $(seq 100); do kill -0 $server 2>/dev/null || break; sleep 0.1; done
                     kill -KILL $server 2>/dev/null; rm -rf "\(root.path)"; exit 0; }
            trap stop TERM INT
            while kill -0 "$owner" 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.5; done
            stop
            """
        let arguments =
            ["/bin/bash", "-c", script, "watchdog", String(getpid())] + runAs + [
                Self.binaries + "/postgres", "-D", root.appendingPathComponent("data").path, "-p", String(port), "-k",
                root.appendingPathComponent("socket").path,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
                "full_page_writes=off",
                "-c", "max_connections=300", "-c", "shared_buffers=32MB",
            ]
        do {
            watchdog = try ChildProcess.spawn(
                ChildProcess.Launch(
                    arguments: arguments, environment: ["PATH": "/usr/bin:/bin"],
                    logPath: root.appendingPathComponent("server.log").path))
        } catch {
            throw Self.failure("cannot start postgres: \(error)")
        }
        // Ready within a deadline, else the server is stopped and every PostgreSQL test fails with the log's last line.
        let deadline = Date().addingTimeInterval(60)
        while true {
            let ready = try Self.runStatic(
                [Self.binaries + "/pg_isready", "-h", socketDirectory, "-p", String(port), "-U", Self.user], timeout: 10
            )
            if ready.status == 0 { break }
            if watchdog.hasExited || Date() > deadline {
                let log = (try? String(contentsOf: root.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
                watchdog.killGroupAndWait()
                try? FileManager.default.removeItem(at: root)
                throw Self.failure(
                    "postgres did not become ready on port \(port): \(log.split(separator: "\n").last ?? "no log")")
            }
            usleep(100_000)
        }
    }

    /// Runs a client program as this process's user (clients connect over the socket as `relctl`).
    func run(_ arguments: [String], timeout: Double) throws(RelctlError) -> ChildProcess.Completed {
        try Self.runStatic(arguments, timeout: timeout)
    }

    /// Runs SQL with psql against `database` (for ending a backend, reading a table directly).
    func psql(_ sql: String, database: String) throws(RelctlError) -> String {
        let result = try run(
            [
                Self.binaries + "/psql", "-h", socketDirectory, "-p", String(port), "-U", Self.user, "-d", database,
                "-v", "ON_ERROR_STOP=1", "-Atc", sql,
            ], timeout: 60)
        guard result.status == 0 else { throw Self.failure("psql failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func runStatic(_ arguments: [String], timeout: Double) throws(RelctlError) -> ChildProcess.Completed
    {
        do {
            return try ChildProcess.run(
                arguments: arguments, environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C"], timeout: timeout)
        } catch {
            throw failure("cannot run \(arguments.first ?? ""): \(error)")
        }
    }

    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func failure(_ message: String) -> RelctlError {
        RelctlError(.service, "PostgreSQL for the tests: \(message)")
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.withLock {
                value += 1; return value
            }
        }
    }
}
