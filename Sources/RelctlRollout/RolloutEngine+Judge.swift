import Foundation
import RelctlCore
import RelctlStorage

/// One advance's work with a deployment's canary judge: it reads the judge's cursor (cheap), and only
/// when there are closed seconds to feed, a weight to note or a hold to judge, loads the state, feeds
/// it the new seconds' samples (never the ones it has seen), maps the verdict onto the deployment and
/// saves it.
struct JudgeStep {
    let configuration: JudgeConfiguration
    var cursor: JudgeCursor?
    var state: DeploymentJudge?
    var dirty = false

    /// nil when the deployment's policy has no judge.
    init?(_ tx: any RolloutTransaction, _ deployment: Deployment) throws {
        guard let configuration = deployment.policy.judge else { return nil }
        self.configuration = configuration
        cursor = try tx.judgeCursor(deploymentId: deployment.id)
    }

    /// The state, read (or started, on the deployment's first advance) once per step.
    mutating func load(_ tx: any RolloutTransaction, _ deployment: Deployment, now: Double) throws -> DeploymentJudge {
        if let state { return state }
        let loaded =
            try tx.deploymentJudge(deploymentId: deployment.id)
            ?? DeploymentJudge(
                judge: Judge(
                    configuration: configuration,
                    baselineLatencies: try RolloutEngine.referenceLatencies(tx, deployment, before: now)),
                judgedThrough: now.rounded(.down))
        state = loaded
        dirty = dirty || cursor == nil
        return loaded
    }

    /// Feeds the closed seconds and returns what the verdict asks of the deployment (in the same
    /// transaction, before the machine's own tick).
    /// `source`: what Prometheus answered before the transaction, for a judge with a `source:` (nil:
    /// not queried on this path — such a judge then reads nothing new).
    mutating func decide(
        _ tx: any RolloutTransaction, _ deployment: inout Deployment, now: Double,
        source: JudgeSourceReading? = nil
    ) throws -> [DeploymentAction] {
        guard deployment.status.isActive else { return [] }
        // From a Prometheus source: as far as its answer covers, nothing when it failed.
        let external = configuration.source != nil
        let through =
            external
            ? (source.flatMap { $0.failure == nil ? $0.through : nil } ?? 0) : DeploymentJudge.closedThrough(now: now)
        let split = deployment.aliasWeight > 0 && deployment.aliasWeight < 100
        let endOfLastHold = Self.lastHoldEnded(deployment, now: now)
        let due =
            cursor == nil || cursor!.weight != deployment.aliasWeight || endOfLastHold
            || (split && through > cursor!.judgedThrough) || source != nil
        guard due else { return [] }
        var judge = try load(tx, deployment, now: now)
        defer { state = judge }
        judge.follow(weight: deployment.aliasWeight, at: now)
        var actions: [DeploymentAction] = []
        if external, let source, source.failure != judge.sourceProblem {
            judge.sourceProblem = source.failure
            let message =
                source.failure.map {
                    "Canary judge: Prometheus data is missing (\($0)); no evidence is counted until it answers."
                }
                ?? "Canary judge: Prometheus answers again; judging from the first unread window."
            actions.append(
                .record(
                    DeploymentEvent(
                        at: now, kind: "JudgeSource", message: message,
                        details: source.failure.map { ["missingData": $0] } ?? [:])))
        }
        if through > judge.judgedThrough {
            // Only the seconds since the judge last read, and none before traffic was first split.
            let firstSplit = judge.weights.first { $0.percent > 0 && $0.percent < 100 }?.at.rounded(.down)
            if let firstSplit, firstSplit < through {
                let from = max(judge.judgedThrough, firstSplit)
                let samples =
                    external
                    ? source!.samples
                    : try RolloutEngine.judgeSamples(
                        tx, deployment, from: from, to: through, latency: configuration.latency != nil)
                judge.judgedThrough = from
                judge.feed(samples, through: through)
            } else {
                judge.judgedThrough = through
            }
        }
        dirty = true
        let verdict = judge.judge.verdict
        if !verdict.sameKind(as: judge.logged) {
            judge.logged = verdict
            actions.append(.record(Self.event(judge, deployment, now: now, verdict: verdict, prefix: "Canary judge")))
        }
        switch verdict {
        case .abort(let reason):
            return actions + Self.abort(&deployment, judge, now: now, reason: reason)
        case .pause(let reason):
            if deployment.status == .inProgress, !judge.pausedByJudge {
                judge.pausedByJudge = true
                actions += try deployment.pause(now: now, by: "the canary judge (\(reason))")
            }
        case .promote:
            if configuration.earlyPromote, Self.mayEndHold(deployment, judge: judge.judge) {
                actions += try deployment.promote(now: now, full: false, by: "the canary judge")
            }
        case .continue:
            break
        }
        if Self.lastHoldEnded(deployment, now: now), !judge.endOfLastHoldJudged {
            judge.endOfLastHoldJudged = true
            let end = judge.judge.verdictAtEndOfLastHold
            actions.append(
                .record(Self.event(judge, deployment, now: now, verdict: end, prefix: "End of the last hold")))
            switch end {
            case .abort(let reason):
                actions += Self.abort(&deployment, judge, now: now, reason: reason)
            case .pause(let reason):
                judge.pausedByJudge = true
                actions += try deployment.pause(
                    now: now, by: "the canary judge (\(reason); resume or promote to go on, stop to roll back)")
            case .promote, .continue:
                break  // the machine's own tick goes on to 100%
            }
        }
        return actions
    }

