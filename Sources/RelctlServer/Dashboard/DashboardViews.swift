import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage

/// What the dashboard reads and acts on: the engine the server answers from (the data directory's SQLite,
/// or the shared database of `serve --database`, so every server's dashboard shows the same registry),
/// scoped to the caller.
struct DashboardSource: Sendable {
    var records: any RegistryRecords
    var rollout: any RolloutStore
    var events: any EventLog

    var engine: RolloutEngine { RolloutEngine(store: rollout) }

    func activeDeployments() async throws(RelctlError) -> [Deployment] {
        try await rollout.read { tx in try tx.activeDeployments() }
    }
}

/// What the dashboard's pages read (`/dashboard/api/…`): the registry's records arranged for one
/// page each, built from the same library calls the CLI makes. Reads only; the actions are in
/// `DashboardRoutes`.
enum DashboardViews {
    // MARK: - Functions (the home page)

    struct Overview: Encodable {
        var quota: Quota
        var functions: [FunctionSummary]
        var activeDeployments: Int
    }

    struct Quota: Encodable {
        var limitBytes: Int64
        var usedBytes: Int64
        var usedPercent: Double
        /// After dedupe: what the blob store really holds.
        var storedBytes: Int64
    }

    struct FunctionSummary: Encodable {
        var name: String
        var runtime: String?
        var versions: Int
        var codeBytes: Int64
        /// This function's share of the account's code-storage limit.
        var quotaPercent: Double
        var aliases: [AliasView]
        var activeDeployment: String?
    }

    struct AliasView: Encodable {
        var name: String
        var functionVersion: String
        /// Percent of traffic per version, the primary first.
        var weights: [VersionWeight]
        var deploymentId: String?
    }

    struct VersionWeight: Encodable {
        var version: String
        var percent: Double
    }

    static func overview(_ source: DashboardSource) async throws(RelctlError) -> Overview {
        let report = try await source.records.quotaReport(top: 100_000)
        let limit = report.AccountLimit.TotalCodeSize
        let active = try await source.activeDeployments()
        var functions: [FunctionSummary] = []
        for function in try await allFunctions(source.records) {
            let usage = report.TopConsumers.first { $0.Kind == "Function" && $0.Name == function.FunctionName }
            let aliases = try await allAliases(source.records, function.FunctionName).map {
                aliasView($0, active: active, function: function.FunctionName)
            }
            functions.append(
                FunctionSummary(
                    name: function.FunctionName, runtime: function.Runtime, versions: usage?.Versions ?? 0,
                    codeBytes: usage?.CodeSize ?? 0,
                    quotaPercent: limit > 0 ? Double(usage?.CodeSize ?? 0) / Double(limit) * 100 : 0, aliases: aliases,
                    activeDeployment: active.first { $0.functionName == function.FunctionName }?.id))
        }
        return Overview(
            quota: Quota(
                limitBytes: limit, usedBytes: report.AccountUsage.TotalCodeSize, usedPercent: report.UsedPercent,
                storedBytes: report.StoredBytes),
            functions: functions, activeDeployments: active.count)
    }

    static func aliasView(_ alias: AliasConfiguration, active: [Deployment], function: String) -> AliasView {
        let additional = alias.RoutingConfig?.AdditionalVersionWeights ?? [:]
        let others = additional.sorted { $0.key < $1.key }.map {
            VersionWeight(version: $0.key, percent: $0.value * 100)
        }
        let primary = VersionWeight(version: alias.FunctionVersion, percent: 100 - others.reduce(0) { $0 + $1.percent })
        return AliasView(
            name: alias.Name, functionVersion: alias.FunctionVersion, weights: [primary] + others,
            deploymentId: active.first { $0.functionName == function && $0.alias == alias.Name }?.id)
    }

    // MARK: - A function

    struct FunctionDetail: Encodable {
        var name: String
        var arn: String
        var runtime: String?
        var quotaPercent: Double
        var versions: [VersionView]
        var aliases: [AliasView]
        var history: [HistoryEntry]
        var deployments: [DeploymentSummary]
    }

    struct VersionView: Encodable {
        var version: String
        var codeBytes: Int64
        var codeSha256: String
        var lastModified: String
        var description: String
        /// Other versions (of any function) whose code is the same blob: stored once.
        var sharesCodeWith: [String]
        /// What keeps this version from being cleaned up: `alias live`, `deployment d-…`.
        var protectedBy: [String]
    }

