import Foundation
import RelctlCore
import RelctlStorage

/// What Prometheus answered for one judged deployment just before a tick's transaction: the counts
/// of the whole windows from the judge's cursor on, or why there are none (missing data: the judge
/// counts nothing and does not move its cursor, so the windows are read again on the next tick).
struct JudgeSourceReading: Sendable {
    /// Every second before this is covered by `samples` (when `failure` is nil).
    var through: Double
    var samples: JudgeSamples
    var failure: String?
}

extension RolloutEngine {
    /// Queries Prometheus for the judged deployments whose policy reads a `source:` (only `id`'s
    /// when given): the four counters at every step since the judge's cursor, each query with the
    /// Prometheus timeout, all at once. Nothing is read when no such deployment splits traffic.
    func judgeSourceReadings(only id: String?) async -> [String: JudgeSourceReading] {
        struct Plan: Sendable {
            var deploymentId: String
            var source: JudgeSource
            var values: [String: String]
            var start: Double
            var end: Double
        }
        let plans =
            (try? await store.read { tx -> [Plan] in
                let now = tx.now
                var plans: [Plan] = []
                for deployment in try tx.activeDeployments() where id == nil || deployment.id == id {
                    guard let source = deployment.policy.judge?.source, deployment.aliasWeight > 0,
                        deployment.aliasWeight < 100,
                        let cursor = try tx.judgeCursor(deploymentId: deployment.id),
                        let times = source.evaluationTimes(judgedThrough: cursor.judgedThrough, now: now)
                    else { continue }
                    let values = [
                        "target": String(deployment.targetVersion), "current": String(deployment.currentVersion),
                        "function": deployment.functionName, "alias": deployment.alias,
                    ]
                    plans.append(
                        Plan(
                            deploymentId: deployment.id, source: source, values: values, start: times.start,
                            end: times.end))
                }
                return plans
            }) ?? []
        guard !plans.isEmpty else { return [:] }
        return await withTaskGroup(of: (String, JudgeSourceReading).self) { group in
            for plan in plans {
                group.addTask {
                    // The four counters at once: a source that does not answer costs one timeout, not four.
                    let answers = await withTaskGroup(
                        of: (String, Result<[(time: Double, value: Double)], PrometheusFailure>).self
                    ) { queries in
                        for (field, _, _, query) in plan.source.queries {
                            queries.addTask {
                                (
                                    field,
                                    await Self.fetchRange(
                                        query, query: query.substituted(plan.values), start: plan.start, end: plan.end,
                                        step: plan.source.step)
                                )
                            }
                        }
                        var answers: [String: Result<[(time: Double, value: Double)], PrometheusFailure>] = [:]
                        for await (field, answer) in queries { answers[field] = answer }
                        return answers
                    }
                    var points: [String: [(time: Double, value: Double)]] = [:]
                    var failures: [String] = []
                    for (field, _, _, _) in plan.source.queries {
                        switch answers[field] {
                        case .success(let series)? where series.isEmpty:
                            failures.append("\(field) returned no data")
                        case .success(let series)?:
                            points[field] = series
                        case .failure(let failure)?:
                            failures.append("\(field): \(failure.description)")
                        case nil:
                            failures.append("\(field) was not queried")
                        }
                    }
                    if !failures.isEmpty {
                        return (
                            plan.deploymentId,
                            JudgeSourceReading(
                                through: plan.start, samples: JudgeSamples(), failure: failures.joined(separator: "; "))
                        )
                    }
                    return (
                        plan.deploymentId,
                        JudgeSourceReading(
                            through: plan.end, samples: JudgeSource.samples(points, source: plan.source), failure: nil)
                    )
                }
            }
            var result: [String: JudgeSourceReading] = [:]
            for await (id, reading) in group { result[id] = reading }
            return result
        }
    }
}
