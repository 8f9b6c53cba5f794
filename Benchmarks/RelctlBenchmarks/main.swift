// relctl's benchmark: `swift run -c release relctl-bench [--quick] [--only N,M]`.
// Every figure is printed beside a baseline measured in the same process on the same disk, and the ratio.
import Crypto
import Foundation
import GRDB
import RelctlCore
import RelctlPackages
import RelctlProcess
import RelctlRollout
import RelctlRuntime
import RelctlStorage
@_spi(Benchmarks) import RelctlStore

let quick = CommandLine.arguments.contains("--quick")
/// `--only 7` (or `--only 2,7`): run just those figures.
let onlySections: Set<Int>? = CommandLine.arguments.firstIndex(of: "--only").flatMap { index in
    index + 1 < CommandLine.arguments.count
        ? Set(CommandLine.arguments[index + 1].split(separator: ",").compactMap { Int($0) }) : nil
}
func section(_ number: Int) -> Bool { onlySections?.contains(number) ?? true }
let root = FileManager.default.temporaryDirectory.appendingPathComponent("relctl-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: root) }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func secondsAsync(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// With RELCTL_BENCH_MARKS set, phase boundaries go to stderr as CLOCK_MONOTONIC seconds, so a
/// `perf record -k CLOCK_MONOTONIC` of the whole run can be cut to one phase (`perf script --time A,B`).
func mark(_ phase: String) {
    guard ProcessInfo.processInfo.environment["RELCTL_BENCH_MARKS"] != nil else { return }
    // libdispatch's uptime is CLOCK_MONOTONIC on Linux.
    let nanoseconds = DispatchTime.now().uptimeNanoseconds
    FileHandle.standardError.write(
        Data(
            "mark \(phase) \(nanoseconds / 1_000_000_000).\(String(format: "%09d", nanoseconds % 1_000_000_000))\n".utf8
        ))
}

func percentile(_ samples: [Double], _ p: Double) -> Double {
    let sorted = samples.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func ms(_ value: Double) -> String { String(format: "%.3f ms", value * 1000) }
func ratio(_ value: Double, _ baseline: Double) -> String { String(format: "%.2f×", value / baseline) }

func folder(_ name: String) throws -> URL {
    let url = root.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func package(_ marker: String, bytes: Int = 0) throws -> InspectedPackage {
    let source = try folder("src-\(UUID().uuidString)")
    try Data("#!/bin/sh\necho \(marker)\n".utf8).write(to: source.appendingPathComponent("bootstrap"))
    if bytes > 0 {
        var generator = SystemRandomNumberGenerator()
        let random = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try random.write(to: source.appendingPathComponent("payload.bin"))
    }
    return try PackageInspector.inspect(try PackageBuilder.zip(directory: source))
}

/// The floor under any durable registry write: one UPDATE committed with WAL + synchronous=FULL.
func rawCommitLatencies(count: Int) throws -> [Double] {
    let pool = try rawCommitPool()
    return try (0..<count).map { index in
        try seconds {
            try pool.write { db in
                try db.execute(sql: "UPDATE t SET v = ?, s = ? WHERE id = 1", arguments: [index, UUID().uuidString])
            }
        }
    }
}

/// The same UPDATE through GRDB's async `write` from a task: the floor under any write of an async store (the
/// rollout engine's), which adds the hand-off to the writer's queue and the task's resumption on the pool.
func rawAsyncCommitLatencies(count: Int) async throws -> [Double] {
    let pool = try rawCommitPool()
    var samples: [Double] = []
    for index in 0..<count {
        let text = UUID().uuidString
        samples.append(
            try await secondsAsync {
                try await pool.write { db in
                    try db.execute(sql: "UPDATE t SET v = ?, s = ? WHERE id = 1", arguments: [index, text])
                }
            })
    }
    return samples
}

func rawCommitPool() throws -> DatabasePool {
    var configuration = Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    let pool = try DatabasePool(path: root.appendingPathComponent("raw.sqlite").path, configuration: configuration)
    try pool.write { db in
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER, s TEXT)")
        try db.execute(sql: "INSERT OR REPLACE INTO t VALUES (1, 0, '')")
    }
    return pool
}

print(
    "relctl benchmark\(quick ? " (--quick)" : "") — \(ProcessInfo.processInfo.processorCount) cores, data in \(root.path)\n"
)

// MARK: 1. Alias update and rollback latency

if section(1) {
    let registry = try Registry(dataDirectory: try folder("alias"))
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    _ = try registry.createFunction(name: "orders", settings: settings, code: try package("v0"), publish: true)
    for version in 2...3 {
        _ = try registry.updateFunctionCode(
            FunctionReference(name: "orders"), code: try package("v\(version)"), publish: true)
    }
    _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
    let count = quick ? 300 : 2000
    mark("alias-updates")
    let updates = try (0..<count).map { index in
        try seconds {
            _ = try registry.updateAlias(
                function: "orders", name: "live", functionVersion: "1",
                additionalVersionWeights: ["2": Double(index % 100) / 100])
        }
    }
    let engine = RolloutEngine(store: registry)
    var rollbacks: [Double] = []
    mark("rollbacks")
    for index in 0..<count / 2 {
        rollbacks.append(
            try await secondsAsync {
                _ = try await engine.rollback(function: "orders", alias: "live", to: index % 2 == 0 ? "3" : "1")
            })
    }
    mark("raw-updates")
    let raw = try rawCommitLatencies(count: count)
    let rawAsync = try await rawAsyncCommitLatencies(count: count / 2)
    mark("end")
    print("1. Alias moves (in-process, each one durable transaction), \(count) samples")
    print("   raw SQLite durable UPDATE (baseline)  p50 \(ms(percentile(raw, 0.5)))  p99 \(ms(percentile(raw, 0.99)))")
    print(
        "   the same UPDATE, async write          p50 \(ms(percentile(rawAsync, 0.5)))  p99 \(ms(percentile(rawAsync, 0.99)))  (\(ratio(percentile(rawAsync, 0.5), percentile(raw, 0.5))) baseline p50: the floor of an async store's write)"
    )
    print(
        "   alias update                          p50 \(ms(percentile(updates, 0.5)))  p99 \(ms(percentile(updates, 0.99)))  (\(ratio(percentile(updates, 0.5), percentile(raw, 0.5))) baseline p50)"
    )
    print(
        "   rollback                              p50 \(ms(percentile(rollbacks, 0.5)))  p99 \(ms(percentile(rollbacks, 0.99)))  (\(ratio(percentile(rollbacks, 0.5), percentile(raw, 0.5))) baseline p50, \(ratio(percentile(rollbacks, 0.5), percentile(rawAsync, 0.5))) the async write's)\n"
    )
}

// MARK: 2. Publish throughput of a 50 MB package

if section(2) {
    let registry = try Registry(dataDirectory: try folder("publish"))
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    let size = quick ? 8 << 20 : 49 << 20  // random bytes: the zip stays under Lambda's 52428800
    _ = try registry.createFunction(name: "big", settings: settings, code: try package("base"))
    let zips = try (0..<3).map { index -> Data in
        try package("rev\(index)", bytes: size).bytes
    }
    var publishTimes: [Double] = []
    for zip in zips {
        var inspected: InspectedPackage?
        let inspect = try seconds { inspected = try registry.blobs.inspectAndStage(zip) }
        let total = try seconds {
            _ = try registry.updateFunctionCode(FunctionReference(name: "big"), code: inspected!, publish: true)
        }
        publishTimes.append(inspect + total)
    }
    var rawTimes: [Double] = []
    for (index, zip) in zips.enumerated() {
        rawTimes.append(
            try seconds {
                let digest = SHA256.hash(data: zip)
                let url = root.appendingPathComponent("raw-\(index)-\(digest.hashValue)")
                let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                _ = zip.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
                fsync(fd)
                close(fd)
            })
    }
    let megabytes = Double(zips[0].count) / 1_048_576
    let publish = percentile(publishTimes, 0.5)
    let raw = percentile(rawTimes, 0.5)
    print(
        "2. Publish a \(String(format: "%.1f", megabytes)) MB package (update-code --publish: validate, hash, store, commit), median of 3"
    )
    print("   raw SHA-256 + write + fsync (baseline)  \(String(format: "%.0f", megabytes / raw)) MB/s")
    let validation = try (0..<3).map { index in try seconds { _ = try PackageInspector.validate(zips[index]) } }
    print(
        "   relctl publish                          \(String(format: "%.0f", megabytes / publish)) MB/s  (\(String(format: "%.2f", raw / publish)) of the baseline's speed; validation alone \(String(format: "%.0f", megabytes / percentile(validation, 0.5))) MB/s runs beside hashing + writing)\n"
    )
}

// MARK: 3. cleanup --dry-run and quota with 100,000 versions

if section(3) {
    let registry = try Registry(dataDirectory: try folder("hundred-k"))
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    let functions = quick ? 20 : 100
    let perFunction = 1000
    let seed = try seconds {
        for index in 0..<functions {
            let name = "fn\(index)"
            _ = try registry.createFunction(name: name, settings: settings, code: try package(name))
            try registry.seedPublishedVersions(
                function: name, count: perFunction,
                firstCreated: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)))
            _ = try registry.createAlias(function: name, name: "live", functionVersion: "\(perFunction / 2)")
        }
    }
    let total = functions * perFunction
    let quota = try (0..<5).map { _ in try seconds { _ = try registry.quotaReport() } }
    var plan: CleanupPlan?
    let cleanup = try (0..<3).map { _ in
        try seconds { plan = try registry.cleanup(CleanupRequest(keep: 10), dryRun: true) }
    }
    let pool = try DatabasePool(path: root.appendingPathComponent("hundred-k/registry.sqlite").path)
    let scan = try (0..<5).map { _ in
        try seconds {
            _ = try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT function_name, version, code_size, last_modified FROM versions")
            }
        }
    }
    print("3. \(total) published versions in \(functions) functions (seeded in \(String(format: "%.1f", seed)) s)")
    print("   raw scan of the versions table (baseline)  \(ms(percentile(scan, 0.5)))")
    print(
        "   quota                                      \(ms(percentile(quota, 0.5)))  (\(ratio(percentile(quota, 0.5), percentile(scan, 0.5))))"
    )
    print(
        "   cleanup --keep 10 --dry-run                \(ms(percentile(cleanup, 0.5)))  (\(ratio(percentile(cleanup, 0.5), percentile(scan, 0.5))); plans \(plan?.Deletions.count ?? 0) deletions)\n"
    )
}

