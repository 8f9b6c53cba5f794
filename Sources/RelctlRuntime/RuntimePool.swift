import Foundation
import NIOCore
import RelctlCore
import RelctlStore

/// Runs invocations: picks the version by the alias's routing, reuses a warm instance of it or
/// starts one (a cold start), enforces timeouts and reserved concurrency, and records
/// Invocations / Errors / Throttles / Duration with FunctionName, Resource and ExecutedVersion.
public actor RuntimePool {
    let registry: Registry
    let cache: PackageCache
    let logFolder: URL
    let metrics: MetricsRecorder
    private var idle: [String: [Instance]] = [:]
    private var inflight: [String: Int] = [:]
    private var generator = SystemRandomNumberGenerator()
    public private(set) var coldStarts = 0

    /// Variables every instance gets on top of Lambda's (the server points hooks at itself).
    let extraEnvironment: @Sendable () -> [String: String]
    /// Told about every invocation (the server's /metrics).
    let observer: (@Sendable (_ function: String, _ version: String, _ result: InvocationResult?) -> Void)?

    public init(registry: Registry, extraEnvironment: @escaping @Sendable () -> [String: String] = { [:] },
                observer: (@Sendable (_ function: String, _ version: String, _ result: InvocationResult?) -> Void)? = nil) {
        self.registry = registry
        self.extraEnvironment = extraEnvironment
        self.observer = observer
        self.cache = PackageCache(dataDirectory: registry.dataDirectory, blobs: registry.blobs)
        self.logFolder = registry.dataDirectory.appendingPathComponent("logs", isDirectory: true)
        self.metrics = MetricsRecorder(registry: registry)
        try? FileManager.default.createDirectory(at: logFolder, withIntermediateDirectories: true)
        signal(SIGPIPE, SIG_IGN)
    }

    public enum InvocationType: String, Sendable {
        case requestResponse = "RequestResponse", event = "Event", dryRun = "DryRun"
    }

    /// Invoke. `routingKey` pins a caller to a version for given weights.
    public func invoke(_ function: FunctionReference, payload: Data, routingKey: String? = nil, logTail: Bool = false) async throws(RelctlError) -> InvocationResult {
        let target = try registry.invocationTarget(function)
        return try await invoke(target, payload: payload, routingKey: routingKey, logTail: logTail)
    }

    public func invoke(_ target: InvocationTarget, payload: Data, routingKey: String? = nil, logTail: Bool = false) async throws(RelctlError) -> InvocationResult {
        guard payload.count <= 6 * 1024 * 1024 else {
            throw RelctlError(.requestEntityTooLarge, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
        }
        let execution = target.execution(routingKey: routingKey, random: Double.random(in: 0..<1, using: &generator))
        let function = target.functionName
        let now = Date()
        if let reserved = target.reservedConcurrency, inflight[function, default: 0] >= reserved {
            await metrics.record(target, execution, metric: "Throttles", value: 1, at: now)
            observer?(function, execution.versionText, nil)
            throw RelctlError(.tooManyRequests, "Rate Exceeded.")
        }
        inflight[function, default: 0] += 1
        defer { inflight[function, default: 1] -= 1 }

        let requestId = UUID().uuidString.lowercased()
        let started = DispatchTime.now().uptimeNanoseconds
        var instance: Instance
        var cold: Bool
        var logStart: Int64
        var outcome: InvocationOutcome
        var attempts = 0
        repeat {
            attempts += 1
            if attempts == 1, let warm = await takeIdle(execution.instanceKey) {
                instance = warm
                cold = false
            } else {
                instance = try await startInstance(execution, target: target)
                cold = true
                coldStarts += 1
            }
            logStart = Self.fileSize(await instance.logURL)
            Self.appendLog(await instance.logURL, "START RequestId: \(requestId) Version: \(execution.versionText)\n")
            let deadline = Int64((Date().timeIntervalSince1970 + Double(execution.timeout)) * 1000)
            outcome = await instance.invoke(
                PendingInvocation(requestId: requestId, payload: ByteBuffer(bytes: payload), deadlineMs: deadline, invokedArn: target.invokedArn),
                timeout: Double(execution.timeout))
            // A warm instance that died while idle never saw the invocation: run it on a fresh one.
        } while outcome.isNotDelivered && attempts < 2
        let duration = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        Self.appendLog(await instance.logURL, "END RequestId: \(requestId)\nREPORT RequestId: \(requestId)\tDuration: \(String(format: "%.2f", duration)) ms\tMemory Size: \(execution.memorySize) MB\(cold ? "\tInit: cold start" : "")\n")
        if await !instance.isDead { idle[execution.instanceKey, default: []].append(instance) }
        var result = InvocationResult(
            StatusCode: 200, Payload: "", ExecutedVersion: execution.versionText, FunctionError: nil, LogResult: nil,
            DurationMs: duration, ColdStart: cold, RequestId: requestId)
        switch outcome {
        case .response(let body): result.Payload = String(buffer: body)
        case .error(let body):
            result.Payload = String(buffer: body)
            result.FunctionError = "Unhandled"
        case .notDelivered:
            result.Payload = String(buffer: Instance.errorJSON(type: "Runtime.ExitError", message: "RequestId: \(requestId) Error: Runtime exited before it took the invocation"))
            result.FunctionError = "Unhandled"
        }
        if logTail {
            let log = (try? Data(contentsOf: await instance.logURL)) ?? Data()
            result.LogResult = Data(log.dropFirst(Int(logStart)).suffix(4096)).base64EncodedString()
        }
        await metrics.record(target, execution, metric: "Invocations", value: 1, at: now)
        await metrics.record(target, execution, metric: "Errors", value: result.FunctionError == nil ? 0 : 1, at: now)
        await metrics.record(target, execution, metric: "Duration", value: duration, at: now)
        observer?(function, execution.versionText, result)
        return result
    }

    private func takeIdle(_ key: String) async -> Instance? {
        while let instance = idle[key]?.popLast() {
            if await !instance.isDead { return instance }
        }
        return nil
    }

    private func startInstance(_ execution: VersionExecution, target: InvocationTarget) async throws(RelctlError) -> Instance {
        let taskRoot = try cache.extracted(execution.sha256Hex)
        let opt = try cache.mergedLayers(execution.layers)
        let log = logFolder.appendingPathComponent("\(execution.functionName)-\(execution.versionText)-\(UUID().uuidString.prefix(8)).log")
        let instance = Instance(execution: execution, logURL: log)
        do {
            try await instance.start(taskRoot: taskRoot, opt: opt, region: registry.arn.region, extraEnvironment: extraEnvironment())
        } catch {
            await instance.shutdown()
            throw RelctlError(.service, "Cannot start an instance of \(execution.functionName):\(execution.versionText): \(error)")
        }
        return instance
    }

    /// Stops every instance and flushes the metrics.
    public func shutdown() async {
        for instances in idle.values {
            for instance in instances { await instance.shutdown() }
        }
        idle.removeAll()
        await metrics.flush()
    }

    public var warmInstances: Int { idle.values.reduce(0) { $0 + $1.count } }

    /// Invokes a deployment hook that is a registry function, asynchronously (as CodeDeploy does);
    /// the function then reports its result. An invocation that fails marks the hook Failed at once.
    public nonisolated func invokeHook(_ claim: ClaimedHook) {
        let registry = registry
        Task.detached {
            let payload = (try? JSONSerialization.data(withJSONObject: claim.payload, options: [.sortedKeys])) ?? Data("{}".utf8)
            do {
                let result = try await self.invoke(try FunctionReference(parsing: claim.execution.hook), payload: payload)
                if result.FunctionError != nil {
                    _ = try? registry.reportHookStatus(deploymentId: claim.deploymentId, executionId: claim.execution.executionId,
                                                       status: .failed, output: "the hook function failed: \(result.Payload)")
                }
            } catch {
                _ = try? registry.reportHookStatus(deploymentId: claim.deploymentId, executionId: claim.execution.executionId,
                                                   status: .failed, output: "cannot invoke the hook function: \(error)")
            }
        }
    }

    /// `shutdown()` for synchronous callers: waits until every instance is stopped.
    public nonisolated func shutdownAndWait() {
        let done = DispatchSemaphore(value: 0)
        Task {
            await shutdown()
            done.signal()
        }
        done.wait()
    }

    static func fileSize(_ url: URL) -> Int64 {
        var info = stat()
        return stat(url.path, &info) == 0 ? Int64(info.st_size) : 0
    }

    static func appendLog(_ url: URL, _ text: String) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { return }
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}

/// Buffers metric datapoints and writes them in batches (one transaction per flush).
public actor MetricsRecorder {
    let registry: Registry
    private var buffer: [MetricDatapoint] = []
    private var flusher: Task<Void, Never>?

    init(registry: Registry) {
        self.registry = registry
    }

    func record(_ target: InvocationTarget, _ execution: VersionExecution, metric: String, value: Double, at time: Date) {
        buffer.append(MetricDatapoint(
            functionName: target.functionName, resource: target.resource, executedVersion: execution.versionText,
            metric: metric, value: value, unit: metric == "Duration" ? "Milliseconds" : "Count", timestamp: time))
        if buffer.count >= 500 {
            flushNow()
        } else if flusher == nil {
            flusher = Task {
                try? await Task.sleep(nanoseconds: 100_000_000)
                self.flushNow()
            }
        }
    }

    private func flushNow() {
        flusher = nil
        guard !buffer.isEmpty else { return }
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        try? registry.putMetricData(batch)
    }

    public func flush() {
        flusher?.cancel()
        flushNow()
    }
}

extension InvocationOutcome {
    var isNotDelivered: Bool {
        if case .notDelivered = self { return true }
        return false
    }
}
