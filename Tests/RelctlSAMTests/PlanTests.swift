import Foundation
import RelctlCore
import RelctlSAM
import Testing

/// Plans a template against a previous deploy, as `relctl sam deploy` does (two passes: planned
/// versions first, then the model that refers to them).
func plan(
    _ text: String, code: [String: String], deployed: [String: DeployedResource] = [:],
    observed: [String: Observed] = [:],
    overrides: [String: String] = [:]
) throws -> StackPlan {
    let first = try model(text, overrides: overrides)
    let versions = StackPlanner.plannedVersions(first, codeKeys: code, deployed: deployed, observed: observed)
    return StackPlanner.plan(
        try model(text, overrides: overrides, versions: versions), codeKeys: code, deployed: deployed,
        observed: observed)
}

/// What the stack records after a plan is applied.
func recorded(_ plan: StackPlan) -> [String: DeployedResource] {
    var result: [String: DeployedResource] = [:]
    for change in plan.changes where change.action != .remove {
        result[change.logicalId] = DeployedResource(
            logicalId: change.logicalId, resourceType: change.resourceType, physicalId: change.physicalId,
            state: plan.states[change.logicalId]!)
    }
    return result
}

let canaryTemplate = """
    Parameters:
      Memory: {Type: Number, Default: 128}
      AllProperties: {Type: String, Default: "false"}
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src
          Handler: app.handler
          Runtime: python3.12
          MemorySize: !Ref Memory
          AutoPublishAlias: live
          AutoPublishAliasAllProperties: !Ref AllProperties
          DeploymentPreference:
            Type: Canary10Percent5Minutes
            Alarms: [!Ref Errors]
      Errors:
        Type: AWS::CloudWatch::Alarm
        Properties:
          Namespace: AWS/Lambda
          MetricName: Errors
          Dimensions: [{Name: FunctionName, Value: !Ref Fn}, {Name: ExecutedVersion, Value: !GetAtt Fn.Version.Version}]
          Statistic: Sum
          Period: 60
          EvaluationPeriods: 1
          Threshold: 0
          ComparisonOperator: GreaterThanThreshold
    """