    static func function(_ source: DashboardSource, name: String) async throws(RelctlError) -> FunctionDetail {
        let records = source.records
        let latest = try await records.getFunction(FunctionReference(name: name))
        let versions = try await allVersions(records, name)
        let active = try await source.activeDeployments()
        let aliases = try await allAliases(records, name)
        var byCode: [String: [String]] = [:]
        for function in try await allFunctions(records) {
            for version in try await allVersions(records, function.FunctionName) where version.Version != "$LATEST" {
                byCode[version.CodeSha256, default: []].append(
                    function.FunctionName == name ? version.Version : "\(function.FunctionName):\(version.Version)")
            }
        }
        let report = try await records.quotaReport(top: 100_000)
        let limit = report.AccountLimit.TotalCodeSize
        let used = report.TopConsumers.first { $0.Kind == "Function" && $0.Name == name }?.CodeSize ?? 0
        var history: [HistoryEntry] = []
        for alias in aliases { history += try await records.history(function: name, alias: alias.Name, limit: 50) }
        let views = versions.reversed().map { version in
            var protectors: [String] = []
            for alias in aliases
            where alias.FunctionVersion == version.Version
                || alias.RoutingConfig?.AdditionalVersionWeights[version.Version] != nil
            {
                protectors.append("alias \(alias.Name)")
            }
            for deployment in active
            where deployment.functionName == name
                && (String(deployment.currentVersion) == version.Version
                    || String(deployment.targetVersion) == version.Version)
            {
                protectors.append("deployment \(deployment.id)")
            }
            if version.Version == "$LATEST" { protectors.append("$LATEST") }
            return VersionView(
                version: version.Version, codeBytes: version.CodeSize, codeSha256: version.CodeSha256,
                lastModified: version.LastModified,
                description: version.Description,
                sharesCodeWith: (byCode[version.CodeSha256] ?? []).filter { $0 != version.Version },
                protectedBy: protectors)
        }
        return FunctionDetail(
            name: name, arn: latest.FunctionArn, runtime: latest.Runtime,
            quotaPercent: limit > 0 ? Double(used) / Double(limit) * 100 : 0,
            versions: views, aliases: aliases.map { aliasView($0, active: active, function: name) },
            history: history.sorted { $0.Time > $1.Time },
            deployments: try await records.listDeployments(function: name, status: nil, limit: 20).map(
                DeploymentSummary.init))
    }

    // MARK: - Deployments

    struct DeploymentSummary: Encodable {
        var id: String
        var function: String
        var alias: String
        var currentVersion: Int
        var targetVersion: Int
        var policy: String
        var status: String
        var weight: Double
        var step: String?
        var createTime: Double
        var completeTime: Double?
        var nextShiftTime: Double?

        init(_ deployment: Deployment) {
            let info = DeploymentInfo(deployment)
            id = deployment.id
            function = deployment.functionName
            alias = deployment.alias
            currentVersion = deployment.currentVersion
            targetVersion = deployment.targetVersion
            policy = deployment.policy.name
            status = deployment.status.rawValue
            weight = deployment.weight
            step = info.step
            createTime = deployment.createTime
            completeTime = deployment.completeTime
            nextShiftTime = deployment.nextShiftAt
        }
    }

    /// Active deployments first (newest first among them), then the rest, newest first.
    static func deployments(_ source: DashboardSource) async throws(RelctlError) -> [DeploymentSummary] {
        let all = try await source.records.listDeployments(function: nil, status: nil, limit: 200)
        return (all.filter { $0.status.isActive } + all.filter { !$0.status.isActive }).map(DeploymentSummary.init)
    }

    struct DeploymentDetail: Encodable {
        var deployment: DeploymentInfo
        var autoRollback: Bool
        var now: Double
        /// The policy's steps as planned from the moment traffic first moved (pauses take no time in the plan).
        var planned: [Point]
        /// Where the weight really was and when: each step as it started, then the end (or now).
        var actual: [Point]
        var alarms: [AlarmStatus]
        /// `JudgeVerdict` events of the event log for this deployment (empty until the judge runs on it).
        var judge: [ReleaseEvent]
        var series: [Series]
        var periodSeconds: Int
    }

    struct Point: Encodable {
        var time: Double
        var weight: Double
    }

    struct Series: Encodable {
        /// Invocations, Errors, p50 or p99 (Duration, milliseconds).
        var metric: String
        var version: String
        var points: [AlarmEvaluation.Datapoint]
    }