// MARK: 4. versions / alias get with 1,000,000 versions

if section(4) {
    let registry = try Registry(dataDirectory: try folder("million"))
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    let count = quick ? 100_000 : 1_000_000
    _ = try registry.createFunction(name: "big", settings: settings, code: try package("big"))
    let seed = try seconds {
        try registry.seedPublishedVersions(
            function: "big", count: count, firstCreated: Date(timeIntervalSince1970: 1_700_000_000))
    }
    _ = try registry.createAlias(function: "big", name: "live", functionVersion: "\(count)")
    let aliasGets = try (0..<2000).map { _ in try seconds { _ = try registry.getAlias(function: "big", name: "live") } }
    let pool = try DatabasePool(path: root.appendingPathComponent("million/registry.sqlite").path)
    let rawGets = try (0..<2000).map { _ in
        try seconds {
            _ = try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM aliases WHERE function_name = 'big' AND name = 'live'")
            }
        }
    }
    let firstPage = try (0..<50).map { _ in
        try seconds { _ = try registry.listVersions(FunctionReference(name: "big"), maxItems: 50) }
    }
    let lastPage = try (0..<50).map { _ in
        try seconds {
            _ = try registry.listVersions(FunctionReference(name: "big"), marker: String(count - 50), maxItems: 50)
        }
    }
    var listed = 0
    let full = try seconds {
        var marker: String?
        repeat {
            let page = try registry.listVersions(FunctionReference(name: "big"), marker: marker, maxItems: 10_000)
            listed += page.items.count
            marker = page.nextMarker
        } while marker != nil
    }
    let rawScan = try seconds {
        _ = try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM versions WHERE function_name = 'big'") }
    }
    print("4. \(count) versions of one function (seeded in \(String(format: "%.1f", seed)) s)")
    print(
        "   raw SELECT of the alias row (baseline)  p50 \(ms(percentile(rawGets, 0.5)))  p99 \(ms(percentile(rawGets, 0.99)))"
    )
    print(
        "   alias get                               p50 \(ms(percentile(aliasGets, 0.5)))  p99 \(ms(percentile(aliasGets, 0.99)))  (\(ratio(percentile(aliasGets, 0.5), percentile(rawGets, 0.5))))"
    )
    print("   versions, first page of 50              p50 \(ms(percentile(firstPage, 0.5)))")
    print("   versions, last page of 50 (marker)      p50 \(ms(percentile(lastPage, 0.5)))")
    print(
        "   versions, all \(listed) (pages of 10,000)  \(String(format: "%.2f s", full))  vs raw scan of the rows \(String(format: "%.2f s", rawScan))  (\(ratio(full, rawScan)))"
    )
}

