import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "The metric store alarms read.", subcommands: [Put.self, Get.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a metric's series: one statistic per period (GetMetricStatistics).")
        @OptionGroup var global: GlobalOptions
        @Option var function: String
        @Option(help: "The ExecutedVersion dimension.") var version: String?
        @Option(help: "The Resource dimension, e.g. orders:live.") var resource: String?
        @Option var metric: String
        @Option(help: "Sum, Average, SampleCount, Minimum, Maximum or pNN.") var statistic: String = "Sum"
        @Option(help: "Seconds per datapoint.") var period: Int = 60
        @Option(help: "How far back, e.g. 10m.") var since: String = "10m"

        func run() async throws {
            let statistic = try Statistic(parsing: statistic)
            let points = try await global.engine().store.metricSeries(
                MetricSeriesRequest(
                    function: try parseFunction(function).name, version: version, resource: resource, metric: metric,
                    statistic: statistic, period: period,
                    since: Date().addingTimeInterval(-(try DurationText.parse(since)))))
            if global.output == .json {
                struct Series: Encodable { var Label: String; var Datapoints: [AlarmEvaluation.Datapoint] }
                return Output.json(Series(Label: metric, Datapoints: points))
            }
            Output.table(
                ["Period", "\(statistic)(\(metric))"],
                points.map {
                    [
                        LambdaTimestamp.string(from: Date(timeIntervalSince1970: $0.periodStart)),
                        $0.value.map(AlarmEvaluator.formatNumber) ?? "-",
                    ]
                })
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record one datapoint (PutMetricData).")
        @OptionGroup var global: GlobalOptions
        @Option var function: String
        @Option(help: "The ExecutedVersion dimension.") var version: String?
        @Option(help: "The Resource dimension, e.g. orders:live.") var resource: String?
        @Option var metric: String
        @Option var value: Double
        @Option var unit: String?
        @Option(help: "Epoch seconds or a Lambda timestamp (default: now).") var timestamp: String?

        func run() async throws {
            var date = Date()
            if let timestamp {
                guard
                    let parsed = Double(timestamp).map({ Date(timeIntervalSince1970: $0) })
                        ?? LambdaTimestamp.date(from: timestamp)
                else {
                    throw RelctlError(
                        .invalidParameterValue,
                        "Invalid --timestamp '\(timestamp)': epoch seconds or 2026-01-31T12:00:00.000+0000.")
                }
                date = parsed
            }
            if let version { _ = try AliasTarget.parseVersion(version) }
            try await global.engine().putMetricData([
                MetricDatapoint(
                    functionName: try parseFunction(function).name, resource: resource, executedVersion: version,
                    metric: metric, value: value, unit: unit, timestamp: date)
            ])
            if global.output == .json { return Output.json(["Recorded": 1]) }
        }
    }
}