    /// `states`: the deployment's alarms as `RolloutEngine.alarmStatuses` evaluates them now.
    static func deployment(
        _ source: DashboardSource, _ deployment: Deployment, alarms states: [String: AlarmStatus], now: Double
    ) async throws(RelctlError) -> DeploymentDetail {
        let id = deployment.id
        let events = try await source.records.deploymentEvents(id: id, after: 0)
        let judge = try await source.events.listEvents(
            after: 0, filter: EventFilter(function: deployment.functionName, types: [.judgeVerdict]), limit: 1000
        )
        .filter { $0.deploymentId == id }
        let end = deployment.completeTime ?? now
        let from = deployment.startTime ?? deployment.createTime
        // At most ~120 points a chart: 10-second periods for a short canary, longer ones for long rollouts.
        let period = max(10, Int(((end - from) / 120 / 10).rounded(.up)) * 10)
        let since = Date(timeIntervalSince1970: from - Double(period))
        var series: [Series] = []
        let metrics: [(String, String, Statistic)] = [
            ("Invocations", "Invocations", .sum), ("Errors", "Errors", .sum),
            ("p50", "Duration", .percentile(50)), ("p99", "Duration", .percentile(99)),
        ]
        for (label, metric, statistic) in metrics {
            for version in [deployment.currentVersion, deployment.targetVersion] {
                let points = try await source.rollout.metricSeries(
                    MetricSeriesRequest(
                        function: deployment.functionName, version: String(version), resource: nil, metric: metric,
                        statistic: statistic, period: period, since: since))
                series.append(
                    Series(metric: label, version: String(version), points: points.filter { $0.periodStart <= end }))
            }
        }
        return DeploymentDetail(
            deployment: DeploymentInfo(deployment, alarms: states, events: events),
            autoRollback: deployment.autoRollback, now: now,
            planned: plannedSteps(deployment), actual: actualSteps(deployment, now: now),
            alarms: deployment.alarms.compactMap { states[$0] }, judge: judge, series: series, periodSeconds: period)
    }

    /// The policy's schedule, anchored where traffic first moved (or, before that, at creation).
    static func plannedSteps(_ deployment: Deployment) -> [Point] {
        var time = deployment.stageTimes.first ?? deployment.startTime ?? deployment.createTime
        var points: [Point] = []
        for stage in deployment.policy.stages {
            switch stage {
            case .weight(let percent, let hold):
                points.append(Point(time: time, weight: percent))
                time += hold
            case .pause:
                break
            }
        }
        points.append(Point(time: time, weight: 100))
        return points
    }

    /// The weight as it really moved: each stage's start with its weight, and the last word (a
    /// rollback's 0, a stop that kept the weight, or the weight now).
    static func actualSteps(_ deployment: Deployment, now: Double) -> [Point] {
        let stages = deployment.policy.stages
        var points: [Point] = []
        var weight = 0.0
        for (index, start) in deployment.stageTimes.enumerated() {
            if index < stages.count {
                if case .weight(let percent, _) = stages[index] { weight = percent }
            } else {
                weight = 100
            }
            points.append(Point(time: start, weight: weight))
        }
        points.append(
            Point(time: deployment.completeTime ?? now, weight: deployment.rolledBack ? 0 : deployment.weight))
        return points
    }

    // MARK: - Helpers

    static func allFunctions(_ records: any RegistryRecords) async throws(RelctlError) -> [FunctionConfiguration] {
        try await everyPage { marker throws(RelctlError) in
            try await records.functionPage(allVersions: false, marker: marker, maxItems: 50)
        }
    }

    static func allVersions(
        _ records: any RegistryRecords, _ name: String
    ) async throws(RelctlError) -> [FunctionConfiguration] {
        try await everyPage { marker throws(RelctlError) in
            try await records.versionPage(FunctionReference(name: name), marker: marker, maxItems: 50)
        }
    }

    static func allAliases(
        _ records: any RegistryRecords, _ name: String
    ) async throws(RelctlError) -> [AliasConfiguration] {
        try await everyPage { marker throws(RelctlError) in
            try await records.aliasPage(function: name, functionVersion: nil, marker: marker, maxItems: 50)
        }
    }

    /// Every item of a paginated listing, following `NextMarker` to the end.
    static func everyPage<Item: Sendable>(
        _ fetch: (String?) async throws(RelctlError) -> RecordPage<Item>
    ) async throws(RelctlError) -> [Item] {
        var result: [Item] = []
        var marker: String?
        repeat {
            let page = try await fetch(marker)
            result += page.items
            marker = page.nextMarker
        } while marker != nil
        return result
    }
}