    /// After the machine's actions are applied: notes a weight the deployment set, saves the state.
    mutating func finish(_ tx: any RolloutTransaction, _ deployment: Deployment, now: Double) throws {
        if (state?.weights.last?.percent ?? cursor?.weight) != deployment.aliasWeight {
            var judge = try load(tx, deployment, now: now)
            judge.follow(weight: deployment.aliasWeight, at: now)
            state = judge
            dirty = true
        }
        if dirty, let state { try tx.saveDeploymentJudge(state, deploymentId: deployment.id) }
    }

    /// The last stage is a weight whose hold is over (the machine is about to go to 100%).
    static func lastHoldEnded(_ deployment: Deployment, now: Double) -> Bool {
        let stages = deployment.policy.stages
        guard deployment.status == .inProgress, deployment.phase == .allowTraffic, !stages.isEmpty,
            deployment.stageIndex == stages.count - 1, case .weight(_, let hold) = stages[stages.count - 1],
            let started = deployment.stageStartedAt
        else { return false }
        return now - started >= hold
    }

    /// A promote ends the current hold only when the judge's step is this one: it has seen this
    /// weight's traffic (its minimum requests count from the weight change) and the stage is a timed hold.
    static func mayEndHold(_ deployment: Deployment, judge: Judge) -> Bool {
        let stages = deployment.policy.stages
        guard deployment.status == .inProgress, deployment.phase == .allowTraffic, deployment.stageIndex < stages.count,
            case .weight(let percent, _) = stages[deployment.stageIndex]
        else { return false }
        return abs(judge.stepWeight * 100 - percent) < 1e-9 && abs(deployment.aliasWeight - percent) < 1e-9
    }

    static func abort(
        _ deployment: inout Deployment, _ judge: DeploymentJudge, now: Double, reason: String
    ) -> [DeploymentAction] {
        deployment.fail(
            now: now, code: "ALARM_ACTIVE",
            message:
                "The canary judge aborted at \(DeploymentPolicy.percentText(deployment.weight)) to version \(deployment.targetVersion): \(reason)",
            details: judge.judge.evidence.details.merging(["judge": "abort"]) { _, new in new })
    }

