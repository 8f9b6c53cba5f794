import Foundation
import RelctlCore
import RelctlStorage

/// Per-version counts and latency percentiles of a traffic run.
public struct TrafficTally: Sendable, Codable {
    public struct VersionStats: Sendable, Codable {
        public var Requests = 0
        public var Errors = 0
        public var ColdStarts = 0
        public var P50Ms: Double?
        public var P99Ms: Double?
        var durations: [Double] = []

        enum CodingKeys: String, CodingKey { case Requests, Errors, ColdStarts, P50Ms, P99Ms }
    }

    public var Versions: [String: VersionStats] = [:]
    public var Throttles = 0
    /// Requests not sent because --concurrency were already in flight.
    public var Dropped = 0
    public var Failures = 0
    public var ElapsedSeconds = 0.0

    public func lines() -> [String] {
        var lines = [
            String(format: "traffic %.0fs:", ElapsedSeconds)
                + "  throttled \(Throttles)  dropped \(Dropped)\(Failures > 0 ? "  failed to invoke \(Failures)" : "")"
        ]
        for (version, stats) in Versions.sorted(by: { $0.key < $1.key }) {
            let p50 = stats.P50Ms.map { String(format: "%.1f", $0) } ?? "-"
            let p99 = stats.P99Ms.map { String(format: "%.1f", $0) } ?? "-"
            lines.append(
                "  v\(version): \(stats.Requests) requests, \(stats.Errors) errors (\(stats.Requests > 0 ? Int((Double(stats.Errors) / Double(stats.Requests) * 100).rounded()) : 0)%), p50 \(p50) ms, p99 \(p99) ms"
            )
        }
        return lines
    }
}

actor TallyCollector {
    var tally = TrafficTally()

    func add(_ result: InvocationResult) {
        var stats = tally.Versions[result.ExecutedVersion, default: .init()]
        stats.Requests += 1
        if result.FunctionError != nil { stats.Errors += 1 }
        if result.ColdStart { stats.ColdStarts += 1 }
        stats.durations.append(result.DurationMs)
        tally.Versions[result.ExecutedVersion] = stats
    }

    func throttled() { tally.Throttles += 1 }
    func dropped() { tally.Dropped += 1 }
    func failed() { tally.Failures += 1 }

    func snapshot(elapsed: Double) -> TrafficTally {
        var copy = tally
        copy.ElapsedSeconds = elapsed
        for (version, var stats) in copy.Versions {
            stats.P50Ms = Statistic.percentile(50).aggregate(stats.durations)
            stats.P99Ms = Statistic.percentile(99).aggregate(stats.durations)
            copy.Versions[version] = stats
        }
        return copy
    }
}

/// `relctl traffic`: invokes at a fixed rate for a fixed time (open loop, bounded in-flight).
public struct TrafficGenerator: Sendable {
    let store: any InvocationStore
    let rollout: any HookStatusReporter & MetricSink
    let function: FunctionReference
    let payload: Data
    /// `uuid`, `fixed` or `none`.
    let routingKeys: String
    let concurrency: Int

    public init(
        store: any InvocationStore, rollout: any HookStatusReporter & MetricSink, function: FunctionReference,
        payload: Data, routingKeys: String = "none", concurrency: Int = 16
    ) {
        self.store = store
        self.rollout = rollout
        self.function = function
        self.payload = payload
        self.routingKeys = routingKeys
        self.concurrency = concurrency
    }

    /// Runs until `duration` passes or `shouldStop` says so; `report` is called about once a second.
    public func run(
        rate: Double, duration: Double, pool: RuntimePool? = nil, shouldStop: @Sendable () -> Bool = { false },
        report: (TrafficTally) -> Void
    ) async -> TrafficTally {
        let ownPool = pool == nil
        let pool = pool ?? RuntimePool(store: store, rollout: rollout)
        let collector = TallyCollector()
        let inflight = InflightCounter()
        let start = Date()
        var nextReport = 1.0
        let fixedKey = UUID().uuidString
        await withTaskGroup(of: Void.self) { group in
            var sent = 0
            // A run that ends by its duration sends exactly rate × duration requests, however late
            // the loop wakes (a loaded machine): what is owed when time is up goes out before it stops.
            let total = Int((duration * rate).rounded(.up))
            while true {
                let elapsed = Date().timeIntervalSince(start)
                if shouldStop() { break }
                let finished = elapsed >= duration
                if !finished, elapsed >= nextReport {
                    report(await collector.snapshot(elapsed: elapsed))
                    nextReport += 1
                }
                let due = finished ? total : min(total, Int(elapsed * rate) + 1)
                while sent < due {
                    sent += 1
                    if await inflight.tryEnter(limit: concurrency) {
                        let key: String? =
                            routingKeys == "uuid" ? UUID().uuidString : routingKeys == "fixed" ? fixedKey : nil
                        group.addTask {
                            do {
                                let result = try await pool.invoke(function, payload: payload, routingKey: key)
                                await collector.add(result)
                            } catch let error as RelctlError where error.code == .tooManyRequests {
                                await collector.throttled()
                            } catch {
                                await collector.failed()
                            }
                            await inflight.leave()
                        }
                    } else {
                        await collector.dropped()
                    }
                }
                if finished { break }
                try? await Task.sleep(nanoseconds: UInt64(min(0.05, 1 / rate) * 1e9))
            }
            await group.waitForAll()
        }
        // A pool this run started stops its instances with it; a caller's pool is the caller's to stop.
        if ownPool { await pool.shutdown() } else { await pool.metrics.flush() }
        let final = await collector.snapshot(elapsed: Date().timeIntervalSince(start))
        report(final)
        return final
    }
}

actor InflightCounter {
    private var count = 0
    func tryEnter(limit: Int) -> Bool {
        guard count < limit else { return false }
        count += 1
        return true
    }
    func leave() { count -= 1 }
}
