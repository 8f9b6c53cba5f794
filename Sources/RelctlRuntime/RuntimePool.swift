import Foundation
import NIOCore
import RelctlCore
import RelctlProcess
import RelctlStorage
import RelctlSystem

/// Runs invocations: picks the version by the alias's routing, reuses a warm instance of it or
/// starts one (a cold start), enforces timeouts and reserved concurrency, and records
/// Invocations / Errors / Throttles / Duration with FunctionName, Resource and ExecutedVersion.
public actor RuntimePool {
    let store: any InvocationStore
    /// Where function hooks report and metrics go: the rollout engine.
    let rollout: any HookStatusReporter & MetricSink
    let cache: PackageCache
    let logFolder: URL
    let metrics: MetricsRecorder
    private var idle: [String: [Instance]] = [:]
    /// Instances running an invocation now (stopped too at shutdown).
    private var busy: [String: Instance] = [:]
    private var inflight: [String: Int] = [:]
    private var generator = RoutingRandom()
    public private(set) var coldStarts = 0
    /// Provisioned concurrency (see RuntimePool+Provisioned.swift): every instance kept for it, by
    /// instance id — free, running an invocation or still in its init. Kept apart from `idle`, so
    /// nothing that trims idle instances can touch them.
    var provisioned: [String: ProvisionedInstance] = [:]
    /// Initialised provisioned instances not running an invocation, by `instanceKey`.
    var provisionedFree: [String: [Instance]] = [:]
    /// The reconcile running now: one at a time, so that two never start the same missing instance.
    var provisioning: Task<RelctlError?, Never>?
    /// Why provisioning a version execution failed (its init failed): not retried until the settings change.
    var provisionFailures: [String: String] = [:]

    /// Told about every invocation (the server's /metrics).
    let observer: (@Sendable (_ function: String, _ version: String, _ result: InvocationResult?) -> Void)?

    /// Reserved concurrency across servers (a shared store); nil: this pool counts its own invocations.
    let leases: (any ConcurrencyLeases)?

    public init(
        store: any InvocationStore, rollout: any HookStatusReporter & MetricSink,
        leases: (any ConcurrencyLeases)? = nil,
        observer: (@Sendable (_ function: String, _ version: String, _ result: InvocationResult?) -> Void)? = nil
    ) {
        self.store = store
        self.rollout = rollout
        self.leases = leases
        self.observer = observer
        self.cache = PackageCache(dataDirectory: store.dataDirectory, blobs: store.code)
        self.logFolder = store.dataDirectory.appendingPathComponent("logs", isDirectory: true)
        self.metrics = MetricsRecorder(sink: rollout)
        try? FileManager.default.createDirectory(at: logFolder, withIntermediateDirectories: true)
        signal(SIGPIPE, SIG_IGN)
    }

    public enum InvocationType: String, Sendable {
        case requestResponse = "RequestResponse", event = "Event", dryRun = "DryRun"
    }

    /// Invoke. `routingKey` pins a caller to a version for given weights.
    public func invoke(
        _ function: FunctionReference, payload: Data, routingKey: String? = nil, logTail: Bool = false
    ) async throws(RelctlError) -> InvocationResult {
        let target = try await store.resolveInvocation(function)
        return try await invoke(target, payload: payload, routingKey: routingKey, logTail: logTail)
    }

    public func invoke(
        _ target: InvocationTarget, payload: Data, routingKey: String? = nil, logTail: Bool = false
    ) async throws(RelctlError) -> InvocationResult {
        try await invoke(target, payload: payload, routingKey: routingKey, logTail: logTail, grant: nil)
    }

    /// With a `grant`, the invocation runs on an instance of its own whose credentials carry that
    /// grant (a deployment hook), stopped afterwards.
    func invoke(
        _ target: InvocationTarget, payload: Data, routingKey: String?, logTail: Bool, grant: HookGrant?
    ) async throws(RelctlError) -> InvocationResult {
        guard payload.count <= 6 * 1024 * 1024 else {
            throw RelctlError(
                .requestEntityTooLarge, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
        }
        let execution = target.execution(routingKey: routingKey, random: generator.unit())
        let function = target.functionName
        let now = Date()
        var lease: ConcurrencyLease?
        if let reserved = target.reservedConcurrency {
            if let leases {
                // A slot among every server's invocations; it frees itself if this server dies mid-invocation.
                lease = try await leases.acquire(
                    function: function, limit: reserved, seconds: Double(execution.timeout) + 30)
            }
            if leases != nil ? lease == nil : inflight[function, default: 0] >= reserved {
                await metrics.record(target, execution, metric: "Throttles", value: 1, at: now)
                observer?(function, execution.versionText, nil)
                throw RelctlError(.tooManyRequests, "Rate Exceeded.")
            }
        }
        inflight[function, default: 0] += 1
        defer { inflight[function, default: 1] -= 1 }
        do {
            let result = try await admitted(
                target, execution, payload: payload, logTail: logTail, grant: grant, started: now)
            if let lease { await leases?.release(lease) }
            return result
        } catch {
            if let lease { await leases?.release(lease) }
            throw error
        }
    }

    /// An invocation past admission: an instance (warm, provisioned or new) runs it.
    private func admitted(
        _ target: InvocationTarget, _ execution: VersionExecution, payload: Data, logTail: Bool, grant: HookGrant?,
        started now: Date
    ) async throws(RelctlError) -> InvocationResult {
        let function = target.functionName
        let requestId = LowercaseUUID.make()
        let started = DispatchTime.now().uptimeNanoseconds
        var instance: Instance
        var cold: Bool
        var logStart: Int64
        var outcome: InvocationOutcome
        var attempts = 0
        repeat {
            attempts += 1
            // Provisioned instances first (their init ran before any invocation), then on-demand ones.
            var warm: Instance?
            if attempts == 1, grant == nil {
                warm = await takeProvisioned(execution.instanceKey)
                if warm == nil { warm = await takeIdle(execution.instanceKey) }
            }
            if let warm {
                instance = warm
                cold = false
            } else {
                let files: (taskRoot: URL, opt: URL?)
                switch await extractedFiles(execution) {
                case .success(let extracted): files = extracted
                case .failure(let error):
                    // A package that cannot be extracted is the function's error, as a broken deployment package is on Lambda.
                    return await packageFailed(
                        error, target: target, execution: execution, requestId: requestId, at: now)
                }
                instance = try await startInstance(execution, files: files, grant: grant)
                cold = true
                coldStarts += 1
            }
            let key = await instance.id
            busy[key] = instance
            defer { busy[key] = nil }
            logStart = Self.fileSize(await instance.logURL)
            Self.appendLog(await instance.logURL, "START RequestId: \(requestId) Version: \(execution.versionText)\n")
            let deadline = Int64((Date().timeIntervalSince1970 + Double(execution.timeout)) * 1000)
            outcome = await instance.invoke(
                PendingInvocation(
                    requestId: requestId, payload: ByteBuffer(bytes: payload), deadlineMs: deadline,
                    invokedArn: target.invokedArn),
                timeout: Double(execution.timeout))
            // A warm instance that died while idle never saw the invocation: run it on a fresh one.
            if outcome.isNotDelivered { forgetProvisioned(key) }
        } while outcome.isNotDelivered && attempts < 2
        let duration = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        Self.appendLog(
            await instance.logURL,
            "END RequestId: \(requestId)\nREPORT RequestId: \(requestId)\tDuration: \(String(format: "%.2f", duration)) ms\tMemory Size: \(execution.memorySize) MB\(cold ? "\tInit: cold start" : "")\n"
        )
        if grant != nil {
            await instance.shutdown(reason: "hook invocation done")
        } else if await !instance.isDead {
            if !returnProvisioned(instance, key: await instance.id) {
                idle[execution.instanceKey, default: []].append(instance)
            }
        } else {
            // A provisioned instance that died (a timeout, a crash) is replaced on the next reconcile.
            forgetProvisioned(await instance.id)
        }
        var result = InvocationResult(
            StatusCode: 200, Payload: "", ExecutedVersion: execution.versionText, FunctionError: nil, LogResult: nil,
            DurationMs: duration, ColdStart: cold, RequestId: requestId)
        switch outcome {
        case .response(let body): result.Payload = String(buffer: body)
        case .error(let body):
            result.Payload = String(buffer: body)
            result.FunctionError = "Unhandled"
        case .notDelivered:
            result.Payload = String(
                buffer: Instance.errorJSON(
                    type: "Runtime.ExitError",
                    message: "RequestId: \(requestId) Error: Runtime exited before it took the invocation"))
            result.FunctionError = "Unhandled"
        }
        if logTail {
            let log = (try? Data(contentsOf: await instance.logURL)) ?? Data()
            result.LogResult = Data(log.dropFirst(Int(logStart)).suffix(4096)).base64EncodedString()
        }
        await metrics.record(
            target, execution,
            [("Invocations", 1), ("Errors", result.FunctionError == nil ? 0 : 1), ("Duration", duration)], at: now)
        observer?(function, execution.versionText, result)
        return result
    }

    private func takeIdle(_ key: String) async -> Instance? {
        while let instance = idle[key]?.popLast() {
            if await !instance.isDead { return instance }
        }
        return nil
    }

    /// The package's folder and the merged layers, extracted (once per content) from the blobs.
    func extractedFiles(_ execution: VersionExecution) async -> Result<(taskRoot: URL, opt: URL?), RelctlError> {
        do throws(RelctlError) {
            return .success(
                (try await cache.extracted(execution.sha256Hex), try await cache.mergedLayers(execution.layers)))
        } catch {
            return .failure(error)
        }
    }

    func startInstance(
        _ execution: VersionExecution, files: (taskRoot: URL, opt: URL?), grant: HookGrant?,
        initializationType: String = "on-demand"
    ) async throws(RelctlError) -> Instance {
        let (taskRoot, opt) = files
        let sandbox = try Sandbox.resolve(
            Sandbox.Mode(rawValue: try await store.readSetting("sandbox") ?? "auto") ?? .auto)
        let log = logFolder.appendingPathComponent(
            "\(execution.functionName)-\(execution.versionText)-\(UUID().uuidString.prefix(8)).log")
        let instance = Instance(execution: execution, logURL: log, initializationType: initializationType)
        let rollout = rollout
        let endpoint = FunctionEndpoint(
            grant: grant,
            report: { grant, status throws(RelctlError) in
                try await rollout.reportHookStatus(
                    deploymentId: grant.deploymentId, executionId: grant.executionId, status: status,
                    output: "reported \(status.rawValue) by the hook function")
            },
            invoke: { [weak self] function, payload throws(RelctlError) in
                guard let self else { throw RelctlError(.service, "The runtime is shutting down.") }
                return try await self.invoke(function, payload: payload)
            })
        do {
            try await instance.start(
                taskRoot: taskRoot, opt: opt, region: store.arn.region, sandbox: sandbox,
                dataDirectory: store.dataDirectory, endpoint: endpoint)
        } catch {
            await instance.shutdown()
            throw RelctlError(
                .service, "Cannot start an instance of \(execution.functionName):\(execution.versionText): \(error)")
        }
        return instance
    }

    private func packageFailed(
        _ error: RelctlError, target: InvocationTarget, execution: VersionExecution, requestId: String, at now: Date
    ) async -> InvocationResult {
        let payload = Instance.errorJSON(
            type: "Runtime.InvalidPackage",
            message:
                "RequestId: \(requestId) Error: the deployment package of \(execution.functionName):\(execution.versionText) cannot be extracted: \(error.message)"
        )
        let result = InvocationResult(
            StatusCode: 200, Payload: String(buffer: payload), ExecutedVersion: execution.versionText,
            FunctionError: "Unhandled",
            LogResult: nil, DurationMs: 0, ColdStart: true, RequestId: requestId)
        await metrics.record(target, execution, [("Invocations", 1), ("Errors", 1)], at: now)
        observer?(target.functionName, execution.versionText, result)
        return result
    }

    /// Stops every instance and flushes the metrics.
    public func shutdown() async {
        provisioning?.cancel()
        for instance in Array(idle.values.joined()) + Array(busy.values) + provisioned.values.map(\.instance) {
            await instance.shutdown()
        }
        idle.removeAll()
        busy.removeAll()
        provisioned.removeAll()
        provisionedFree.removeAll()
        await metrics.flush()
    }

    public var warmInstances: Int { idle.values.reduce(0) { $0 + $1.count } }

    /// Invokes a deployment hook that is a registry function, asynchronously (as CodeDeploy does);
    /// the function then reports its result. An invocation that fails marks the hook Failed at once.
    public nonisolated func invokeHook(_ claim: ClaimedHook) {
        let store = store
        let rollout = rollout
        Task.detached {
            let payload =
                (try? JSONSerialization.data(withJSONObject: claim.payload, options: [.sortedKeys])) ?? Data("{}".utf8)
            do {
                let hook = try FunctionReference(parsing: claim.execution.hook)
                let grant = HookGrant(
                    deploymentId: claim.deploymentId, executionId: claim.execution.executionId,
                    functionName: claim.payload["FunctionName"] ?? "")
                let result = try await self.invoke(
                    try await store.resolveInvocation(hook), payload: payload, routingKey: nil, logTail: false,
                    grant: grant)
                if result.FunctionError != nil {
                    try? await rollout.reportHookStatus(
                        deploymentId: claim.deploymentId, executionId: claim.execution.executionId,
                        status: .failed, output: "the hook function failed: \(result.Payload)")
                }
            } catch {
                try? await rollout.reportHookStatus(
                    deploymentId: claim.deploymentId, executionId: claim.execution.executionId,
                    status: .failed, output: "cannot invoke the hook function: \(error)")
            }
        }
    }

    static func fileSize(_ url: URL) -> Int64 {
        FileStatus.of(path: url.path)?.size ?? 0
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
    let sink: any MetricSink
    private var buffer: [MetricDatapoint] = []
    private var flusher: Task<Void, Never>?
    /// Full batches being written, by number: `flush` waits for them, so every datapoint recorded before it
    /// is stored when it returns.
    private var writing: [Int: Task<Void, Never>] = [:]
    private var nextBatch = 0

    init(sink: any MetricSink) {
        self.sink = sink
    }

    func record(_ target: InvocationTarget, _ execution: VersionExecution, metric: String, value: Double, at time: Date)
    {
        record(target, execution, [(metric, value)], at: time)
    }

    /// Several metrics of one invocation in one call (one actor hop per invocation, not three).
    func record(
        _ target: InvocationTarget, _ execution: VersionExecution, _ values: [(metric: String, value: Double)],
        at time: Date
    ) {
        for (metric, value) in values {
            buffer.append(
                MetricDatapoint(
                    functionName: target.functionName, resource: target.resource,
                    executedVersion: execution.versionText,
                    metric: metric, value: value, unit: metric == "Duration" ? "Milliseconds" : "Count", timestamp: time
                ))
        }
        if buffer.count >= 500 {
            startWrite(take())
        } else if flusher == nil {
            flusher = Task {
                try? await Task.sleep(nanoseconds: 100_000_000)
                guard !Task.isCancelled else { return }
                await self.startWrite(self.take())
            }
        }
    }

    /// Writes a batch in a task of its own, tracked until it is stored.
    private func startWrite(_ batch: [MetricDatapoint]) {
        guard !batch.isEmpty else { return }
        let number = nextBatch
        nextBatch += 1
        writing[number] = Task {
            await self.write(batch)
            self.written(number)
        }
    }

    private func take() -> [MetricDatapoint] {
        flusher = nil
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        return batch
    }

    /// One transaction per batch; the engine evaluates the alarms the batch concerns in it.
    private func write(_ batch: [MetricDatapoint]) async {
        guard !batch.isEmpty else { return }
        try? await sink.putMetricData(batch)
    }

    private func written(_ number: Int) { writing[number] = nil }

    /// Writes what is buffered and waits for every batch still being written: every datapoint recorded
    /// before the call is stored when it returns.
    public func flush() async {
        flusher?.cancel()
        startWrite(take())
        while let (number, batch) = writing.first {
            await batch.value
            writing[number] = nil
        }
    }
}

extension InvocationOutcome {
    var isNotDelivered: Bool {
        if case .notDelivered = self { return true }
        return false
    }
}
