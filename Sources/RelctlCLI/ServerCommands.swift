import ArgumentParser
import Foundation
import Logging
import RelctlCore
import RelctlNotify
import RelctlPostgres
import RelctlRollout
import RelctlServer
import RelctlStorage
import RelctlStore
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Serve the AWS-compatible API (Lambda REST, CodeDeploy JSON 1.1), run the controller and the warm runtime.",
        discussion: """
            Point awscli or boto3 at it: `aws lambda list-functions --endpoint-url http://127.0.0.1:9000`. Loopback by default;
            any other address requires authentication (SigV4 with keys from `relctl credentials create`). GET /healthz, GET /metrics
            (Prometheus). SIGTERM/SIGINT stop it gracefully; deployments continue from their persisted step on the next start.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Address to bind.") var host: String = "127.0.0.1"
    @Option(help: "Port (0 picks a free one and prints it).") var port: Int = 9000
    @Option(help: "auto (on when credentials exist), on or off.") var auth: String = "auto"
    @Flag(
        name: .customLong("allow-exec-hooks"),
        help: "Accept exec:COMMAND hooks over the API (they run shell commands here).") var allowExecHooks = false
    @Option(name: .customLong("s3-endpoint"), help: "S3-compatible endpoint (path-style) for Code.S3Bucket/S3Key.")
    var s3Endpoint: String?
    @Option(help: "Seconds between controller ticks.") var tick: Double = 0.5
    @Option(
        help: ArgumentHelp(
            "How long a function created or updated through the API stays Pending / InProgress before it turns Active / Successful (its RevisionId changes then), as on AWS; 0 makes answers final at once.",
            valueName: "duration")) var settle: String = "5ms"

    func validate() throws {
        guard ["auto", "on", "off"].contains(auth) else { throw ValidationError("--auth is auto, on or off.") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535.") }
        guard tick > 0 else { throw ValidationError("--tick must be more than 0.") }
        _ = try settleSeconds()
    }

    func settleSeconds() throws -> Double {
        if settle == "0" { return 0 }
        guard let seconds = try? DurationText.parse(settle), seconds <= 600 else {
            throw ValidationError("--settle is a duration from 0 to 10m, e.g. 0, 5ms or 2s, not '\(settle)'.")
        }
        return seconds
    }

    func run() async throws {
        // StreamLogHandler's lines, buffered: one per request otherwise costs a flushed write(2) each.
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in BufferedLogHandler(label: label, level: level) }
        // On a shared database (--database postgres://…) the data directory still holds this server's
        // credentials and settings; the Lambda function, version and alias routes answer from the database.
        let codeStore = try global.remoteCodeStore(s3Endpoint: s3Endpoint)
        var registry = try Registry(dataDirectory: global.resolvedDataDirectory, remoteCode: codeStore)
        var sharedEngine: SharedEngine?
        if case .postgres(let url) = try global.databaseLocation() {
            // Every server on one database answers in the database's account and region (`relctl config set
            // account-id --database …`), whatever its own data directory says: its data directory's settings
            // only fill in what the database does not have. The data directory's registry (credentials, the
            // ARN checks of every route) answers in the same account.
            let store = try await PostgresStore.open(url, arn: registry.arn, actor: registry.actor)
                .answeringInStoredSettings(environment: ProcessInfo.processInfo.environment, otherwise: registry.arn)
            registry = registry.scoped(region: store.arn.region, account: store.arn.account)
            sharedEngine = await Self.sharedEngine(store, registry: registry, codeStore: codeStore, tick: tick)
        }
        let options = ServerOptions(
            host: host, port: port, requireAuth: auth == "auto" ? nil : auth == "on", allowExecHooks: allowExecHooks,
            s3Endpoint: try s3Endpoint.map { text in
                guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https" else {
                    throw RelctlError(.invalidParameterValue, "--s3-endpoint must be an http(s) URL.")
                }
                return url
            }, tickInterval: tick, settle: try settleSeconds())
        try await RelctlHTTPServer.run(registry: registry, sharedEngine: sharedEngine, options: options) { port in
            print("relctl serve: listening on http://\(host):\(port)")
            fflush(nil)
        }
    }
}

extension Serve {
    /// `--database postgres://…`: the registry records on PostgreSQL, code in `--code-store` (else this
    /// data directory's blobs), and what runs beside them (`postgresServices`).
    static func sharedEngine(
        _ store: PostgresStore, registry: Registry, codeStore: (any CodeObjectStore)?, tick: Double
    ) async -> SharedEngine {
        // The controller campaigns for leadership and ticks (fenced by its epoch) only while it leads.
        // Function hooks the leader claims run in this server's runtime (attached when `serve` has made it).
        let functionHooks = FunctionHookRelay(engine: RolloutEngine(store: store))
        let controller = await leadingControllerService(
            store, interval: tick, logger: Logger(label: "relctl.controller"), functionHooks: functionHooks)
        let objects = codeStore ?? registry.blobs
        // MARK: Webhooks (W): delivered by the leader alone, each webhook leased in its row.
        let status = controller.controller.status
        let webhooks = WebhookDispatcher(
            store: store, logger: Logger(label: "relctl.notify"), isActive: { status.leading })
        let records = PostgresRecords(store: store, code: objects)
        return SharedEngine(
            name: "PostgreSQL", records: records, codeDeploy: store,
            services: [controller, webhooks], leadership: controller.controller.status,
            runtime: SharedRuntime(
                store: PostgresInvocationStore(store: store, dataDirectory: registry.dataDirectory, objects: objects),
                rollout: RolloutEngine(store: store),
                leases: PostgresConcurrencyLeases(
                    store: store, holder: "\(ProcessInfo.processInfo.hostName):\(getpid())")),
            functionHooks: functionHooks, events: store,
            // MARK: S3 subset and CloudFormation (S): artifacts' bytes in the code store, rows in the database.
            s3Objects: records, stacks: store)
    }
}

struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials", abstract: "Access keys for `relctl serve` (SigV4).",
        subcommands: [Create.self, List.self, Delete.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key pair; the secret is printed once (kept in <data-dir>/credentials.json, mode 0600).")
        @OptionGroup var global: GlobalOptions
        @Option var name: String
        @Flag(name: .customLong("read-only"), help: "May only read and invoke.") var readOnly = false

        func run() throws {
            let credential = try CredentialStore(dataDirectory: global.resolvedDataDirectory).create(
                name: name, readOnly: readOnly)
            if global.output == .json {
                return Output.json([
                    "Name": credential.name, "AccessKeyId": credential.accessKeyId,
                    "SecretAccessKey": credential.secretAccessKey,
                    "ReadOnly": String(credential.readOnly),
                ])
            }
            print(
                "AccessKeyId:     \(credential.accessKeyId)\nSecretAccessKey: \(credential.secretAccessKey)\n(\(credential.readOnly ? "read-only; " : "")the secret is not shown again)"
            )
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let credentials = try CredentialStore(dataDirectory: global.resolvedDataDirectory).all()
            if global.output == .json {
                struct Item: Encodable {
                    var Name: String; var AccessKeyId: String; var ReadOnly: Bool; var Created: String
                }
                return Output.json([
                    "Credentials": credentials.map {
                        Item(Name: $0.name, AccessKeyId: $0.accessKeyId, ReadOnly: $0.readOnly, Created: $0.created)
                    }
                ])
            }
            Output.table(
                ["Name", "AccessKeyId", "Access", "Created"],
                credentials.map { [$0.name, $0.accessKeyId, $0.readOnly ? "read-only" : "read-write", $0.created] })
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key by name or access key id.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() throws {
            let deleted = try CredentialStore(dataDirectory: global.resolvedDataDirectory).delete(name)
            print(deleted ? "Deleted \(name)." : "No credential \(name).")
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Settings of the data directory: account-id (ARNs), region (the CLI's ARNs), sandbox (auto|on|off).",
        subcommands: [Set.self, Get.self, Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Which engines this command line uses: the data directory, the registry's database, the code store.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The S3 endpoint (default: $RELCTL_S3_ENDPOINT, else AWS's).") var s3Endpoint: String?

        func run() throws {
            let database = try global.databaseLocation()
            let code = try CodeStoreLocation.parse(
                codeStore: global.codeStore, s3Endpoint: s3Endpoint, environment: ProcessInfo.processInfo.environment)
            let codeText: String
            switch code {
            case .dataDirectory: codeText = "data directory (\(global.resolvedDataDirectory.path)/blobs)"
            case .s3(let settings):
                codeText =
                    "s3://\(settings.bucket)\(settings.prefix.isEmpty ? "" : "/" + settings.prefix) at \(settings.endpoint.absoluteString) (\(settings.region)), with a copy in the data directory"
            }
            let settings: String
            switch database {
            case .sqlite: settings = "data directory (account-id, region, sandbox in registry.sqlite)"
            case .postgres: settings = "database (account-id, region, sandbox in its settings table)"
            }
            let pairs = [
                ("data-dir", global.resolvedDataDirectory.path),
                ("database", database.description),
                ("code-store", codeText),
                ("settings", settings),
            ]
            switch global.output {
            case .table:
                for (key, value) in pairs {
                    print("\(key.padding(toLength: 11, withPad: " ", startingAt: 0)) \(value)")
                }
            case .json: Output.json(Dictionary(uniqueKeysWithValues: pairs))
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Set account-id, region or sandbox (auto: bubblewrap when it works here; on: bubblewrap or refuse; off: no sandbox)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument var key: String
        @Argument var value: String

        func run() async throws {
            // On --database the database keeps its own settings (every server's runtime reads `sandbox` there).
            if let store = try await global.postgresStore() {
                defer { store.close() }
                try await store.setSetting(key, value)
            } else {
                try global.registry().setSetting(key, value)
            }
            print("\(key) = \(value)")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a setting.")
        @OptionGroup var global: GlobalOptions
        @Argument var key: String

        func run() async throws {
            let arn: ArnContext
            let sandbox: String?
            if let store = try await global.postgresStore() {
                defer { store.close() }
                (arn, sandbox) = (store.arn, try await store.setting(Registry.sandboxKey))
            } else {
                let registry = try global.registry()
                (arn, sandbox) = (registry.arn, try registry.setting(Registry.sandboxKey))
            }
            switch key {
            case "account-id": print(arn.account)
            case "region": print(arn.region)
            case Registry.sandboxKey: print(sandbox ?? "auto")
            default: throw SettingRules.unknown(key)
            }
        }
    }
}
