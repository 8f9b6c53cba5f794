import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RelctlCore
import RelctlNotify
import RelctlRollout
import RelctlRuntime
import RelctlSigV4
import RelctlStorage
import RelctlStore
import ServiceLifecycle

/// What `relctl serve` was started with.
public struct ServerOptions: Sendable {
    public var host: String
    public var port: Int
    /// nil: on when credentials exist. Binding beyond loopback requires it.
    public var requireAuth: Bool?
    public var allowExecHooks: Bool
    public var s3Endpoint: URL?
    public var tickInterval: Double
    /// Seconds a created or updated function stays `Pending` / `InProgress` before it settles, as on
    /// AWS (0: answers are final at once).
    public var settle: Double

    public static let defaultSettle = 0.005

    public init(
        host: String = "127.0.0.1", port: Int = 9000, requireAuth: Bool? = nil, allowExecHooks: Bool = false,
        s3Endpoint: URL? = nil, tickInterval: Double = 0.5, settle: Double = ServerOptions.defaultSettle
    ) {
        self.settle = settle
        self.host = host
        self.port = port
        self.requireAuth = requireAuth
        self.allowExecHooks = allowExecHooks
        self.s3Endpoint = s3Endpoint
        self.tickInterval = tickInterval
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}

/// A database several servers share (issue 10 §5): the registry records the Lambda function, version
/// and alias routes answer from instead of the data directory's SQLite, and the background work that
/// runs beside them. Operations not moved onto the records yet refuse in one line (`RegistryScope`).
public struct SharedEngine: Sendable {
    /// For messages: "PostgreSQL".
    public var name: String
    public var records: any RegistryRecords
    /// The CodeDeploy API's records and the rollout store its deployments run on (nil: the SQLite registry's).
    public var codeDeploy: (any CodeDeployStore)?
    /// Started and stopped with the server, in place of the SQLite controller and webhooks (with a `runtime`,
    /// the provisioned-concurrency reconcile runs beside them, on the engine's settings).
    public var services: [any Service]
    // MARK: Webhooks and events (W)
    /// What `GET /events` reads (nil: the SQLite registry's log); the webhook dispatcher is among `services`.
    public var events: (any EventLog)?
    /// Whether this server's controller leads (`/healthz`, `/metrics`); nil when none campaigns.
    public var leadership: LeadershipStatus?
    /// What Invoke runs on: the engine's invocation targets, settings and code, where the runtime's
    /// metrics and function hooks' reports go, and reserved concurrency counted across servers. nil: this
    /// server's SQLite registry.
    public var runtime: SharedRuntime?
    /// Where the leading controller sends the function hooks it claims: `serve` attaches its runtime pool.
    public var functionHooks: FunctionHookRelay?
    // MARK: S3 subset and CloudFormation (S)
    /// The S3 subset's buckets and objects (`sam deploy`'s artifacts) on this engine.
    public var s3Objects: (any S3ObjectStore)?
    /// Stacks, change sets and their events (the CloudFormation API) on this engine.
    public var stacks: (any StackStore)?

    public init(
        name: String, records: any RegistryRecords, codeDeploy: (any CodeDeployStore)? = nil,
        services: [any Service] = [], leadership: LeadershipStatus? = nil, runtime: SharedRuntime? = nil,
        functionHooks: FunctionHookRelay? = nil, events: (any EventLog)? = nil,
        s3Objects: (any S3ObjectStore)? = nil, stacks: (any StackStore)? = nil
    ) {
        self.s3Objects = s3Objects
        self.stacks = stacks
        self.events = events
        self.functionHooks = functionHooks
        self.name = name
        self.records = records
        self.codeDeploy = codeDeploy
        self.services = services
        self.leadership = leadership
        self.runtime = runtime
    }
}

/// The runtime's parts on a shared engine (see `SharedEngine.runtime`).
public struct SharedRuntime: Sendable {
    public var store: any InvocationStore
    public var rollout: any HookStatusReporter & MetricSink
    public var leases: any ConcurrencyLeases