// MARK: 5. Controller tick cost with 10,000 active deployments

final class BenchClock: @unchecked Sendable {
    private let lock = NSLock()
    private var offset = 0.0
    func now() -> Date { lock.withLock { Date().addingTimeInterval(offset) } }
    func advance(_ seconds: Double) { lock.withLock { offset += seconds } }
}

if section(5) {
    let clock = BenchClock()
    let registry = try Registry(dataDirectory: try folder("controller"), clock: { clock.now() })
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    let count = quick ? 1000 : 10_000
    let alarmCount = 100
    _ = try registry.createFunction(name: "fleet", settings: settings, code: try package("fleet"), publish: true)
    _ = try registry.updateFunctionCode(FunctionReference(name: "fleet"), code: try package("fleet2"), publish: true)
    for index in 0..<alarmCount {
        try registry.putAlarm(
            AlarmDefinition(
                name: "errors-\(index)", functionName: "fleet", resource: "fleet:a\(index)", executedVersion: "target",
                metric: "Errors",
                statistic: .sum, period: 60, evaluationPeriods: 3, datapointsToAlarm: 2, threshold: 5,
                comparisonOperator: .greaterThanOrEqualToThreshold, treatMissingData: .notBreaching))
    }
    let policy = try PolicyCatalog(customFolder: nil).policy(named: "Linear10PercentEvery10Minutes")
    let engine = RolloutEngine(store: registry)
    let setup = try await secondsAsync {
        for index in 0..<count {
            _ = try registry.createAlias(function: "fleet", name: "a\(index)", functionVersion: "1")
            _ = try await engine.create(
                DeploymentRequest(
                    function: "fleet", alias: "a\(index)", targetVersion: "2", policy: policy,
                    alarms: ["errors-\(index % alarmCount)"]))
        }
    }
    var idle: [Double] = []
    mark("idle-ticks")
    for _ in 0..<7 { idle.append(try await secondsAsync { try await engine.tick() }) }
    mark("raw-reads")
    let pool = try DatabasePool(path: root.appendingPathComponent("controller/registry.sqlite").path)
    let rawRead = try (0..<7).map { _ in
        try seconds {
            _ = try pool.read { db in
                try String.fetchAll(
                    db, sql: "SELECT state FROM deployments WHERE status IN ('Created', 'InProgress', 'Paused')")
            }
        }
    }
    clock.advance(600)
    var shifted = 0
    mark("busy-tick")
    let busy = try await secondsAsync { shifted = try await engine.tick().count }
    mark("end")
    print(
        "5. Controller tick with \(count) active deployments (\(alarmCount) distinct alarms; created in \(String(format: "%.1f", setup)) s)"
    )
    print("   raw read of the active deployments' state (baseline)  \(ms(percentile(rawRead, 0.5)))")
    print(
        "   idle tick (alarms evaluated, nothing due)             \(ms(percentile(idle, 0.5)))  (\(ratio(percentile(idle, 0.5), percentile(rawRead, 0.5))))"
    )
    print(
        "   tick that shifts every deployment (\(shifted) alias moves)   \(String(format: "%.2f s", busy)), \(String(format: "%.3f ms", busy * 1000 / Double(max(shifted, 1)))) per deployment\n"
    )
}