    static func event(
        _ judge: DeploymentJudge, _ deployment: Deployment, now: Double, verdict: JudgeVerdict, prefix: String
    ) -> DeploymentEvent {
        let evidence = judge.judge.evidence
        let ratio = evidence.errors.ratio.map { String(format: "%.2g×", $0) } ?? "–"
        let summary =
            "canary \(evidence.canary.errors)/\(evidence.canary.invocations) errors vs baseline \(evidence.baseline.errors)/\(evidence.baseline.invocations), ratio \(ratio) [\(String(format: "%.3g", evidence.errors.ratioLow))×–\(String(format: "%.3g", evidence.errors.ratioHigh))×], harm \(Judge.numberText(evidence.errors.harm))/\(Judge.numberText(evidence.errors.harmThreshold))"
        var details = evidence.details
        details["verdict"] = verdict.word
        if case .abort(let reason) = verdict { details["reason"] = reason }
        if case .pause(let reason) = verdict { details["reason"] = reason }
        return DeploymentEvent(
            at: now, kind: "JudgeVerdict", message: "\(prefix): \(verdict.text) (\(summary))", details: details)
    }
}

extension RolloutEngine {
    /// The judged alias's per-second samples in `[from, to)`: the runtime's Invocations, Errors (and
    /// Duration when latency is judged) of the target and the current version, on `function:alias`.
    static func judgeSamples(
        _ tx: any RolloutTransaction, _ deployment: Deployment, from: Double, to: Double, latency: Bool
    ) throws -> JudgeSamples {
        var samples = JudgeSamples()
        let resource = "\(deployment.functionName):\(deployment.alias)"
        for (side, version) in [
            (JudgeSamples.Side.canary, deployment.targetVersion), (.baseline, deployment.currentVersion),
        ] {
            for metric in ["Invocations", "Errors"] + (latency ? ["Duration"] : []) {
                let query = MetricQuery(
                    function: deployment.functionName, metric: metric, from: from, to: to, resource: resource,
                    executedVersion: String(version))
                for sample in try tx.metricSamples(query) {
                    samples.add(side, metric: metric, timestamp: sample.timestamp, value: sample.value)
                }
            }
        }
        return samples
    }

    /// The baseline's durations on the alias in the hour before `time` (the newest 5,000), so the
    /// latency thresholds are fixed before the first judged second; nil when latency is not judged.
    static func referenceLatencies(
        _ tx: any RolloutTransaction, _ deployment: Deployment, before time: Double
    ) throws -> [Double]? {
        guard deployment.policy.judge?.latency != nil else { return nil }
        let samples = try tx.metricSamples(
            MetricQuery(
                function: deployment.functionName, metric: "Duration", from: time - 3600, to: time,
                resource: "\(deployment.functionName):\(deployment.alias)",
                executedVersion: String(deployment.currentVersion)))
        return samples.sorted { $0.timestamp < $1.timestamp }.suffix(5000).map(\.value)
    }

    /// Whether a tick has work for the deployment's judge (closed seconds to feed while traffic is
    /// split, or a weight it has not seen), read from its cursor without decoding its state.
    static func judgeDue(
        _ tx: any RolloutTransaction, _ deployment: Deployment, now: Double, source: JudgeSourceReading? = nil
    ) throws -> Bool {
        guard let judge = deployment.policy.judge, deployment.status.isActive else { return false }
        guard let cursor = try tx.judgeCursor(deploymentId: deployment.id) else { return true }
        if cursor.weight != deployment.aliasWeight { return true }
        // A Prometheus-sourced judge has news only when the source was read (its answer or its failure).
        if judge.source != nil { return source != nil }
        return deployment.aliasWeight > 0 && deployment.aliasWeight < 100
            && DeploymentJudge.closedThrough(now: now) > cursor.judgedThrough
    }

    /// The deployment's judge reads these datapoints' metrics.
    static func judgeWatches(_ deployment: Deployment, _ datapoints: [MetricDatapoint]) -> Bool {
        guard deployment.policy.judge != nil else { return false }
        return datapoints.contains {
            $0.functionName == deployment.functionName && ["Invocations", "Errors", "Duration"].contains($0.metric)
        }
    }

    // MARK: - Replay

