import Foundation

/// Where relctl keeps its registry: SQLite in the data directory (the default) or a PostgreSQL
/// database, as `--database` / `RELCTL_DATABASE` name it (issue 10 §3).
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite
    case postgres(PostgresURL)

    /// `--database` first, then `RELCTL_DATABASE`; unset or empty: SQLite in the data directory.
    public static func parse(database: String?, environment: [String: String]) throws(RelctlError) -> DatabaseLocation {
        if let database, !database.isEmpty { return try parse(database, name: "--database") }
        if let value = environment["RELCTL_DATABASE"], !value.isEmpty {
            return try parse(value, name: "RELCTL_DATABASE")
        }
        return .sqlite
    }

    /// One URL: `sqlite` (the data directory's own) or `postgres://…` / `postgresql://…`.
    public static func parse(_ text: String, name: String) throws(RelctlError) -> DatabaseLocation {
        if text == "sqlite" { return .sqlite }
        return .postgres(try PostgresURL(text, name: name))
    }

    /// For `config show` and messages: the engine and where, never a password.
    public var description: String {
        switch self {
        case .sqlite: "sqlite (the data directory's registry.sqlite)"
        case .postgres(let url): "postgresql \(url.description)"
        }
    }
}

/// A PostgreSQL connection URL in libpq's form:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE][&host=/socket/dir]`.
/// The password and user may be percent-encoded; `host=` (a directory) connects through the server's
/// Unix socket there, as libpq does. `sslmode` is libpq's: `disable`, `allow`/`prefer` (the default:
/// TLS when the server offers it), `require` (TLS, no certificate check), `verify-ca`, `verify-full`.
public struct PostgresURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The server's socket file (`<directory>/.s.PGSQL.<port>`).
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public init(
        endpoint: Endpoint, username: String, password: String? = nil, database: String, sslMode: SSLMode = .prefer
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    /// Parses `text`; `name` (the flag or variable it came from) heads every error.
    public init(_ text: String, name: String) throws(RelctlError) {
        let allowed =
            "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-ca|verify-full]"
        func fail(_ why: String) -> RelctlError {
            let shown = text.count > 120 ? String(text.prefix(120)) + "…" : text
            return RelctlError(
                .invalidParameterValue,
                "\(name) '\(PostgresURL.redacted(shown))' is not a database URL: \(why). Use \(allowed), or sqlite (the default)."
            )
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            throw fail("it must start with postgres:// or postgresql://")
        }
        guard let components = URLComponents(string: text) else { throw fail("it is not a well-formed URL") }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard query[item.name] == nil else { throw fail("'\(item.name)' is given twice") }
            query[item.name] = item.value ?? ""
        }
        for key in query.keys where !["sslmode", "host", "port", "user", "password", "dbname"].contains(key) {
            throw fail("the parameter '\(key)' is not supported (sslmode, host, port, user, password, dbname are)")
        }
        let mode = query["sslmode"] ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw fail("sslmode '\(mode)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let portText = query["port"] ?? components.port.map(String.init)
        let port: Int
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw fail("the port '\(portText)' is not a number from 1 to 65535")
            }
            port = value
        } else {
            port = 5432
        }
        let user = query["user"] ?? components.user.flatMap { $0.removingPercentEncoding }
        guard let user, !user.isEmpty else { throw fail("it names no user (postgres://USER@HOST/DATABASE)") }
        let password = query["password"] ?? components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = query["dbname"] ?? (path.removingPercentEncoding ?? path)
        guard !database.isEmpty, !database.contains("/") else {
            throw fail("it names no database (one path segment: postgres://USER@HOST/DATABASE)")
        }
        let endpoint: Endpoint
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            endpoint = .unixSocket(path: socketDirectory + "/.s.PGSQL.\(port)")
        } else {
            let host = query["host"] ?? components.host ?? ""
            guard !host.isEmpty else {
                throw fail("it names no host (postgres://USER@HOST/DATABASE, or ?host=/socket/dir)")
            }
            endpoint = .tcp(host: host, port: port)
        }
        self.init(endpoint: endpoint, username: user, password: password, database: database, sslMode: sslMode)
    }

    /// `postgres://user@host:port/db?sslmode=…`: where, without the password.
    public var description: String {
        let mode = sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)"
        switch endpoint {
        case .tcp(let host, let port): return "postgres://\(username)@\(host):\(port)/\(database)\(mode)"
        case .unixSocket(let path): return "postgres://\(username)@[\(path)]/\(database)\(mode)"
        }
    }

    /// The text with any `user:password@` password replaced by `***`, for messages.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@") else {
            return text
        }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
