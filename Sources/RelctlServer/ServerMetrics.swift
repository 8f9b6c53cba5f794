import Foundation
import NIOConcurrencyHelpers
import Prometheus
import RelctlCore
import RelctlRuntime
import RelctlStore

/// The server's metrics in a Prometheus registry, exposed on `GET /metrics` (text format 0.0.4):
/// requests and invocations counted as they happen, the registry's gauges read at each scrape.
final class ServerMetrics: Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    let prometheus = PrometheusCollectorRegistry()
    /// The weight gauges of the deployments active at the last scrape, so that finished ones go away.
    private let deploymentGauges = NIOLockedValueBox<[String: Gauge]>([:])

    /// The request counters and histograms made so far, by action and status (made once each: the
    /// registry's own lookup hashes the labels on every call).
    private let requestMetrics = NIOLockedValueBox<[RequestKey: (Counter, ValueHistogram)]>([:])
    private struct RequestKey: Hashable {
        var action: String
        var status: Int
    }

    func request(action: String, status: Int, duration: Duration) {
        let key = RequestKey(action: action, status: status)
        let made = requestMetrics.withLockedValue { $0[key] }
        let (counter, histogram) =
            made
            ?? {
                let pair = (
                    prometheus.makeCounter(
                        descriptor: Self.name("relctl_http_requests_total", "API requests by action and status."),
                        labels: [("action", action), ("status", String(status))]),
                    prometheus.makeValueHistogram(
                        descriptor: Self.name("relctl_http_request_duration_seconds", "API request latency by action."),
                        labels: [("action", action)], buckets: Self.buckets)
                )
                requestMetrics.withLockedValue { $0[key] = pair }
                return pair
            }()
        counter.increment()
        histogram.record(Self.seconds(duration))
    }

    func invocation(function: String, version: String, result: InvocationResult?) {
        let labels = [("function", function), ("version", version)]
        guard let result else {
            prometheus.makeCounter(
                descriptor: Self.name("relctl_throttles_total", "Invocations refused by reserved concurrency."),
                labels: labels
            )
            .increment()
            return
        }
        prometheus.makeCounter(
            descriptor: Self.name(
                "relctl_invocations_total", "Invocations run by this server's runtime, by executed version."),
            labels: labels
        ).increment()
        if result.FunctionError != nil {
            prometheus.makeCounter(
                descriptor: Self.name("relctl_invocation_errors_total", "Invocations that ended in a function error."),
                labels: labels
            )
            .increment()
        }
        prometheus.makeValueHistogram(
            descriptor: Self.name("relctl_invocation_duration_seconds", "Invocation duration by executed version."),
            labels: labels, buckets: Self.buckets
        ).record(result.DurationMs / 1000)
    }

    /// The exposition, with the registry's gauges as read now from the engine the server answers from (nil:
    /// that read failed, the gauge keeps its last value).
    func render(settings: AccountSettings?, active: [Deployment]?) -> [UInt8] {
        if let settings {
            prometheus.makeGauge(
                descriptor: Self.name("relctl_code_storage_bytes", "Code storage used, as AWS counts TotalCodeSize.")
            )
            .set(Double(settings.AccountUsage.TotalCodeSize))
            prometheus.makeGauge(descriptor: Self.name("relctl_code_storage_limit_bytes", "The code storage limit."))
                .set(Double(settings.AccountLimit.TotalCodeSize))
            prometheus.makeGauge(descriptor: Self.name("relctl_functions", "Functions in the registry.")).set(
                Double(settings.AccountUsage.FunctionCount))
        }
        if let active {
            prometheus.makeGauge(
                descriptor: Self.name("relctl_active_deployments", "Deployments Created, InProgress or Paused.")
            ).set(Double(active.count))
            var current: [String: Gauge] = [:]
            for deployment in active {
                let gauge = prometheus.makeGauge(
                    descriptor: Self.name(
                        "relctl_deployment_weight_percent", "Traffic on the target version of each active deployment."),
                    labels: [
                        ("deployment", deployment.id), ("function", deployment.functionName),
                        ("alias", deployment.alias),
                        ("version", String(deployment.targetVersion)),
                    ])
                gauge.set(deployment.aliasWeight)
                current[deployment.id] = gauge
            }
            let finished = deploymentGauges.withLockedValue { gauges in
                defer { gauges = current }
                return gauges.filter { current[$0.key] == nil }.map(\.value)
            }
            for gauge in finished { prometheus.unregisterGauge(gauge) }
        }
        return prometheus.emitToBuffer()
    }

    /// A metric's name and help line (no namespace or unit parts: the names are relctl's, whole).
    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
