import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

struct AlarmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarm", abstract: "CloudWatch-style metric alarms that deployments watch.",
        subcommands: [Put.self, List.self, Delete.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or replace an alarm (PutMetricAlarm).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option var function: String
        @Option(help: "The Resource dimension, e.g. orders:live.") var resource: String?
        @Option(
            name: .customLong("executed-version"), help: "target (the deployment's new version) or a version number.")
        var executedVersion: String?
        @Option(help: "Errors, Invocations, Duration, Throttles or a custom metric (not with --prometheus).")
        var metric: String?
        @Option(help: "Sum, Average, SampleCount, Minimum, Maximum or pNN (not with --prometheus).") var statistic:
            String?
        @Option(
            help: "Read --query from this Prometheus server (e.g. http://127.0.0.1:9090) instead of relctl's metrics.")
        var prometheus: String?
        @Option(
            help:
                "With --prometheus: a PromQL query; {{target}}, {{current}}, {{function}} and {{alias}} are filled in from the deployment."
        ) var query: String?
        @Option(help: "Seconds per datapoint: 10, 30 or a multiple of 60.") var period: Int
        @Option(name: .customLong("evaluation-periods")) var evaluationPeriods: Int
        @Option(name: .customLong("datapoints-to-alarm")) var datapointsToAlarm: Int?
        @Option var threshold: Double
        @Option(name: .customLong("comparison-operator")) var comparisonOperator: String
        @Option(name: .customLong("treat-missing-data"), help: "missing, notBreaching, breaching or ignore.")
        var treatMissingData: String = "missing"

        func run() async throws {
            guard let comparison = ComparisonOperator(rawValue: comparisonOperator) else {
                throw RelctlError(
                    .invalidParameterValue,
                    "Unknown comparison operator '\(comparisonOperator)': use \(ComparisonOperator.allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
            guard let missing = TreatMissingData(rawValue: treatMissingData) else {
                throw RelctlError(
                    .invalidParameterValue,
                    "Unknown --treat-missing-data '\(treatMissingData)': use missing, notBreaching, breaching or ignore."
                )
            }
            var source: PrometheusQuery?
            if let prometheus {
                guard let query else {
                    throw RelctlError(.invalidParameterValue, "--prometheus needs --query with a PromQL expression.")
                }
                guard metric == nil, statistic == nil else {
                    throw RelctlError(
                        .invalidParameterValue,
                        "--metric and --statistic are for relctl's metrics; a --prometheus alarm reads its --query.")
                }
                source = PrometheusQuery(url: prometheus, query: query)
            } else if query != nil {
                throw RelctlError(.invalidParameterValue, "--query needs --prometheus URL (the server to ask).")
            }
            guard source != nil || (metric != nil && statistic != nil) else {
                throw RelctlError(
                    .invalidParameterValue, "Give --metric and --statistic, or --prometheus URL --query Q.")
            }
            let definition = AlarmDefinition(
                name: name, functionName: try parseFunction(function).name, resource: resource,
                executedVersion: executedVersion,
                metric: metric ?? "PromQL", statistic: try Statistic(parsing: statistic ?? "Maximum"), period: period,
                evaluationPeriods: evaluationPeriods,
                datapointsToAlarm: datapointsToAlarm, threshold: threshold, comparisonOperator: comparison,
                treatMissingData: missing,
                prometheus: source)
            let (records, engine) = try await global.rollout()
            try await records.putAlarm(definition)
            let status = try await engine.listAlarms().first { $0.AlarmName == name }
            if global.output == .json { return Output.json(status) }
            print("Alarm \(name): \(status?.StateValue ?? "?") — \(status?.StateReason ?? "")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every alarm, evaluated now, with the reason and datapoints (DescribeAlarms).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let alarms = try await global.engine().listAlarms()
            if global.output == .json { return Output.json(["MetricAlarms": alarms]) }
            Output.table(
                ["Alarm", "State", "Metric", "Datapoints", "Reason"],
                alarms.map {
                    let definition = $0.Definition
                    let metric =
                        "\(definition.prometheus.map { "PromQL(\($0.query))" } ?? "\(definition.statistic)(\(definition.metric))") \(definition.comparisonOperator.rawValue) \(AlarmEvaluator.formatNumber(definition.threshold)), \(definition.datapointsToAlarm)/\(definition.evaluationPeriods)×\(definition.period)s"
                    let points = $0.Datapoints.suffix(definition.evaluationPeriods).map {
                        $0.value.map(AlarmEvaluator.formatNumber) ?? "-"
                    }.joined(separator: " ")
                    return [$0.AlarmName, $0.StateValue, metric, points, $0.StateReason]
                })
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an alarm (DeleteAlarms).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let deleted = try await global.rollout().records.deleteAlarm(name: name)
            if global.output == .json { return Output.json(["Deleted": deleted]) }
            print(deleted ? "Deleted alarm \(name)." : "Alarm \(name) does not exist; nothing to delete.")
        }
    }
}