@Suite struct PlanTests {
    @Test func firstDeployCreatesTheAliasOnVersionOneWithoutADeployment() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        #expect(first.changes.map(\.action) == [.add, .add])
        let step = try #require(first.functions.first)
        #expect(step.create && step.publish && step.targetVersion == 1)
        #expect(step.aliasStep == .create(version: 1))
        #expect(first.alarms.first?.definition.executedVersion == "1")
    }

    @Test func codeChangePublishesTheNextVersionAndDeploysWithThePreference() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        let second = try plan(
            canaryTemplate, code: ["Fn": "bbb"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)])
        let step = try #require(second.functions.first)
        #expect(!step.create && step.updateCode && !step.updateConfiguration && step.publish && step.targetVersion == 2)
        guard case .deploy(let from, let to, let preference) = step.aliasStep else {
            Issue.record("no deployment: \(step.aliasStep)"); return
        }
        #expect(
            from == 1 && to == 2 && preference.type == "Canary10Percent5Minutes" && preference.alarms == ["app-Errors"])
        // The alarm watches the new version: its ExecutedVersion dimension changed, so it is replaced before the deployment.
        #expect(second.alarms.first?.definition.executedVersion == "2")
        #expect(second.changes.first { $0.logicalId == "Fn" }?.action == .modify)
    }

    @Test func unchangedTemplateAndCodePlanNothing() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        let again = try plan(
            canaryTemplate, code: ["Fn": "aaa"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)])
        #expect(!again.hasChanges)
        #expect(again.functions.first?.aliasStep == StackPlan.AliasStep.none)
        #expect(again.alarms.isEmpty)
    }

    @Test func configOnlyChangeUpdatesLatestButPublishesNothing() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        let second = try plan(
            canaryTemplate, code: ["Fn": "aaa"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)],
            overrides: ["Memory": "256"])
        let step = try #require(second.functions.first)
        #expect(step.updateConfiguration && !step.updateCode && !step.publish && step.targetVersion == 1)
        #expect(step.aliasStep == StackPlan.AliasStep.none)
    }

    @Test func configChangeWithAllPropertiesPublishesAndDeploys() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"], overrides: ["AllProperties": "true"])
        let second = try plan(
            canaryTemplate, code: ["Fn": "aaa"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)],
            overrides: ["Memory": "256", "AllProperties": "true"])
        let step = try #require(second.functions.first)
        #expect(step.updateConfiguration && step.publish && step.targetVersion == 2)
        guard case .deploy(1, 2, _) = step.aliasStep else { Issue.record("no deployment: \(step.aliasStep)"); return }
    }

    @Test func autoPublishCodeSha256ChangePublishesWithTheSameCode() throws {
        let text = canaryTemplate.replacingOccurrences(
            of: "AutoPublishAlias: live", with: "AutoPublishAlias: live\n      AutoPublishCodeSha256: !Ref Memory")
        let first = try plan(text, code: ["Fn": "aaa"])
        let second = try plan(
            text, code: ["Fn": "aaa"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)],
            overrides: ["Memory": "129"])
        let step = try #require(second.functions.first)
        #expect(step.updateCode && step.publish && step.targetVersion == 2)
    }

    @Test func disabledPreferenceMovesTheAliasAtOnce() throws {
        let text = canaryTemplate.replacingOccurrences(
            of: "Type: Canary10Percent5Minutes", with: "Type: Canary10Percent5Minutes\n        Enabled: false")
        let first = try plan(text, code: ["Fn": "aaa"])
        let second = try plan(
            text, code: ["Fn": "bbb"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)])
        #expect(second.functions.first?.aliasStep == .moveAtOnce(from: 1, to: 2))
    }

    @Test func rolledBackDeploymentIsRetriedOnTheNextDeploy() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        let second = try plan(
            canaryTemplate, code: ["Fn": "bbb"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)])
        // The deployment to 2 failed: the alias went back to 1. The same template deploys 2 again, publishing nothing.
        let retry = try plan(
            canaryTemplate, code: ["Fn": "bbb"], deployed: recorded(second),
            observed: ["Fn": Observed(highestVersion: 2, aliasVersion: 1)])
        let step = try #require(retry.functions.first)
        #expect(!step.publish && !step.updateCode)
        guard case .deploy(1, 2, _) = step.aliasStep else { Issue.record("no deployment: \(step.aliasStep)"); return }
    }

    @Test func versionNumbersFollowTheHighestEverPublished() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        // Someone published 2 and 3 by hand: the stack's next version is 4.
        let second = try plan(
            canaryTemplate, code: ["Fn": "bbb"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 3, aliasVersion: 1)])
        #expect(second.functions.first?.targetVersion == 4)
        #expect(second.alarms.first?.definition.executedVersion == "4")
    }

    @Test func resourceLeftOutOfTheTemplateIsRemoved() throws {
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        let smaller = """
            Resources:
              Fn:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: src, Handler: app.handler, Runtime: python3.12, AutoPublishAlias: live}
            """
        let second = try plan(
            smaller, code: ["Fn": "aaa"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)])
        #expect(second.removed.map(\.logicalId) == ["Errors"])
        #expect(second.changes.first { $0.logicalId == "Errors" }?.action == .remove)
    }

    @Test func layerContentChangePublishesALayerVersionAndUpdatesItsFunctions() throws {
        let text = """
            Resources:
              Deps:
                Type: AWS::Serverless::LayerVersion
                Properties: {ContentUri: deps, CompatibleRuntimes: [python3.12], RetentionPolicy: Delete}
              Fn:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: src, Handler: app.handler, Runtime: python3.12, AutoPublishAlias: live, Layers: [!Ref Deps]}
            """
        let first = try plan(text, code: ["Fn": "aaa", "Deps": "l1"])
        #expect(first.layers.first?.version == 1)
        let second = try plan(
            text, code: ["Fn": "aaa", "Deps": "l2"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1), "Deps": Observed(highestVersion: 1)])
        #expect(
            second.layers.first?.publish == true && second.layers.first?.version == 2
                && second.layers.first?.deleteVersion == 1)
        let step = try #require(second.functions.first)
        #expect(
            step.updateConfiguration
                && step.spec.settings.layers == ["arn:aws:lambda:local:000000000000:layer:app-Deps:2"])
    }

    @Test func hooksAreOrderedBeforeTheFunctionsTheyGuard() throws {
        let first = try plan(
            safeDeployments,
            code: ["HelloWorldFunction": "a", "PreTrafficLambdaFunction": "h", "PostTrafficLambdaFunction": "h"])
        #expect(
            first.functions.map(\.spec.logicalId) == [
                "PreTrafficLambdaFunction", "PostTrafficLambdaFunction", "HelloWorldFunction",
            ])
    }

    @Test func renamedFunctionIsReplacedCreatedAnewAndTheOldOneRemoved() throws {
        let named = canaryTemplate.replacingOccurrences(
            of: "AutoPublishAlias: live", with: "AutoPublishAlias: live\n      FunctionName: orders")
        let first = try plan(canaryTemplate, code: ["Fn": "aaa"])
        let second = try plan(
            named, code: ["Fn": "aaa"], deployed: recorded(first),
            observed: ["Fn": Observed(highestVersion: 1, aliasVersion: 1)])
        let step = try #require(second.functions.first)
        #expect(
            step.create && step.spec.name == "orders" && step.targetVersion == 1
                && step.aliasStep == .create(version: 1))
        #expect(second.removed.map(\.physicalId) == ["app-Fn"])
        #expect(second.changes.filter { $0.logicalId == "Fn" }.map(\.action) == [.remove, .add])
    }
}
