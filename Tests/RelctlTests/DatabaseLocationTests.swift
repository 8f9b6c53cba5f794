import Foundation
import RelctlCore
import Testing

/// `--database` / `RELCTL_DATABASE` (issue 10 §3): libpq's URL form, and one clear error per mistake.
@Suite struct DatabaseLocationTests {
    @Test func defaultIsSQLiteAndTheFlagWinsOverTheEnvironment() throws {
        #expect(try DatabaseLocation.parse(database: nil, environment: [:]) == .sqlite)
        #expect(try DatabaseLocation.parse(database: "", environment: ["RELCTL_DATABASE": ""]) == .sqlite)
        let fromEnvironment = try DatabaseLocation.parse(
            database: nil, environment: ["RELCTL_DATABASE": "postgres://env@db.internal/relctl"])
        #expect(
            fromEnvironment
                == .postgres(
                    PostgresURL(endpoint: .tcp(host: "db.internal", port: 5432), username: "env", database: "relctl")))
        let fromFlag = try DatabaseLocation.parse(
            database: "sqlite", environment: ["RELCTL_DATABASE": "postgres://env@db.internal/relctl"])
        #expect(fromFlag == .sqlite)
    }

    @Test func fullURLWithPasswordPortAndSSLMode() throws {
        let url = try PostgresURL(
            "postgresql://app:s%40cret@10.0.0.5:6543/registry?sslmode=verify-full", name: "--database")
        #expect(url.endpoint == .tcp(host: "10.0.0.5", port: 6543))
        #expect(url.username == "app")
        #expect(url.password == "s@cret")
        #expect(url.database == "registry")
        #expect(url.sslMode == .verifyFull)
        #expect(url.description == "postgres://app@10.0.0.5:6543/registry?sslmode=verify-full")
        #expect(!url.description.contains("cret"))
    }

    @Test func unixSocketDirectoryAsLibpqNamesIt() throws {
        let url = try PostgresURL(
            "postgres://relctl@/db?host=/run/postgresql&port=5433&sslmode=disable", name: "RELCTL_DATABASE")
        #expect(url.endpoint == .unixSocket(path: "/run/postgresql/.s.PGSQL.5433"))
        #expect(url.sslMode == .disable)
    }

    @Test(arguments: [
        ("mysql://u@h/db", "must start with postgres://"),
        ("postgres://h/db", "names no user"),
        ("postgres://u@h", "names no database"),
        ("postgres://u@h:99999/db", "port"),
        (
            "postgres://u@h/db?sslmode=sometimes",
            "sslmode 'sometimes' is not one of disable, allow, prefer, require, verify-ca, verify-full"
        ),
        ("postgres://u@h/db?timeout=3", "'timeout' is not supported"),
        ("postgres://u:hunter2@h/a/b", "names no database"),
    ])
    func mistakesAreOneClearLine(text: String, expected: String) {
        do {
            _ = try DatabaseLocation.parse(database: text, environment: [:])
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidParameterValue)
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.hasPrefix("--database '"), "\(error.message)")
            #expect(!error.message.contains("hunter2"), "the password leaks: \(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }
}