    public init(
        store: any InvocationStore, rollout: any HookStatusReporter & MetricSink, leases: any ConcurrencyLeases
    ) {
        self.store = store
        self.rollout = rollout
        self.leases = leases
    }
}

/// What the routes and middleware share: the registry, the runtime, credentials, metrics, and the
/// threads registry calls run on.
final class ServerServices: Sendable {
    let registry: Registry
    let pool: RuntimePool
    let options: ServerOptions
    let metrics: ServerMetrics
    /// The keys of credentials.json, re-read when the file changes.
    let credentials: CredentialCache
    let authRequired: Bool
    /// Signs and checks code URLs with a secret that lives only in this process.
    let codeURLs: CodeURLSigner
    let s3: S3CodeSource
    /// Where synchronous registry calls run (`AppRequestContext.store`), never on an event loop.
    let storeThreads: NIOThreadPool
    let clock: @Sendable () -> Date
    let logger: Logger
    /// The leading controller's status when the database is shared (nil: the local controller always runs).
    let leadership: LeadershipStatus?
    /// nil: the data directory's SQLite answers everything.
    let sharedEngine: SharedEngine?
    /// What the moved routes answer from: the shared engine's records, or the SQLite registry on the store threads.
    let records: any RegistryRecords
    // MARK: S3 subset and CloudFormation (S)
    /// What the S3 routes answer from: the shared engine's, or the SQLite registry on the store threads.
    let s3Objects: any S3ObjectStore
    /// What the CloudFormation API's stacks are kept in: the shared engine's, or the SQLite registry.
    var stacks: any StackStore { sharedEngine?.stacks ?? registry }
    /// The event log (`GET /events`, the dashboard) of the engine the server answers from.
    var eventLog: any EventLog { sharedEngine?.events ?? registry }
    /// Functions created through the API that may still be `Pending` (see FunctionSettling.swift).
    let settling = FunctionSettling()
    /// Where clients reach us (for GetFunction's Code.Location), set once the port is known.
    private let base = NIOLockedValueBox("")
    var baseURL: String { base.withLockedValue { $0 } }
    func setBaseURL(_ url: String) { base.withLockedValue { $0 = url } }

    init(
        registry: Registry, pool: RuntimePool, options: ServerOptions, metrics: ServerMetrics,
        credentials: CredentialCache,
        authRequired: Bool, storeThreads: NIOThreadPool, logger: Logger, sharedEngine: SharedEngine? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }, leadership: LeadershipStatus? = nil
    ) {
        self.leadership = leadership
        self.sharedEngine = sharedEngine
        self.records = sharedEngine?.records ?? ThreadedRecords(registry: registry, threads: storeThreads)
        self.s3Objects = sharedEngine?.s3Objects ?? ThreadedRecords(registry: registry, threads: storeThreads)
        self.registry = registry
        self.pool = pool
        self.options = options
        self.metrics = metrics
        self.credentials = credentials
        self.authRequired = authRequired
        self.codeURLs = .random()
        self.s3 = S3CodeSource(endpoint: options.s3Endpoint, client: .shared)
        self.storeThreads = storeThreads
        self.clock = clock
        self.logger = logger
    }

    /// The key a request names, as of now: a deleted key is gone on the next request.
    func credential(accessKeyId: String) throws(RelctlError) -> Credential? {
        return try credentials.credential(accessKeyId: accessKeyId)
    }

    static func codePath(_ sha256Hex: String) -> String { "/relctl/code/\(sha256Hex)" }

    /// A presigned URL for code this server holds, valid for `CodeURLSigner.lifetime` seconds.
    func codeLocation(sha256Hex: String, region: String) -> String {
        let path = Self.codePath(sha256Hex)
        return baseURL + path + "?" + codeURLs.query(path: path, region: region, now: clock())
    }
}

/// The router: relctl's own endpoints, the Lambda REST API, the CodeDeploy JSON 1.1 API, CloudFormation
/// (awsquery, sharing `POST /` with CodeDeploy) and path-style S3 for `sam deploy`'s artifacts, behind
/// (outermost first) operation naming, request logs, request metrics, AWS error rendering and SigV4.
func buildRouter(services: ServerServices) -> Router<AppRequestContext> {
    let routes =
        SystemRoutes(services: services).routes + LambdaRoutes(services: services).routes
        + CloudFormationRoutes(services: services).sharingRoot(with: CodeDeployRoutes(services: services).routes)
        + EventRoutes(services: services).routes + DashboardRoutes(services: services).routes
        // Last: path-style S3 (`/{bucket}/**`) takes only what no other route matched.
        + S3Routes(services: services).routes
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: OperationMiddleware(routes: routes))
    router.add(middleware: RequestLoggingMiddleware(logger: services.logger))
    router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: AWSErrorMiddleware())
    router.add(middleware: AuthenticationMiddleware(services: services))
    router.add(routes)
    return router
}

