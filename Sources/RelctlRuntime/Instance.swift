import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelctlCore
import RelctlProcess
import RelctlStorage

/// The outcome of one invocation, in Invoke's terms.
public struct InvocationResult: Sendable, Codable {
    public var StatusCode: Int
    public var Payload: String
    public var ExecutedVersion: String
    /// `Unhandled` when the function failed, nil otherwise.
    public var FunctionError: String?
    /// Base64 of the last 4 KB of the invocation's log, when asked for.
    public var LogResult: String?
    public var DurationMs: Double
    public var ColdStart: Bool
    public var RequestId: String
}

/// One invocation waiting for (or being handled by) an instance.
struct PendingInvocation: Sendable {
    var requestId: String
    var payload: ByteBuffer
    var deadlineMs: Int64
    var invokedArn: String
}

enum InvocationOutcome: Sendable {
    case response(ByteBuffer)
    /// A function error: the error object as payload.
    case error(ByteBuffer)
    /// The instance died before its bootstrap took the invocation: nothing ran, so it can go elsewhere.
    case notDelivered
}

/// One execution environment: a bootstrap process and the Runtime API it talks to, on its own
/// 127.0.0.1 port. It handles one invocation at a time and is reused while it lives.
actor Instance {
    let id = LowercaseUUID.make()
    let execution: VersionExecution
    let logURL: URL
    private(set) var invocationCount = 0
    private(set) var isDead = false
    private var deathReason = ""
    private var initError: ByteBuffer?
    private var process: ChildProcess?
    private var endpoint = FunctionEndpoint.none
    /// Whether the bootstrap has asked for an invocation yet (an exit before that is an init failure).
    private var initialized = false
    private var server: Task<Void, any Error>?
    private var waitingForNext: CheckedContinuation<PendingInvocation?, Never>?
    private var queued: PendingInvocation?
    private var queuedTimeout = 0.0
    private var timer: Task<Void, any Error>?
    private var current: (requestId: String, continuation: CheckedContinuation<InvocationOutcome, Never>)?
    /// Lambda's `AWS_LAMBDA_INITIALIZATION_TYPE`: `on-demand`, or `provisioned-concurrency` for an
    /// instance started ahead of any invocation.
    let initializationType: String
    /// Who waits for the init to end (`waitUntilInitialized`): nil on success, else why it failed.
    private var initWaiters: [CheckedContinuation<String?, Never>] = []

    init(execution: VersionExecution, logURL: URL, initializationType: String = "on-demand") {
        self.execution = execution
        self.logURL = logURL
        self.initializationType = initializationType
    }

    // MARK: Start and stop

    /// Starts the Runtime API server and the bootstrap. The first invocation may be submitted at
    /// once: the bootstrap picks it up with its first `next`.
    func start(
        taskRoot: URL, opt: URL?, region: String, sandbox: Sandbox, dataDirectory: URL, endpoint: FunctionEndpoint
    ) async throws {
        self.endpoint = endpoint
        let port = try await startServer()
        let view = (taskRoot: sandbox.taskRoot(host: taskRoot), opt: sandbox.opt(host: opt))
        let command = try Self.command(for: execution, taskRoot: taskRoot, opt: opt, view: view)
        var environment = Self.environment(
            for: execution, taskRoot: view.taskRoot, opt: view.opt, region: region, port: port)
        environment["AWS_LAMBDA_INITIALIZATION_TYPE"] = initializationType
        environment["AWS_LAMBDA_LOG_STREAM_NAME"] =
            "\(LambdaTimestamp.string(from: Date()).prefix(10))/[\(execution.versionText)]\(id)"
        // The function's AWS credentials are its own: they reach this instance's endpoint, which grants
        // a deployment hook the report of its own execution (and an invoke of the function it guards), nothing else.
        for (key, value) in endpoint.environment(port: port) { environment[key] = value }
        for (key, value) in execution.environment { environment[key] = value }
        // The memory size caps the data segment (heap and anonymous mappings), as near as a
        // process limit gets to Lambda's memory setting.
        let kilobytes = execution.memorySize * 1024
        let prelude =
            "ulimit -d \(kilobytes) 2>/dev/null; cd '\(view.taskRoot.replacingOccurrences(of: "'", with: "'\\''"))' || exit 127; "
        let arguments = sandbox.wrap(
            command, prelude: prelude, taskRoot: taskRoot, opt: opt, dataDirectory: dataDirectory,
            ephemeralStorageMB: execution.ephemeralStorageMB)
        let child = try await ChildProcess.spawn(
            .init(arguments: arguments, environment: environment, logPath: logURL.path, lifeline: true))
        process = child
        child.onExit { [weak self] raw in
            Task { await self?.processExited(raw) }
        }
    }

    private func startServer() async throws -> Int {
        let router = Router()
        let instance = self
        router.get("/2018-06-01/runtime/invocation/next") { _, _ -> Response in
            guard let invocation = await instance.next() else {
                return Response(status: .gone)
            }
            var headers = HTTPFields()
            headers[HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!] = invocation.requestId
            headers[HTTPField.Name("Lambda-Runtime-Deadline-Ms")!] = String(invocation.deadlineMs)
            headers[HTTPField.Name("Lambda-Runtime-Invoked-Function-Arn")!] = invocation.invokedArn
            headers[HTTPField.Name("Lambda-Runtime-Trace-Id")!] =
                "Root=1-\(String(invocation.deadlineMs, radix: 16))-\(invocation.requestId.replacingOccurrences(of: "-", with: "").prefix(24));Sampled=0"
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: invocation.payload))
        }
        router.post("/2018-06-01/runtime/invocation/:id/response") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 6 * 1024 * 1024 + 1)
            let accepted = await instance.complete(context.parameters.get("id") ?? "", .response(body))
            return Self.answer(accepted)
        }
        router.post("/2018-06-01/runtime/invocation/:id/error") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1024 * 1024)
            let type = request.headers[HTTPField.Name("Lambda-Runtime-Function-Error-Type")!]
            let accepted = await instance.complete(
                context.parameters.get("id") ?? "", .error(Self.errorObject(body, type: type)))
            return Self.answer(accepted)
        }
        router.post("/2018-06-01/runtime/init/error") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1024 * 1024)
            let type = request.headers[HTTPField.Name("Lambda-Runtime-Function-Error-Type")!]
            await instance.initFailed(Self.errorObject(body, type: type ?? "Runtime.InitError"))
            return Response(
                status: .accepted, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"OK\"}")))
        }
        endpoint.addRoutes(to: router)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: Logger(label: "relctl.runtime-api", factory: { _ in SwiftLogNoOpLogHandler() }))
        server = Task { try await app.run() }
        for await port in stream where port > 0 { return port }
        throw RelctlError(
            .service, "The Runtime API server for \(execution.functionName):\(execution.versionText) did not start.")
    }

    static func answer(_ accepted: Bool) -> Response {
        if accepted {
            return Response(
                status: .accepted, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"OK\"}")))
        }
        return Response(
            status: .badRequest, headers: [.contentType: "application/json"],
            body: .init(
                byteBuffer: ByteBuffer(
                    string: "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}")))
    }

    /// The error object a function reported, with its type filled in from the header when the body lacks one.
    static func errorObject(_ body: ByteBuffer, type: String?) -> ByteBuffer {
        let data = Data(body.readableBytesView)
        if var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            if object["errorType"] == nil, let type { object["errorType"] = type }
            if let encoded = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                return ByteBuffer(bytes: encoded)
            }
        }
        if data.isEmpty, let type {
            return ByteBuffer(string: "{\"errorMessage\":\"\(type)\",\"errorType\":\"\(type)\"}")
        }
        return body
    }

    /// Kills the bootstrap's process group and stops the server.
    func shutdown(reason: String = "shut down") {
        markDead(reason)
        process?.killGroup()
        // The server stops a moment later: cancelling it while a handler is still writing its
        // response (the bootstrap's pending `next`, answered 410 by markDead) traps in NIO
        // ("Deinited NIOAsyncWriter without calling finish()").
        if let server {
            self.server = nil
            Task {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                server.cancel()
            }
        }
    }

    // MARK: The Runtime API side

    func next() async -> PendingInvocation? {
        initialized = true
        for waiter in initWaiters { waiter.resume(returning: nil) }
        initWaiters.removeAll()
        if isDead { return nil }
        if let queued {
            self.queued = nil
            // Init is over: from here the invocation has the function's own timeout, as on Lambda.
            startTimer(for: queued.requestId, timeout: queuedTimeout, allowance: 0)
            return queued
        }
        return await withCheckedContinuation { continuation in
            if let previous = waitingForNext { previous.resume(returning: nil) }
            waitingForNext = continuation
        }
    }

    func complete(_ requestId: String, _ outcome: InvocationOutcome) -> Bool {
        guard let current, current.requestId == requestId else { return false }
        self.current = nil
        current.continuation.resume(returning: outcome)
        return true
    }

    func initFailed(_ error: ByteBuffer) {
        initError = error
        let current = self.current
        self.current = nil
        queued = nil
        shutdown(reason: "init error")
        current?.continuation.resume(returning: .error(error))
    }

    func processExited(_ raw: Int32) {
        let description = ChildProcess.describe(raw)
        let current = self.current
        let undelivered = queued != nil && invocationCount > 1
        self.current = nil
        queued = nil
        let wasDead = isDead
        shutdown(reason: "exited (\(description))")
        if let current, undelivered {
            current.continuation.resume(returning: .notDelivered)
        } else if let current {
            if !wasDead, !initialized,
                let missing = Self.missingInterpreterPiece(runtime: execution.runtime, log: logURL)
            {
                current.continuation.resume(
                    returning: .error(Self.errorJSON(type: "Runtime.ImportModuleError", message: missing)))
                return
            }
            let message =
                wasDead && deathReason.hasPrefix("timed out")
                ? deathReason : "RequestId: \(current.requestId) Error: Runtime exited with error: \(description)"
            current.continuation.resume(returning: .error(Self.errorJSON(type: "Runtime.ExitError", message: message)))
        }
    }

    /// Waits until the bootstrap has finished its init (asked for its first invocation), at most
    /// `limit` seconds (the instance is stopped then). Nil when it is ready, else why it is not.
    func waitUntilInitialized(limit: Double = Instance.initAllowance) async -> String? {
        if initialized && !isDead { return nil }
        if isDead { return initFailure }
        let timer = Task { [weak self] in
            try await Task.sleep(nanoseconds: UInt64(limit * 1e9))
            await self?.initTimedOut(after: limit)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { initWaiters.append($0) }
    }

    private func initTimedOut(after seconds: Double) {
        guard !initialized else { return }
        shutdown(reason: "init did not finish within \(Int(seconds)) s")
    }

    /// Why the init failed: the error the runtime reported, else how the process ended.
    private var initFailure: String {
        if let initError,
            let object = try? JSONSerialization.jsonObject(with: Data(initError.readableBytesView)) as? [String: Any]
        {
            return
                "\(object["errorType"] as? String ?? "Runtime.InitError"): \(object["errorMessage"] as? String ?? "")"
        }
        return "Runtime.ExitError: the runtime \(deathReason) before it finished its init"
    }

    private func markDead(_ reason: String) {
        guard !isDead else { return }
        isDead = true
        deathReason = reason
        if !initWaiters.isEmpty {
            let failure = initFailure
            for waiter in initWaiters { waiter.resume(returning: failure) }
            initWaiters.removeAll()
        }
        waitingForNext?.resume(returning: nil)
        waitingForNext = nil
    }

    // MARK: The invoker side

    /// Runs one invocation, enforcing the function's timeout by killing the instance.
    func invoke(_ invocation: PendingInvocation, timeout: Double) async -> InvocationOutcome {
        invocationCount += 1
        if isDead {
            // A fresh instance that is already gone failed at init: that is this invocation's error.
            if invocationCount == 1 {
                return .error(
                    initError
                        ?? Self.errorJSON(
                            type: "Runtime.ExitError",
                            message:
                                "RequestId: \(invocation.requestId) Error: Runtime exited during init (\(deathReason))")
                )
            }
            return .notDelivered
        }
        defer { timer?.cancel(); timer = nil }
        return await withCheckedContinuation { continuation in
            current = (invocation.requestId, continuation)
            if let waiting = waitingForNext {
                waitingForNext = nil
                startTimer(for: invocation.requestId, timeout: timeout, allowance: 0)
                waiting.resume(returning: invocation)
            } else {
                // The runtime is still initializing: as on Lambda, init has its own allowance
                // (10 s) before the function's timeout starts counting.
                queued = invocation
                queuedTimeout = timeout
                startTimer(for: invocation.requestId, timeout: timeout, allowance: Self.initAllowance)
            }
        }
    }

    /// Lambda's limit on the Init phase of an on-demand function.
    static let initAllowance = 10.0

    private func startTimer(for requestId: String, timeout: Double, allowance: Double) {
        timer?.cancel()
        timer = Task { [weak self] in
            try await Task.sleep(nanoseconds: UInt64((timeout + allowance) * 1e9))
            await self?.timeOut(requestId, after: timeout)
        }
    }

    private func timeOut(_ requestId: String, after seconds: Double) {
        guard let current, current.requestId == requestId else { return }
        self.current = nil
        let message = "RequestId: \(requestId) Error: Task timed out after \(String(format: "%.2f", seconds)) seconds"
        shutdown(reason: "timed out")
        current.continuation.resume(returning: .error(Self.errorJSON(type: "Sandbox.Timedout", message: message)))
    }

    static func errorJSON(type: String, message: String) -> ByteBuffer {
        let object = ["errorType": type, "errorMessage": message]
        return ByteBuffer(
            bytes: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    // MARK: Launch details

    /// What to run: the package's (or a layer's) `bootstrap` for custom runtimes; the Runtime
    /// Interface Client with the handler for python3.x. Files are looked up on the host, named as the
    /// function sees them (`view`: /var/task and /opt in the sandbox).
    static func command(
        for execution: VersionExecution, taskRoot: URL, opt: URL?, view: (taskRoot: String, opt: String?)
    ) throws -> [String] {
        let runtime = execution.runtime ?? "provided.al2023"
        if runtime.hasPrefix("python3") {
            return [
                "/usr/bin/env", "python3", "-m", "awslambdaric", execution.handler ?? "lambda_function.lambda_handler",
            ]
        }
        for (folder, seen) in [(taskRoot, view.taskRoot)] + (opt.map { [($0, view.opt ?? $0.path)] } ?? []) {
            let bootstrap = folder.appendingPathComponent("bootstrap")
            if FileManager.default.isExecutableFile(atPath: bootstrap.path) {
                let path = seen + "/bootstrap"
                // On Lambda /bin/sh is bash, and AWS's own tutorial bootstrap relies on it (`set -o
                // pipefail`, `source`, `function`). Where /bin/sh is another shell (dash on Debian),
                // a `#!/bin/sh` bootstrap runs under bash so it behaves as it does on Lambda.
                if shellNeedsBash, let head = try? FileHandle(forReadingFrom: bootstrap).read(upToCount: 64),
                    String(decoding: head, as: UTF8.self).hasPrefix("#!/bin/sh")
                {
                    return ["/bin/bash", path]
                }
                return [path]
            }
        }
        return [
            "/bin/sh", "-c",
            "echo 'Couldn'\\''t find valid bootstrap(s): [$LAMBDA_TASK_ROOT/bootstrap /opt/bootstrap]' >&2; curl -sS -X POST -H 'Lambda-Runtime-Function-Error-Type: Runtime.InvalidEntrypoint' \"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error\" -d '{\"errorType\":\"Runtime.InvalidEntrypoint\",\"errorMessage\":\"Couldn'\\''t find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]\"}' >/dev/null 2>&1; exit 1",
        ]
    }

    /// Why a python3.x instance died before it asked for work, when its output says an interpreter
    /// or AWS's Runtime Interface Client is missing (the handler's own import errors are reported by
    /// awslambdaric itself, as Runtime.ImportModuleError).
    static func missingInterpreterPiece(runtime: String?, log: URL) -> String? {
        guard let runtime, runtime.hasPrefix("python3") else { return nil }
        let handle = try? FileHandle(forReadingFrom: log)
        defer { try? handle?.close() }
        let size = (try? handle?.seekToEnd()) ?? 0
        try? handle?.seek(toOffset: size > 8192 ? size - 8192 : 0)
        let tail = String(decoding: (try? handle?.readToEnd()) ?? Data(), as: UTF8.self)
        if tail.contains("No module named awslambdaric") || tail.contains("No module named 'awslambdaric'") {
            return
                "Unable to import module 'awslambdaric': No module named 'awslambdaric'. relctl runs \(runtime) handlers through AWS's Runtime Interface Client; install it for the python3 on relctl's PATH: python3 -m pip install awslambdaric"
        }
        if tail.contains("python3: No such file or directory") || tail.contains("python3: not found") {
            return
                "Unable to start \(runtime): no python3 on relctl's PATH. Install Python 3 (Debian: apt-get install -y python3 python3-pip), then: python3 -m pip install awslambdaric"
        }
        return nil
    }

    /// True when /bin/sh is not bash but bash is installed.
    static let shellNeedsBash: Bool = {
        let sh = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/bin/sh")) ?? "/bin/sh"
        return !sh.hasSuffix("bash") && FileManager.default.isExecutableFile(atPath: "/bin/bash")
    }()

    /// Lambda's documented variables, the layer paths, then the function's own variables. Nothing
    /// of relctl's own (no data directory, no relctl binary, no keys) reaches the function.
    static func environment(
        for execution: VersionExecution, taskRoot: String, opt: String?, region: String, port: Int
    ) -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var path = ["/usr/local/bin", "/usr/bin", "/bin"]
        var libraries = ["/lib64", "/usr/lib64", taskRoot, taskRoot + "/lib"]
        var python = [taskRoot]
        // The interpreter relctl itself finds (awslambdaric lives in its site-packages).
        if let inheritedPath = inherited["PATH"] { path = inheritedPath.split(separator: ":").map(String.init) + path }
        if let opt {
            path.append(opt + "/bin")
            libraries.append(opt + "/lib")
            python.append(opt + "/python")
        }
        var environment: [String: String] = [
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:\(port)",
            "_HANDLER": execution.handler ?? "",
            "LAMBDA_TASK_ROOT": taskRoot,
            "LAMBDA_RUNTIME_DIR": taskRoot,
            "AWS_LAMBDA_FUNCTION_NAME": execution.functionName,
            "AWS_LAMBDA_FUNCTION_VERSION": execution.versionText,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": String(execution.memorySize),
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/\(execution.functionName)",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EXECUTION_ENV": "AWS_Lambda_\(execution.runtime ?? "provided.al2023")",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": path.joined(separator: ":"),
            "LD_LIBRARY_PATH": libraries.joined(separator: ":"),
            "PYTHONPATH": python.joined(separator: ":"),
        ]
        if let opt { environment["RELCTL_OPT"] = opt }
        // The interpreters relctl itself uses (pyenv finds its Python through these).
        for key in ["HOME", "PYENV_ROOT", "PYENV_VERSION"] {
            if let value = inherited[key] { environment[key] = value }
        }
        for (key, value) in execution.environment { environment[key] = value }
        return environment
    }
}