/// Sections 6 and 8, each round: an alarm on `metric` (a fresh name each round, so earlier rounds'
/// datapoints do not count) and a canary of orders:live watching it.
func canary(
    watching metric: String, _ registry: Registry, _ engine: RolloutEngine, _ policy: DeploymentPolicy
) async throws {
    try registry.putAlarm(
        AlarmDefinition(
            name: "orders-errors", functionName: "orders", executedVersion: "target", metric: metric,
            statistic: .sum, period: 10, evaluationPeriods: 1, threshold: 1,
            comparisonOperator: .greaterThanOrEqualToThreshold, treatMissingData: .notBreaching))
    _ = try await engine.create(
        DeploymentRequest(
            function: "orders", alias: "live", targetVersion: "2", policy: policy, alarms: ["orders-errors"]))
}

// MARK: 6. From an alarm's datapoint to the alias restored

if section(6) {
    let registry = try Registry(dataDirectory: try folder("reaction"))
    let engine = RolloutEngine(store: registry)
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
    _ = try registry.createFunction(name: "orders", settings: settings, code: try package("o1"), publish: true)
    _ = try registry.updateFunctionCode(FunctionReference(name: "orders"), code: try package("o2"), publish: true)
    _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
    let policy = try PolicyCatalog(customFolder: nil).policy(named: "Canary10Percent30Minutes")
    let rounds = quick ? 20 : 200
    var latencies: [Double] = []
    var raw: [Double] = []
    for round in 0..<rounds {
        // A fresh metric name each round, so earlier rounds' datapoints do not count.
        let metric = "Errors-\(round)"
        try await canary(watching: metric, registry, engine, policy)
        // No controller ticks at all: the write itself evaluates the alarm and rolls back.
        let landed = DispatchTime.now().uptimeNanoseconds
        try await engine.putMetricData([
            MetricDatapoint(functionName: "orders", executedVersion: "2", metric: metric, value: 1, timestamp: Date())
        ])
        let restored = try registry.getAlias(function: "orders", name: "live").RoutingConfig == nil
        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - landed) / 1e9)
        precondition(restored, "the datapoint did not roll the alias back")
        // Baseline: the same datapoint into a metric no deployment watches.
        raw.append(
            try await secondsAsync {
                try await engine.putMetricData([
                    MetricDatapoint(
                        functionName: "orders", executedVersion: "2", metric: "Unwatched", value: 1, timestamp: Date())
                ])
            })
    }
    print(
        "6. Alarm-breaching datapoint → alias restored, no controller tick (event-driven, in the writing process), \(rounds) rounds"
    )
    print(
        "   datapoint write nobody watches (baseline)  p50 \(ms(percentile(raw, 0.5)))  p99 \(ms(percentile(raw, 0.99)))"
    )
    print(
        "   breaching datapoint → alias restored       p50 \(ms(percentile(latencies, 0.5)))  p99 \(ms(percentile(latencies, 0.99)))  (\(ratio(percentile(latencies, 0.5), percentile(raw, 0.5))) baseline p50; was p50 154 ms / p99 256–487 ms with polling)\n"
    )
}

