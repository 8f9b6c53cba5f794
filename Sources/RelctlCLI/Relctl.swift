import ArgumentParser
import Foundation
import RelctlCore

/// The `relctl` command tree.
public struct Relctl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "relctl",
        abstract: "A self-hosted release manager for serverless functions: versions, weighted aliases, layers, quota.",
        discussion: """
            Data lives in --data-dir, else $RELCTL_HOME, else ~/.relctl (SQLite registry + content-addressed code).
            Exit status: 0 success, 1 a request failed (the line on stderr names the AWS error type), 64 usage error.
            """,
        version: "0.1.0",
        subcommands: [
            FunctionCommand.self, Publish.self, Versions.self, AliasCommand.self, Rollback.self, History.self,
            LayerCommand.self, QuotaCommand.self, Cleanup.self, GC.self, Fsck.self,
            Deploy.self, Deployments.self, ControllerCommand.self, PolicyCommand.self, AlarmCommand.self,
            MetricsCommand.self,
            Invoke.self, Traffic.self, Demo.self, Serve.self, CredentialsCommand.self, ConfigCommand.self,
            SAMCommand.self, StackCommand.self, JudgeCommand.self, Events.self, NotifyCommand.self,
            ReleaseCommand.self, MigrateStore.self,
        ]
    )

    public init() {}

    /// Runs the command line, mapping relctl's errors to `error: <AwsErrorType>: <message>` and exit 1.
    public static func runMain(_ arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch let error as RelctlError {
            Output.error(error)
            Foundation.exit(1)
        } catch let failure as CommandFailure {
            Foundation.exit(failure.status)
        } catch {
            exit(withError: error)
        }
    }
}

/// A command that already reported its failure and only needs to set the exit status.
struct CommandFailure: Error {
    var status: Int32
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Flags every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (default: $RELCTL_HOME, else ~/.relctl).")
    var dataDirectory: String?

    @Option(name: .shortAndLong, help: "table for people, json for scripts (AWS Lambda field names).")
    var output: OutputFormat = .table

    @Option(
        name: .customLong("code-store"),
        help: ArgumentHelp(
            "Also keep code in a bucket: s3://BUCKET[/PREFIX] (default: $RELCTL_CODE_STORE, else the data directory alone); endpoint from $RELCTL_S3_ENDPOINT (serve: --s3-endpoint), keys from $RELCTL_S3_ACCESS_KEY_ID / $RELCTL_S3_SECRET_ACCESS_KEY, region $RELCTL_S3_REGION.",
            valueName: "url"))
    var codeStore: String?

    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "The registry's database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE] (default: $RELCTL_DATABASE, else SQLite in the data directory).",
            valueName: "url"))
    var database: String?

    var resolvedDataDirectory: URL {
        if let dataDirectory { return URL(fileURLWithPath: dataDirectory, isDirectory: true) }
        if let home = ProcessInfo.processInfo.environment["RELCTL_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".relctl", isDirectory: true)
    }
}
