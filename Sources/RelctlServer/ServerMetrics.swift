import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RelctlCore
import RelctlRuntime
import RelctlStore

/// Counters and histograms for `GET /metrics` (Prometheus text format 0.0.4).
final class ServerMetrics: Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var sum = 0.0
        var count = 0
        mutating func observe(_ value: Double) {
            for (index, bound) in ServerMetrics.buckets.enumerated() where value <= bound { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    private struct State {
        var requests: [String: Int] = [:]          // "action|status"
        var latency: [String: Histogram] = [:]     // action
        var invocations: [String: Int] = [:]       // "function|version"
        var errors: [String: Int] = [:]
        var throttles: [String: Int] = [:]
        var duration: [String: Histogram] = [:]
    }

    private let state = NIOLockedValueBox(State())

    func request(action: String, status: Int, seconds: Double) {
        state.withLockedValue {
            $0.requests["\(action)|\(status)", default: 0] += 1
            $0.latency[action, default: Histogram()].observe(seconds)
        }
    }

    func invocation(function: String, version: String, result: InvocationResult?) {
        let key = "\(function)|\(version)"
        state.withLockedValue {
            guard let result else {
                $0.throttles[key, default: 0] += 1
                return
            }
            $0.invocations[key, default: 0] += 1
            if result.FunctionError != nil { $0.errors[key, default: 0] += 1 }
            $0.duration[key, default: Histogram()].observe(result.DurationMs / 1000)
        }
    }

    /// The exposition, with registry gauges read now.
    func render(registry: Registry) -> String {
        let snapshot = state.withLockedValue { $0 }
        var out = ""
        func label(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
        func histogram(_ name: String, _ help: String, _ values: [String: Histogram], labels: (String) -> String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (key, histogram) in values.sorted(by: { $0.key < $1.key }) {
                let base = labels(key)
                for (index, bound) in Self.buckets.enumerated() {
                    out += "\(name)_bucket{\(base),le=\"\(bound)\"} \(histogram.counts[index])\n"
                }
                out += "\(name)_bucket{\(base),le=\"+Inf\"} \(histogram.count)\n\(name)_sum{\(base)} \(histogram.sum)\n\(name)_count{\(base)} \(histogram.count)\n"
            }
        }
        out += "# HELP relctl_http_requests_total API requests by action and status.\n# TYPE relctl_http_requests_total counter\n"
        for (key, count) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|")
            out += "relctl_http_requests_total{action=\"\(label(String(parts[0])))\",status=\"\(parts[1])\"} \(count)\n"
        }
        histogram("relctl_http_request_duration_seconds", "API request latency by action.", snapshot.latency) { "action=\"\(label($0))\"" }
        func perVersion(_ name: String, _ help: String, _ values: [String: Int]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for (key, count) in values.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                out += "\(name){function=\"\(label(parts[0]))\",version=\"\(label(parts[1]))\"} \(count)\n"
            }
        }
        perVersion("relctl_invocations_total", "Invocations run by this server's runtime, by executed version.", snapshot.invocations)
        perVersion("relctl_invocation_errors_total", "Invocations that ended in a function error.", snapshot.errors)
        perVersion("relctl_throttles_total", "Invocations refused by reserved concurrency.", snapshot.throttles)
        histogram("relctl_invocation_duration_seconds", "Invocation duration by executed version.", snapshot.duration) {
            let parts = $0.split(separator: "|", maxSplits: 1).map(String.init)
            return "function=\"\(label(parts[0]))\",version=\"\(label(parts[1]))\""
        }
        if let settings = try? registry.accountSettings() {
            out += "# HELP relctl_code_storage_bytes Code storage used, as AWS counts TotalCodeSize.\n# TYPE relctl_code_storage_bytes gauge\n"
            out += "relctl_code_storage_bytes \(settings.AccountUsage.TotalCodeSize)\n"
            out += "# HELP relctl_code_storage_limit_bytes The code storage limit.\n# TYPE relctl_code_storage_limit_bytes gauge\n"
            out += "relctl_code_storage_limit_bytes \(settings.AccountLimit.TotalCodeSize)\n"
            out += "# HELP relctl_functions Functions in the registry.\n# TYPE relctl_functions gauge\nrelctl_functions \(settings.AccountUsage.FunctionCount)\n"
        }
        if let active = try? registry.activeDeployments() {
            out += "# HELP relctl_active_deployments Deployments Created, InProgress or Paused.\n# TYPE relctl_active_deployments gauge\n"
            out += "relctl_active_deployments \(active.count)\n"
            out += "# HELP relctl_deployment_weight_percent Traffic on the target version of each active deployment.\n# TYPE relctl_deployment_weight_percent gauge\n"
            for deployment in active {
                out += "relctl_deployment_weight_percent{deployment=\"\(deployment.id)\",function=\"\(label(deployment.functionName))\",alias=\"\(label(deployment.alias))\",version=\"\(deployment.targetVersion)\"} \(deployment.aliasWeight)\n"
            }
        }
        return out
    }
}