// MARK: 7. The local runtime

let benchBootstrap = #"""
    #!/usr/bin/env python3
    import http.client, json, os, time
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    while True:
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        r = conn.getresponse(); body = r.read(); rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
        start = time.perf_counter()
        out = json.dumps({"echo": json.loads(body or b"{}"), "work_ms": (time.perf_counter() - start) * 1000})
        conn.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, out)
        conn.getresponse().read()
    """#

if section(7) {
    // Routing decisions, in-process.
    let target = AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1))
    let decisions = quick ? 1_000_000 : 10_000_000
    var generator = SystemRandomNumberGenerator()
    var sink = 0
    let rawRandom = seconds {
        for _ in 0..<decisions { sink &+= Double.random(in: 0..<1, using: &generator) < 0.1 ? 1 : 0 }
    }
    let weightedSystem = seconds {
        for _ in 0..<decisions {
            sink &+= TrafficRouter.version(
                for: target, routingKey: nil, random: Double.random(in: 0..<1, using: &generator))
        }
    }
    var routingRandom = RoutingRandom()
    let weighted = seconds {
        for _ in 0..<decisions {
            sink &+= TrafficRouter.version(for: target, routingKey: nil, random: routingRandom.unit())
        }
    }
    let keys = (0..<1024).map { "user-\($0)" }
    let keyed = seconds {
        for index in 0..<decisions {
            sink &+= TrafficRouter.version(for: target, routingKey: keys[index & 1023], random: 0)
        }
    }
    print("7. Local runtime")
    print(
        "   routing decisions: weighted random \(String(format: "%.1f", Double(decisions) / weighted / 1e6)) M/s with RoutingRandom (with the system generator, as before: \(String(format: "%.1f", Double(decisions) / weightedSystem / 1e6)) M/s, \(ratio(weightedSystem, weighted)) slower), by routing key \(String(format: "%.1f", Double(decisions) / keyed / 1e6)) M/s (baseline: bare random draw \(String(format: "%.1f", Double(decisions) / rawRandom / 1e6)) M/s)\(sink == 42 ? "" : "")"
    )

    let registry = try Registry(dataDirectory: try folder("runtime"))
    let source = try folder("bench-fn")
    try Data(benchBootstrap.utf8).write(to: source.appendingPathComponent("bootstrap"))
    try FileManager.default.setAttributes(
        [.posixPermissions: 0o755], ofItemAtPath: source.appendingPathComponent("bootstrap").path)
    let settings = FunctionSettings(
        runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench", timeout: 30)
    _ = try registry.createFunction(
        name: "echo", settings: settings, code: try PackageInspector.inspect(try PackageBuilder.zip(directory: source)),
        publish: true)
    _ = try registry.createAlias(function: "echo", name: "live", functionVersion: "1")

    // Cold starts: a fresh pool each time, unsandboxed (the baseline) and under bubblewrap, interleaved.
    var colds: [Double] = []
    var unsandboxedColds: [Double] = []
    for _ in 0..<(quick ? 5 : 15) {
        for mode in ["off", "auto"] {
            try registry.setSetting("sandbox", mode)
            let pool = RuntimePool(store: registry, rollout: RolloutEngine(store: registry))
            let result = try await pool.invoke(
                FunctionReference(name: "echo", qualifier: .alias("live")), payload: Data("{}".utf8))
            if mode == "off" {
                unsandboxedColds.append(result.DurationMs / 1000)
            } else {
                colds.append(result.DurationMs / 1000)
            }
            await pool.shutdown()
        }
    }
    try registry.setSetting("sandbox", "auto")
    // Warm invokes, one at a time: total latency against the bootstrap's own work.
    let pool = RuntimePool(store: registry, rollout: RolloutEngine(store: registry))
    let reference = FunctionReference(name: "echo", qualifier: .alias("live"))
    _ = try await pool.invoke(reference, payload: Data("{}".utf8))
    var added: [Double] = []
    var totals: [Double] = []
    for _ in 0..<(quick ? 500 : 3000) {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try await pool.invoke(reference, payload: Data("{\"n\":1}".utf8))
        let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let work =
            ((try? JSONSerialization.jsonObject(with: Data(result.Payload.utf8))) as? [String: Any])?["work_ms"]
            as? Double ?? 0
        totals.append(total)
        added.append(total - work / 1000)
    }
    let sandboxed = Containment.bubblewrap != nil ? "bubblewrap sandbox" : "no bubblewrap here: unsandboxed"
    print(
        "   cold start (python3 bootstrap, start to response, \(sandboxed))  p50 \(ms(percentile(colds, 0.5)))  p99 \(ms(percentile(colds, 0.99)))"
    )
    print(
        "   cold start without the sandbox (baseline, same run)  p50 \(ms(percentile(unsandboxedColds, 0.5)))  p99 \(ms(percentile(unsandboxedColds, 0.99)))  → the sandbox adds p50 \(ms(percentile(colds, 0.5) - percentile(unsandboxedColds, 0.5))) (\(String(format: "%.2f", percentile(colds, 0.5) / percentile(unsandboxedColds, 0.5)))×)"
    )
    print(
        "   warm invoke, added over the bootstrap's own work   p50 \(ms(percentile(added, 0.5)))  p99 \(ms(percentile(added, 0.99)))  (whole call p50 \(ms(percentile(totals, 0.5))))"
    )
    // Sustained: several callers at once for a few seconds.
    for callers in [1, 4, 16] {
        let window = quick ? 2.0 : 5.0
        let start = Date()
        let done = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var count = 0
                    while Date().timeIntervalSince(start) < window {
                        _ = try await pool.invoke(reference, payload: Data("{}".utf8))
                        count += 1
                    }
                    return count
                }
            }
            var total = 0
            for try await count in group { total += count }
            return total
        }
        print(
            "   sustained, \(callers) concurrent caller(s): \(String(format: "%.0f", Double(done) / Date().timeIntervalSince(start))) invokes/s (\(await pool.warmInstances) warm instances)"
        )
    }
    await pool.shutdown()
}

// MARK: 8. From an alarm's datapoint to the alias restored, across processes

if section(8) {
    // A `relctl controller run` in its own process (ticking once an hour, so only a wake-up can make it
    // act) restores the alias; this process writes the datapoint the way a writer that does not
    // evaluate alarms itself would (the metrics row, then the wake-up datagram every such writer sends),
    // and watches the alias through its own connection.
    let relctl = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("relctl")
    if !FileManager.default.isExecutableFile(atPath: relctl.path) {
        print("8. skipped: no relctl beside relctl-bench (swift build -c release --product relctl)\n")
    } else {
        let directory = try folder("cross")
        let registry = try Registry(dataDirectory: directory)
        let engine = RolloutEngine(store: registry)
        let settings = FunctionSettings(
            runtime: "provided.al2023", handler: "bootstrap", role: "arn:aws:iam::000000000000:role/bench")
        _ = try registry.createFunction(name: "orders", settings: settings, code: try package("c1"), publish: true)
        _ = try registry.updateFunctionCode(FunctionReference(name: "orders"), code: try package("c2"), publish: true)
        _ = try registry.createAlias(function: "orders", name: "live", functionVersion: "1")
        let controller = Process()
        controller.executableURL = relctl
        controller.arguments = ["controller", "run", "--data-dir", directory.path, "--interval", "3600"]
        controller.standardOutput = FileHandle.nullDevice
        controller.standardError = FileHandle.nullDevice
        try controller.run()
        defer {
            controller.terminate()
            controller.waitUntilExit()
        }
        // Ready once its wake-up socket is bound.
        let wakeFolder = directory.appendingPathComponent("wake")
        let readyBy = Date().addingTimeInterval(30)
        while ((try? FileManager.default.contentsOfDirectory(atPath: wakeFolder.path)) ?? []).isEmpty {
            precondition(Date() < readyBy && controller.isRunning, "relctl controller run did not start")
            try await Task.sleep(nanoseconds: UInt64(0.01 * 1e9))
        }
        let policy = try PolicyCatalog(customFolder: nil).policy(named: "Canary10Percent30Minutes")
        let rounds = quick ? 20 : 200
        var latencies: [Double] = []
        var writes: [Double] = []
        for round in 0..<rounds {
            let metric = "Errors-\(round)"
            try await canary(watching: metric, registry, engine, policy)
            // Let the controller finish the tick the creation woke it for.
            try await Task.sleep(nanoseconds: UInt64(0.02 * 1e9))
            let datapoint = MetricDatapoint(
                functionName: "orders", executedVersion: "2", metric: metric, value: 1, timestamp: Date())
            let landed = DispatchTime.now().uptimeNanoseconds
            try await registry.write { tx in try tx.insertMetricData([datapoint]) }
            engine.wakeOthers()
            writes.append(Double(DispatchTime.now().uptimeNanoseconds - landed) / 1e9)
            let giveUp = Date().addingTimeInterval(10)
            while try registry.getAlias(function: "orders", name: "live").RoutingConfig != nil {
                precondition(Date() < giveUp, "the controller in the other process did not roll the alias back")
                try await Task.sleep(nanoseconds: UInt64(0.0002 * 1e9))
            }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - landed) / 1e9)
        }
        print(
            "8. Alarm-breaching datapoint → alias restored by `relctl controller run` in another process (woken, ticking hourly), \(rounds) rounds"
        )
        print(
            "   datapoint row written + wake-up sent (baseline)  p50 \(ms(percentile(writes, 0.5)))  p99 \(ms(percentile(writes, 0.99)))"
        )
        print(
            "   breaching datapoint → alias restored             p50 \(ms(percentile(latencies, 0.5)))  p99 \(ms(percentile(latencies, 0.99)))  (\(ratio(percentile(latencies, 0.5), percentile(writes, 0.5))) baseline p50; target p99 ≤ 50 ms)\n"
        )
    }
}