/// `relctl serve`.
public enum RelctlHTTPServer {
    /// Runs until SIGTERM/SIGINT (graceful: in-flight requests finish, the controller stops between
    /// ticks; deployments continue from their persisted step on the next start).
    public static func run(
        registry: Registry, sharedEngine: SharedEngine? = nil, options: ServerOptions,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let store = CredentialStore(dataDirectory: registry.dataDirectory)
        let credentials = try store.all()
        let authRequired = options.requireAuth ?? !credentials.isEmpty
        if !ServerOptions.isLoopback(options.host) && !authRequired {
            throw RelctlError(
                .invalidParameterValue,
                "Binding \(options.host) (beyond loopback) requires authentication: create a key with `relctl credentials create --name NAME` and start with --auth on."
            )
        }
        if authRequired && credentials.isEmpty {
            throw RelctlError(
                .invalidParameterValue,
                "--auth on needs at least one access key: `relctl credentials create --name NAME`.")
        }
        var configuredLogger = Logger(label: "relctl.serve")
        configuredLogger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let logger = configuredLogger
        let metrics = ServerMetrics()
        // Functions get no key of the server's: a hook reports through its own instance's endpoint.
        let pool = RuntimePool(
            store: sharedEngine?.runtime?.store ?? registry,
            rollout: sharedEngine?.runtime?.rollout ?? RolloutEngine(store: registry),
            leases: sharedEngine?.runtime?.leases,
            observer: { function, version, result in
                metrics.invocation(function: function, version: version, result: result)
            })
        sharedEngine?.functionHooks?.attach(pool.invokeHook)
        // SQLite calls block (a write waits for fsync): enough threads that a few slow writes leave readers running.
        let storeThreads = NIOThreadPool(numberOfThreads: max(4, 2 * System.coreCount))
        storeThreads.start()
        // Transitions a previous run left unsettled (its timers died with it) settle now.
        try registry.settleAllTransitions()
        let services = ServerServices(
            registry: registry, pool: pool, options: options, metrics: metrics,
            credentials: CredentialCache(store: store), authRequired: authRequired, storeThreads: storeThreads,
            logger: logger, sharedEngine: sharedEngine, leadership: sharedEngine?.leadership)
        let background: [any Service] =
            sharedEngine.map { engine in
                // Each server keeps the shared settings' provisioned instances warm in its own runtime.
                engine.services + (engine.runtime == nil ? [] : [ProvisionedConcurrencyService(services: services)])
            } ?? [
                ControllerService(services: services), WebhookDispatcher(store: registry, logger: logger),
                ProvisionedConcurrencyService(services: services),
            ]
        let app = Application(
            router: buildRouter(services: services),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "relctl"),
            services: background,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                services.setBaseURL("http://\(options.host.contains(":") ? "[\(options.host)]" : options.host):\(port)")
                logger.info(
                    "relctl serve listening",
                    metadata: [
                        "address": "\(options.host):\(port)", "auth": "\(authRequired ? "on" : "off")",
                        "data-dir": "\(registry.dataDirectory.path)",
                        "registry": "\(sharedEngine?.name ?? "SQLite")",
                    ])
                onListening(port)
            },
            logger: logger)
        do {
            try await app.runService()
        } catch {
            await pool.shutdown()
            try? await storeThreads.shutdownGracefully()
            throw error
        }
        await pool.shutdown()
        try? await storeThreads.shutdownGracefully()
        logger.info("relctl serve stopped")
        BufferedLogOutput.standardError.flush()
    }
}

/// Keeps the runtime's provisioned instances in line with the settings and the aliases, which
/// deployments (here or in another process) move: one reconcile per controller interval.
struct ProvisionedConcurrencyService: Service {
    let services: ServerServices

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await services.pool.reconcileProvisionedConcurrency()
                } catch {
                    services.logger.error("provisioned concurrency reconcile failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(nanoseconds: UInt64(services.options.tickInterval * 1e9))
            }
        }
    }
}

/// The rollout controller as a service: ticks until graceful shutdown.
struct ControllerService: Service {
    let services: ServerServices

    func run() async throws {
        let controller = Controller(
            engine: RolloutEngine(store: services.registry), invokeFunctionHook: services.pool.invokeHook)
        // Another process that changes a deployment (a metric, a stop) wakes this one; else the interval.
        let listener = services.registry.localDirectory.flatMap(WakeListener.init(directory:))
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await controller.tick()
                    } catch {
                        services.logger.error("controller tick failed", metadata: ["error": "\(error)"])
                    }
                    if let listener {
                        _ = await listener.wait(timeout: services.options.tickInterval)
                    } else {
                        try await Task.sleep(nanoseconds: UInt64(services.options.tickInterval * 1e9))
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown between ticks: every step taken so far is persisted.
        }
        listener?.close()
        controller.hooks.stopAll()
        services.logger.info("controller stopped")
    }
}
