import RelctlCore
import RelctlSAM
import Testing

let arn = ArnContext(region: "local", account: "000000000000")

func model(_ text: String, overrides: [String: String] = [:], versions: [String: Int] = [:]) throws -> StackModel {
    try StackModel.build(
        try TemplateLoader.load(text), overrides: overrides, stackName: "app", arn: arn, plannedVersions: versions)
}

/// The error a template fails with (the test fails if it does not).
func failure(
    _ text: String, overrides: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
) -> TemplateError? {
    do {
        _ = try model(text, overrides: overrides)
        Issue.record("the template was accepted", sourceLocation: sourceLocation)
        return nil
    } catch let error as TemplateError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A template with one function `Fn` whose properties are `lines` (the first on line 5).
func oneFunction(_ lines: [String]) -> String {
    "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        + lines.map { "      \($0)" }.joined(separator: "\n")
}

/// In the style of AWS's "safe deployments" hello-world: a canary with hooks and an Errors alarm on the alias.
let safeDeployments = """
    AWSTemplateFormatVersion: '2010-09-09'
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      Stage:
        Type: String
        Default: dev
        AllowedValues: [dev, prod]
    Conditions:
      IsProd: !Equals [!Ref Stage, prod]
    Globals:
      Function:
        Runtime: python3.12
        Timeout: 10
        Environment:
          Variables:
            STAGE: !Ref Stage
    Resources:
      HelloWorldFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: hello_world/
          Handler: app.lambda_handler
          AutoPublishAlias: live
          Environment:
            Variables:
              GREETING: hello
          DeploymentPreference:
            Type: !If [IsProd, Canary10Percent5Minutes, AllAtOnce]
            Alarms:
              - !Ref AliasErrorMetricGreaterThanZeroAlarm
            Hooks:
              PreTraffic: !Ref PreTrafficLambdaFunction
              PostTraffic: !Ref PostTrafficLambdaFunction
          Events:
            HelloWorld:
              Type: Api
              Properties: {Path: /hello, Method: get}
      PreTrafficLambdaFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: hooks/
          Handler: pre.handler
          FunctionName: CodeDeployHook_preTrafficHook
          DeploymentPreference:
            Enabled: false
          Policies:
            - Version: "2012-10-17"
          Environment:
            Variables:
              NewVersion: !Ref HelloWorldFunction.Version
      PostTrafficLambdaFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: hooks/
          Handler: post.handler
          FunctionName: !Sub "CodeDeployHook_${Stage}_postTrafficHook"
      AliasErrorMetricGreaterThanZeroAlarm:
        Type: AWS::CloudWatch::Alarm
        Properties:
          AlarmDescription: Lambda Function Error > 0
          ComparisonOperator: GreaterThanThreshold
          Dimensions:
            - Name: Resource
              Value: !Sub "${HelloWorldFunction}:live"
            - Name: FunctionName
              Value: !Ref HelloWorldFunction
            - Name: ExecutedVersion
              Value: !GetAtt HelloWorldFunction.Version.Version
          EvaluationPeriods: 2
          MetricName: Errors
          Namespace: AWS/Lambda
          Period: 60
          Statistic: Sum
          Threshold: 0
    """

@Suite struct TemplateTests {
    @Test func safeDeploymentsTemplateResolvesToFunctionsAliasPreferenceAndAlarm() throws {
        let stack = try model(safeDeployments, versions: ["HelloWorldFunction": 3])
        #expect(
            stack.functions.map(\.name) == [
                "app-HelloWorldFunction", "CodeDeployHook_preTrafficHook", "CodeDeployHook_dev_postTrafficHook",
            ])
        let hello = stack.functions[0]
        #expect(hello.alias == "live")
        #expect(hello.codeUri == "hello_world/")
        #expect(hello.settings.runtime == "python3.12" && hello.settings.timeout == 10)
        #expect(hello.settings.environment == ["STAGE": "dev", "GREETING": "hello"])
        let preference = try #require(hello.deploymentPreference)
        #expect(
            preference.type == "AllAtOnce" && preference.deploymentConfigName == "CodeDeployDefault.LambdaAllAtOnce")
        #expect(preference.preTrafficHook == "CodeDeployHook_preTrafficHook")
        #expect(preference.postTrafficHook == "CodeDeployHook_dev_postTrafficHook")
        #expect(preference.alarms == ["app-AliasErrorMetricGreaterThanZeroAlarm"])
        #expect(
            stack.functions[1].settings.environment?["NewVersion"]
                == "arn:aws:lambda:local:000000000000:function:app-HelloWorldFunction:3")
        #expect(stack.functions[1].deploymentPreference?.enabled == false)
        let alarm = try #require(stack.alarms.first).definition
        #expect(alarm.functionName == "app-HelloWorldFunction" && alarm.resource == "app-HelloWorldFunction:live")
        #expect(
            alarm.executedVersion == "3" && alarm.metric == "Errors" && alarm.threshold == 0
                && alarm.evaluationPeriods == 2)
        #expect(stack.notices.contains { $0.contains("HelloWorldFunction: Events is accepted and ignored") })
        #expect(stack.notices.contains { $0.contains("Policies") })
    }

    @Test func parameterOverrideSwitchesTheConditionAndTheNames() throws {
        let stack = try model(safeDeployments, overrides: ["Stage": "prod"])
        #expect(stack.functions[0].deploymentPreference?.type == "Canary10Percent5Minutes")
        #expect(
            stack.functions[0].deploymentPreference?.deploymentConfigName
                == "CodeDeployDefault.LambdaCanary10Percent5Minutes")
        #expect(stack.functions[2].name == "CodeDeployHook_prod_postTrafficHook")
        #expect(stack.parameters == ["Stage": "prod"])
    }

    @Test func parameterOutsideAllowedValuesIsRefusedWithItsLine() throws {
        let error = try #require(failure(safeDeployments, overrides: ["Stage": "qa"]))
        #expect(error.code == .parameterNotAllowed)
        #expect(error.line == 7)
        #expect(error.message.contains("dev, prod"))
    }

    @Test func overrideOfAnUndeclaredParameterIsRefused() throws {
        let error = try #require(failure(safeDeployments, overrides: ["Stag": "dev"]))
        #expect(error.code == .unknownReference)
        #expect(error.message.contains("Stag"))
    }

    @Test func parameterWithoutDefaultNeedsAnOverride() throws {
        let text = """
            Parameters:
              Memory: {Type: Number, MinValue: 128}
            Resources:
              Fn:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: src, Handler: h, Runtime: python3.12, MemorySize: !Ref Memory}
            """
        #expect(failure(text)?.code == .missingParameter)
        #expect(failure(text, overrides: ["Memory": "lots"])?.code == .parameterNotAllowed)
        #expect(failure(text, overrides: ["Memory": "64"])?.code == .parameterNotAllowed)
        #expect(try model(text, overrides: ["Memory": "256"]).functions[0].settings.memorySize == 256)
    }

    @Test func jsonTemplateWithLongFormsMatchesTheYamlShortForms() throws {
        let yaml = """
            Parameters:
              Names: {Type: CommaDelimitedList, Default: "a,b,c"}
            Mappings:
              Sizes:
                dev: {Memory: 256}
            Resources:
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: src
                  Handler: !Join [".", [app, !Select [1, !Ref Names]]]
                  Runtime: python3.12
                  MemorySize: !FindInMap [Sizes, dev, Memory]
                  Description: !Sub
                    - "${Who} in ${AWS::Region} ${!Literal} ${Other.Arn}"
                    - Who: !Select [0, !Split ["-", "x-y"]]
              Other:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: src, Handler: h, Runtime: python3.12}
            """
        let json = """
            {"Parameters": {"Names": {"Type": "CommaDelimitedList", "Default": "a,b,c"}},
             "Mappings": {"Sizes": {"dev": {"Memory": 256}}},
             "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "CodeUri": "src",
                "Handler": {"Fn::Join": [".", ["app", {"Fn::Select": [1, {"Ref": "Names"}]}]]},
                "Runtime": "python3.12",
                "MemorySize": {"Fn::FindInMap": ["Sizes", "dev", "Memory"]},
                "Description": {"Fn::Sub": ["${Who} in ${AWS::Region} ${!Literal} ${Other.Arn}", {"Who": {"Fn::Select": [0, {"Fn::Split": ["-", "x-y"]}]}}]}}},
               "Other": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "src", "Handler": "h", "Runtime": "python3.12"}}}}
            """
        let fromYaml = try model(yaml).functions[0]
        let fromJson = try model(json).functions[0]
        #expect(fromYaml.settings.handler == "app.b")
        #expect(fromYaml.settings.memorySize == 256)
        #expect(
            fromYaml.settings.description
                == "x in local ${Literal} arn:aws:lambda:local:000000000000:function:app-Other")
        #expect(fromYaml.settings == fromJson.settings)
    }

    @Test func conditionsDropResourcesAndNoValueDropsProperties() throws {
        let text = """
            Parameters:
              Env: {Type: String, Default: dev}
            Conditions:
              IsDev: !Equals [!Ref Env, dev]
              NotDev: !Not [!Condition IsDev]
              Both: !And [!Condition IsDev, !Or [!Condition NotDev, !Equals [a, a]]]
            Resources:
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: src
                  Handler: h
                  Runtime: python3.12
                  Timeout: !If [Both, !Ref AWS::NoValue, 30]
              ProdOnly:
                Type: AWS::Serverless::Function
                Condition: NotDev
                Properties: {CodeUri: src, Handler: h, Runtime: python3.12}
            """
        let stack = try model(text)
        #expect(stack.functions.map(\.logicalId) == ["Fn"])
        #expect(stack.functions[0].settings.timeout == Limits.defaultTimeout)
        #expect(try model(text, overrides: ["Env": "prod"]).functions.map(\.logicalId) == ["Fn", "ProdOnly"])
    }

    @Test func unknownResourceTypeNamesTheResourceAndLine() throws {
        let error = try #require(
            failure(
                """
                Resources:
                  Table:
                    Type: AWS::DynamoDB::Table
                    Properties: {}
                """))
        #expect(error.code == .unsupportedResourceType)
        #expect(error.line == 3)
        #expect(error.message.contains("Table") && error.message.contains("AWS::DynamoDB::Table"))
    }

    @Test func missingCodeUriIsRefused() throws {
        let error = try #require(failure(oneFunction(["Handler: app.handler", "Runtime: python3.12"])))
        #expect(error.code == .missingProperty)
        #expect(error.message.contains("resource Fn") && error.message.contains("CodeUri"))
    }

    @Test func unsupportedPropertyNamesResourcePropertyAndLine() throws {
        let error = try #require(
            failure(oneFunction(["CodeUri: src", "Handler: app.handler", "Runtime: python3.12", "Frobnicate: true"])))
        #expect(error.code == .unsupportedProperty)
        #expect(error.line == 8)
        #expect(error.message.contains("resource Fn, property Frobnicate"))
    }

    @Test(arguments: [
        ("Handler: !ImportValue shared-handler", TemplateError.Code.invalidIntrinsic),
        ("Handler: !Join [\".\"]", .invalidIntrinsic),
        ("Handler: !Select [5, [a, b]]", .invalidIntrinsic),
        ("Handler: !Ref Nowhere", .unknownReference),
        ("Handler: !GetAtt Other.Color", .invalidIntrinsic),
        ("Handler: !Sub \"${Missing}\"", .unknownReference),
        ("Handler: !FindInMap [NoMap, a, b]", .unknownReference),
        ("Handler: !Frob x", .invalidIntrinsic),
    ])
    func badIntrinsicsAreRefusedWithTheirLine(property: String, code: TemplateError.Code) throws {
        let error = try #require(
            failure(
                oneFunction(["CodeUri: src", "Runtime: python3.12", property]) + """

                      Other:
                        Type: AWS::Serverless::Function
                        Properties: {CodeUri: src, Handler: h, Runtime: python3.12}
                    """))
        #expect(error.code == code)
        #expect(error.line == 7)
    }

    @Test func cyclicReferencesAreRefused() throws {
        let resources = try #require(
            failure(
                """
                Resources:
                  A:
                    Type: AWS::Serverless::Function
                    Properties: {CodeUri: src, Handler: h, Runtime: python3.12, Description: !Ref B}
                  B:
                    Type: AWS::Serverless::Function
                    Properties: {CodeUri: src, Handler: h, Runtime: python3.12, Description: !Sub "${A.Arn}"}
                """))
        #expect(resources.code == .cyclicReference)
        #expect(resources.message.contains("A → B → A"))
        let conditions = try #require(
            failure(
                """
                Conditions:
                  X: !Not [!Condition Y]
                  Y: !Not [!Condition X]
                Resources:
                  A:
                    Type: AWS::Serverless::Function
                    Properties: {CodeUri: src, Handler: h, Runtime: python3.12}
                """))
        #expect(conditions.code == .cyclicReference)
    }

    @Test func deploymentPreferenceNeedsAutoPublishAlias() throws {
        let error = try #require(
            failure(
                """
                Resources:
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      CodeUri: src
                      Handler: h
                      Runtime: python3.12
                      DeploymentPreference:
                        Type: AllAtOnce
                """))
        #expect(error.code == .missingProperty)
        #expect(error.message.contains("AutoPublishAlias"))
        #expect(error.line == 9)
    }

    @Test func customDeploymentConfigBecomesCodeDeployJSONAndItsNameTheType() throws {
        let stack = try model(
            """
            Resources:
              Quick:
                Type: AWS::CodeDeploy::DeploymentConfig
                Properties:
                  ComputePlatform: Lambda
                  DeploymentConfigName: Canary50Percent1Minute
                  TrafficRoutingConfig:
                    Type: TimeBasedCanary
                    TimeBasedCanary: {CanaryPercentage: 50, CanaryInterval: 1}
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: src
                  Handler: h
                  Runtime: python3.12
                  AutoPublishAlias: live
                  DeploymentPreference: {Type: !Ref Quick}
            """)
        #expect(stack.deploymentConfigs.first?.name == "Canary50Percent1Minute")
        #expect(
            stack.deploymentConfigs.first?.trafficRoutingConfig
                == #"{"timeBasedCanary":{"canaryInterval":1,"canaryPercentage":50},"type":"TimeBasedCanary"}"#)
        #expect(stack.functions[0].deploymentPreference?.deploymentConfigName == "Canary50Percent1Minute")
    }

    @Test func handWrittenLambdaResourcesMapToAFunctionWithAlias() throws {
        let stack = try model(
            """
            Resources:
              Layer:
                Type: AWS::Lambda::LayerVersion
                Properties: {Content: layer, CompatibleRuntimes: [python3.12]}
              Fn:
                Type: AWS::Lambda::Function
                Properties: {Code: src, Handler: h, Runtime: python3.12, Layers: [!Ref Layer], Role: !Sub "arn:aws:iam::${AWS::AccountId}:role/x"}
              FnVersion:
                Type: AWS::Lambda::Version
                Properties: {FunctionName: !Ref Fn}
              FnAlias:
                Type: AWS::Lambda::Alias
                Properties: {FunctionName: !Ref Fn, FunctionVersion: !GetAtt FnVersion.Version, Name: live}
            """, versions: ["Layer": 4])
        let function = try #require(stack.functions.first)
        #expect(
            function.alias == "live" && function.versionLogicalId == "FnVersion" && function.aliasLogicalId == "FnAlias"
        )
        #expect(function.settings.layers == ["arn:aws:lambda:local:000000000000:layer:app-Layer:4"])
        #expect(stack.layers.first?.retain == false)
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() throws {
        let error = #expect(throws: TemplateError.self) { try TemplateLoader.load("Resources:\n  Fn: [unclosed\n") }
        #expect(error?.code == .syntax)
        #expect(error?.line != nil)
    }
}
