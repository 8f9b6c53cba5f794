import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlSigV4
import RelctlStore
import ServiceLifecycle
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What `relctl serve` was started with.
public struct ServerOptions: Sendable {
    public var host: String
    public var port: Int
    /// nil: on when credentials exist. Binding beyond loopback requires it.
    public var requireAuth: Bool?
    public var allowExecHooks: Bool
    public var s3Endpoint: URL?
    public var tickInterval: Double

    public init(host: String = "127.0.0.1", port: Int = 9000, requireAuth: Bool? = nil, allowExecHooks: Bool = false,
                s3Endpoint: URL? = nil, tickInterval: Double = 0.5) {
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

/// Shared by every request handler.
final class ServerContext: Sendable {
    let registry: Registry
    let pool: RuntimePool
    let options: ServerOptions
    let metrics: ServerMetrics
    /// The keys of credentials.json, re-read when the file changes.
    let credentials: CredentialCache
    let authRequired: Bool
    /// Signs and checks code URLs with a secret that lives only in this process.
    let codeURLs: CodeURLSigner
    let clock: @Sendable () -> Date
    let logger: Logger
    /// Where clients reach us (for GetFunction's Code.Location), set once the port is known.
    private let base = NIOLockedValueBox("")
    var baseURL: String { base.withLockedValue { $0 } }
    func setBaseURL(_ url: String) { base.withLockedValue { $0 = url } }

    init(registry: Registry, pool: RuntimePool, options: ServerOptions, metrics: ServerMetrics, credentials: CredentialCache,
         authRequired: Bool, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.registry = registry
        self.pool = pool
        self.options = options
        self.metrics = metrics
        self.credentials = credentials
        self.authRequired = authRequired
        self.codeURLs = .random()
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

    /// GET an object from the configured S3-compatible endpoint (path-style).
    func fetchFromS3(bucket: String, key: String, version: String?) throws(RelctlError) -> Data {
        guard let endpoint = options.s3Endpoint else {
            throw RelctlError(.invalidParameterValue, "Code from S3 (S3Bucket/S3Key) needs an S3-compatible endpoint: start the server with `relctl serve --s3-endpoint URL`, or send ZipFile.")
        }
        let path = "/" + [bucket, key].map { SigV4.uriEncode($0, keepSlash: true) }.joined(separator: "/")
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath.trimmingSuffix("/") + path
        if let version { components.queryItems = [URLQueryItem(name: "versionId", value: version)] }
        guard let url = components.url else { throw RelctlError(.invalidParameterValue, "Invalid S3 location \(bucket)/\(key).") }
        var request = URLRequest(url: url)
        let environment = ProcessInfo.processInfo.environment
        if let keyId = environment["RELCTL_S3_ACCESS_KEY_ID"], let secret = environment["RELCTL_S3_SECRET_ACCESS_KEY"] {
            for (name, value) in S3Signer.headers(url: url, keyId: keyId, secret: secret, region: environment["RELCTL_S3_REGION"] ?? "us-east-1") {
                request.setValue(value, forHTTPHeaderField: name)
            }
        }
        let box = NIOLockedValueBox<(Data?, Int, String?)>((nil, 0, nil))
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.withLockedValue { $0 = (data, (response as? HTTPURLResponse)?.statusCode ?? 0, error?.localizedDescription) }
            done.signal()
        }.resume()
        done.wait()
        let (data, status, failure) = box.withLockedValue { $0 }
        guard let data, status == 200 else {
            throw RelctlError(.invalidParameterValue, "Error occurred while GetObject. S3 Error Code: \(status == 404 ? "NoSuchKey" : "HTTP \(status)"). S3 Error Message: \(failure ?? "s3://\(bucket)/\(key) could not be read from \(endpoint.absoluteString)")")
        }
        return data
    }
}

enum S3Signer {
    /// SigV4 headers for an unsigned-payload GET (S3 signs the path encoded once).
    static func headers(url: URL, keyId: String, secret: String, region: String) -> [(String, String)] {
        let now = SigV4.formatAmzDate(Date())
        let host = url.host.map { name in url.port.map { "\(name):\($0)" } ?? name } ?? ""
        let signed = "host;x-amz-content-sha256;x-amz-date"
        let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQuery
        let canonical = ["GET", url.path.isEmpty ? "/" : URLComponents(url: url, resolvingAgainstBaseURL: false)!.percentEncodedPath,
                         SigV4.canonicalQuery(query), "host:\(host)\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:\(now)\n",
                         signed, "UNSIGNED-PAYLOAD"].joined(separator: "\n")
        let date = String(now.prefix(8))
        let signature = SigV4.signature(canonicalRequest: canonical, amzDate: now, date: date, region: region, service: "s3", secret: secret)
        return [("x-amz-date", now), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=\(keyId)/\(date)/\(region)/s3/aws4_request, SignedHeaders=\(signed), Signature=\(signature)")]
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

/// `relctl serve`.
public enum RelctlHTTPServer {
    /// Runs until SIGTERM/SIGINT (graceful: in-flight requests finish, the controller stops between
    /// ticks; deployments continue from their persisted step on the next start).
    public static func run(registry: Registry, options: ServerOptions, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let store = CredentialStore(dataDirectory: registry.dataDirectory)
        let credentials = try store.all()
        let authRequired = options.requireAuth ?? !credentials.isEmpty
        if !ServerOptions.isLoopback(options.host) && !authRequired {
            throw RelctlError(.invalidParameterValue, "Binding \(options.host) (beyond loopback) requires authentication: create a key with `relctl credentials create --name NAME` and start with --auth on.")
        }
        if authRequired && credentials.isEmpty {
            throw RelctlError(.invalidParameterValue, "--auth on needs at least one access key: `relctl credentials create --name NAME`.")
        }
        var configuredLogger = Logger(label: "relctl.serve")
        configuredLogger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let logger = configuredLogger
        let metrics = ServerMetrics()
        // Functions get no key of the server's: a hook reports through its own instance's endpoint.
        let pool = RuntimePool(store: registry, rollout: RolloutEngine(store: registry), observer: { function, version, result in metrics.invocation(function: function, version: version, result: result) })
        let context = ServerContext(registry: registry, pool: pool, options: options, metrics: metrics,
                                    credentials: CredentialCache(store: store), authRequired: authRequired, logger: logger)
        let responder = APIResponder(context: context)
        let controller = ControllerService(context: context)
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "relctl"),
            services: [controller],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                context.setBaseURL("http://\(options.host.contains(":") ? "[\(options.host)]" : options.host):\(port)")
                logger.info("relctl serve listening", metadata: ["address": "\(options.host):\(port)", "auth": "\(authRequired ? "on" : "off")",
                                                                 "data-dir": "\(registry.dataDirectory.path)"])
                onListening(port)
            },
            logger: logger)
        do {
            try await app.runService()
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
        logger.info("relctl serve stopped")
    }
}

/// The rollout controller as a service: ticks until graceful shutdown.
struct ControllerService: Service {
    let context: ServerContext

    func run() async throws {
        let controller = Controller(engine: RolloutEngine(store: context.registry), invokeFunctionHook: context.pool.invokeHook)
        // Another process that changes a deployment (a metric, a stop) wakes this one; else the interval.
        let listener = context.registry.localDirectory.flatMap(WakeListener.init(directory:))
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await controller.tick()
                    } catch {
                        context.logger.error("controller tick failed", metadata: ["error": "\(error)"])
                    }
                    if let listener {
                        _ = await listener.wait(timeout: context.options.tickInterval)
                    } else {
                        try await Task.sleep(nanoseconds: UInt64(context.options.tickInterval * 1e9))
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown between ticks: every step taken so far is persisted.
        }
        listener?.close()
        controller.hooks.stopAll()
        context.logger.info("controller stopped")
    }
}