    /// `relctl judge replay`: the deployment's recorded per-second metrics (the seconds its traffic
    /// was split, at the weights it set) fed through `configuration`'s judge, with every change of verdict.
    public func replayJudge(
        _ deployment: Deployment, weights: [DeploymentJudge.WeightMark], configuration: JudgeConfiguration,
        policy: String
    ) async throws(RelctlError) -> JudgeReplay {
        try configuration.validate()
        var copy = deployment
        copy.policy.judge = configuration
        let judged = copy
        return try await store.read { tx in
            let start = weights.first { $0.percent > 0 && $0.percent < 100 }?.at.rounded(.down)
            let end = (judged.completeTime.map { $0.rounded(.up) } ?? DeploymentJudge.closedThrough(now: tx.now))
            var state = DeploymentJudge(
                judge: Judge(
                    configuration: configuration,
                    baselineLatencies: try Self.referenceLatencies(tx, judged, before: start ?? end)),
                judgedThrough: start ?? end, weights: weights)
            var replay = JudgeReplay(
                deploymentId: judged.id, policy: policy, start: start, seconds: 0, changes: [], outcome: "",
                evidence: state.judge.evidence)
            guard let start, start < end else {
                replay.outcome = "The deployment never split traffic between its versions: nothing to judge."
                return replay
            }
            let samples = try Self.judgeSamples(tx, judged, from: start, to: end, latency: configuration.latency != nil)
            var last: JudgeVerdict?
            var second = start
            while second < end {
                let before = state.judge.seconds
                state.feed(samples, through: second + 1)
                second += 1
                guard state.judge.seconds > before else { continue }
                let verdict = state.judge.verdict
                // A new step (weight) is a change too: its promote is a hold ending early.
                let weight = state.weight(at: second - 0.5)
                if !verdict.sameKind(as: last) || replay.changes.last?.weight != weight {
                    replay.changes.append(
                        .init(offset: second - 1 - start, weight: weight, verdict: verdict.word, text: verdict.text))
                    last = verdict
                }
                if case .abort = verdict { break }
                if case .pause = verdict { break }
            }
            replay.seconds = state.judge.seconds
            replay.evidence = state.judge.evidence
            let stopped = replay.changes.last { ["ABORT", "PAUSE"].contains($0.verdict) }
            if let stopped {
                replay.outcome =
                    "Would have \(stopped.verdict == "ABORT" ? "aborted" : "paused") at +\(DurationText.format(stopped.offset)) (\(DeploymentPolicy.percentText(stopped.weight))): \(stopped.text)"
            } else {
                let promotes = replay.changes.filter { $0.verdict == "PROMOTE" }
                let end = state.judge.verdictAtEndOfLastHold
                replay.outcome =
                    (promotes.isEmpty
                        ? "Never promoted early"
                        : "Would have ended holds early at "
                            + promotes.map {
                                "+\(DurationText.format($0.offset)) (\(DeploymentPolicy.percentText($0.weight)))"
                            }.joined(separator: ", "))
                    + "; at the end of its traffic: \(end.text)"
            }
            return replay
        }
    }
}

/// What `relctl judge replay` prints.
public struct JudgeReplay: Sendable, Encodable {
    public struct Change: Sendable, Encodable, Equatable {
        /// Seconds since the first judged second.
        public var offset: Double
        /// The weight (percent) on the target in that second.
        public var weight: Double
        public var verdict: String
        public var text: String
    }

    public var deploymentId: String
    public var policy: String
    /// The first judged second (nil: traffic was never split).
    public var start: Double?
    public var seconds: Int
    public var changes: [Change]
    public var outcome: String
    public var evidence: JudgeEvidence
}

extension DeploymentJudge {
    /// The weights a deployment set, from its event log (`Shift` events, a rollback to 0): for
    /// deployments judged after the fact.
    public static func weights(from events: [DeploymentEvent]) -> [WeightMark] {
        var marks: [WeightMark] = []
        for event in events {
            switch event.kind {
            case "Shift":
                guard let text = event.details["weight"],
                    let percent = Double(text.replacingOccurrences(of: "%", with: ""))
                else { continue }
                marks.append(WeightMark(at: event.at, percent: percent))
            case "Rollback":
                if marks.last?.percent != 0 { marks.append(WeightMark(at: event.at, percent: 0)) }
            default:
                continue
            }
        }
        return marks
    }
}
