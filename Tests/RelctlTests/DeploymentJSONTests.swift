import Foundation
import Testing

@testable import RelctlCore

/// A deployment's state and an alias's audit JSON are written by hand on every step; they must be
/// the very bytes `JSONEncoder` (keys sorted, slashes unescaped) wrote before, so every stored row
/// and every reader stays as it was.
@Suite struct DeploymentJSONTests {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    static let policies: [DeploymentPolicy] = [
        DeploymentPolicy(name: "Linear10PercentEvery10Minutes", kind: .linear(percentage: 10, interval: 600)),
        DeploymentPolicy(name: "AllAtOnce", kind: .allAtOnce, source: "shipped"),
        DeploymentPolicy(
            name: "custom/steps",
            kind: .steps([.weight(percent: 2.5, hold: 30), .pause, .weight(percent: 50, hold: 1)]),
            source: "/etc/relctl/policies/a.yaml",
            judge: JudgeConfiguration(errors: .init(maxRatio: 1.2, floor: nil))),
    ]

    /// Deployments in every shape the machine leaves them: fresh, mid-shift, paused, with hooks
    /// (pending, running, finished, with output), failed with an error, and with awkward strings.
    static func deployments() -> [Deployment] {
        var result: [Deployment] = []
        for (index, policy) in policies.enumerated() {
            var fresh = Deployment(
                id: "d-ABCDEFGH\(index)", functionName: "orders", alias: "live", currentVersion: 1, targetVersion: 12,
                policy: policy, createTime: 1_800_000_000.123)
            result.append(fresh)
            fresh.alarms = ["errors", "latency \"p99\"/x"]
            fresh.preTrafficHook = "exec:./check.sh --url http://a/b"
            fresh.postTrafficHook = "smoke:live"
            fresh.hookTimeout = 90.5
            fresh.autoRollback = false
            fresh.creator = "cli:root@host\\name"
            result.append(fresh)
            var running = fresh
            _ = running.tick(
                now: 1_800_000_001,
                alarms: ["errors": .init(state: .ok, reason: ""), "latency \"p99\"/x": .init(state: .ok, reason: "")]
            ) { "exec-1" }
            running.hooks.append(
                HookExecution(
                    executionId: "e-2", event: .afterAllowTraffic, hook: "smoke:live", status: .succeeded,
                    startedAt: 1_800_000_002.5, finishedAt: 1_800_000_003, output: "ok\nline 2\t\u{01}é🚀",
                    runner: "host:123", heartbeatAt: 1_800_000_002.75, attempt: 3))
            running.status = .inProgress
            running.phase = .allowTraffic
            running.stageIndex = 2
            running.stageStartedAt = 1_800_000_600
            running.stageTimes = [1_800_000_001, 1_800_000_300.25, 1_800_000_600]
            running.weight = 33.333333333333336
            running.aliasWeight = 1e-05
            running.startTime = 1_800_000_001
            result.append(running)
            var paused = running
            paused.status = .paused
            paused.pausedAt = 1_800_000_700
            result.append(paused)
            var failed = running
            _ = failed.fail(now: 1_800_000_800, code: "ALARM_ACTIVE", message: "Alarm \"errors\" is in ALARM: 5 ≥ 1")
            result.append(failed)
        }
        return result
    }

    @Test func deploymentStateIsTheBytesJSONEncoderWrites() throws {
        // A field added to Deployment or HookExecution must be written by `jsonText` too (then count it here).
        #expect(Mirror(reflecting: Self.deployments()[0]).children.count == 27)
        #expect(Mirror(reflecting: Self.deployments()[7].hooks[0]).children.count == 10)
        for deployment in Self.deployments() {
            let text = try #require(deployment.jsonText(policyJSON: Self.encoded(deployment.policy)))
            #expect(text == (try Self.encoded(deployment)))
            #expect(try JSONDecoder().decode(Deployment.self, from: Data(text.utf8)) == deployment)
        }
    }

    @Test func aNumberJSONCannotHoldLeavesTheStateToJSONEncoder() throws {
        var deployment = Self.deployments()[0]
        deployment.stageTimes = [.infinity]
        #expect(deployment.jsonText(policyJSON: "{}") == nil)
        deployment.stageTimes = []
        deployment.hookTimeout = .nan
        #expect(deployment.jsonText(policyJSON: "{}") == nil)
    }

    @Test func aliasConfigurationIsTheBytesJSONEncoderWrites() throws {
        let aliases = [
            AliasConfiguration(
                AliasArn: "arn:aws:lambda:us-east-1:000000000000:function:orders:live", Name: "live",
                FunctionVersion: "1", Description: "", RoutingConfig: nil, RevisionId: "r-1"),
            AliasConfiguration(
                AliasArn: "arn:aws:lambda:eu-west-1:123456789012:function:orders:live", Name: "live",
                FunctionVersion: "$LATEST", Description: "a/b \"quoted\" \\ line\nnext \u{1F} é",
                RoutingConfig: AliasRoutingConfiguration(AdditionalVersionWeights: ["2": 0.1]), RevisionId: "r-2"),
            AliasConfiguration(
                AliasArn: "arn", Name: "n", FunctionVersion: "10", Description: "d",
                RoutingConfig: AliasRoutingConfiguration(AdditionalVersionWeights: ["9": 0.33333333333333331]),
                RevisionId: "r"),
            AliasConfiguration(
                AliasArn: "arn", Name: "n", FunctionVersion: "10", Description: "d",
                RoutingConfig: AliasRoutingConfiguration(AdditionalVersionWeights: ["11": 1e-07, "9": 1]),
                RevisionId: "r"),
        ]
        for alias in aliases {
            #expect(alias.jsonText == (try Self.encoded(alias)))
        }
    }
}
