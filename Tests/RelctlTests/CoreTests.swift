import Foundation
import RelctlCore
import Testing

@Suite("Core rules: names, qualifiers, routing, settings, sizes, timestamps")
struct CoreTests {
    // MARK: SchemaSteps

    /// Both engines (and `migrate-store` in both directions) accept a registry only at exactly this relctl's steps.
    @Test func aSchemaIsCurrentOnlyWithEveryKnownStepAndNoOther() {
        let known = ["0001_a", "0002_b"]
        #expect(SchemaSteps(applied: known, known: known) == .current)
        #expect(SchemaSteps(applied: ["0001_a"], known: known) == .behind(applied: 1, known: 2))
        #expect(SchemaSteps(applied: [], known: known) == .behind(applied: 0, known: 2))
        #expect(SchemaSteps(applied: known + ["0003_new"], known: known) == .unknown("0003_new"))
        #expect(SchemaSteps(applied: ["0001_a", "0009_other"], known: known) == .unknown("0009_other"))
    }

    // MARK: FunctionReference

    struct ReferenceCase: Sendable, CustomTestStringConvertible {
        var text: String
        var name: String
        var qualifier: Qualifier?
        var account: String?
        var testDescription: String { text }
    }

    @Test(arguments: [
        ReferenceCase(text: "my-function", name: "my-function"),
        ReferenceCase(text: "my_function_2", name: "my_function_2"),
        ReferenceCase(text: "my-function:1", name: "my-function", qualifier: .version(1)),
        ReferenceCase(text: "my-function:$LATEST", name: "my-function", qualifier: .latest),
        ReferenceCase(text: "my-function:live", name: "my-function", qualifier: .alias("live")),
        ReferenceCase(text: "123456789012:function:my-function", name: "my-function", account: "123456789012"),
        ReferenceCase(
            text: "123456789012:function:my-function:7", name: "my-function", qualifier: .version(7),
            account: "123456789012"),
        ReferenceCase(
            text: "arn:aws:lambda:us-west-2:123456789012:function:my-function", name: "my-function",
            account: "123456789012"),
        ReferenceCase(
            text: "arn:aws:lambda:us-west-2:123456789012:function:my-function:$LATEST",
            name: "my-function", qualifier: .latest, account: "123456789012"),
        ReferenceCase(
            text: "arn:aws:lambda:us-west-2:123456789012:function:my-function:live",
            name: "my-function", qualifier: .alias("live"), account: "123456789012"),
        ReferenceCase(
            text: "arn:aws-cn:lambda:cn-north-1:123456789012:function:my-function:12",
            name: "my-function", qualifier: .version(12), account: "123456789012"),
    ])
    func functionReferenceParsesNamesPartialAndFullArns(_ example: ReferenceCase) throws {
        let reference = try FunctionReference(parsing: example.text)
        #expect(reference.name == example.name)
        #expect(reference.qualifier == example.qualifier)
        #expect(reference.account == example.account)
    }

    /// `arn` matches `[a-zA-Z0-9-_]+`, so it is a valid function name (createFunction accepts it);
    /// only a text with the full ARN shape is an ARN.
    @Test func functionNamedArnIsAPlainName() throws {
        try FunctionReference.validateName("arn")
        #expect(try FunctionReference(parsing: "arn").name == "arn")
        let qualified = try FunctionReference(parsing: "arn:1")
        #expect(qualified.name == "arn")
        #expect(qualified.qualifier == .version(1))
    }

    /// AWS refuses a 65-character name only where a function is created; anywhere else such a
    /// name simply names no function (GetFunction answers 404), so references parse.
    @Test func functionNameOf64CharactersIsAcceptedAnd65IsRefusedAtCreationWithTheAwsMessage() throws {
        let name64 = String(repeating: "a", count: 64)
        #expect(try FunctionReference(parsing: name64).name == name64)
        #expect(
            try FunctionReference(parsing: "arn:aws:lambda:us-east-1:123456789012:function:\(name64):live").name
                == name64)
        let name65 = String(repeating: "a", count: 65)
        expectRelctlError(
            .invalidParameterValue,
            message:
                "Value '\(name65)' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"
        ) {
            try FunctionReference.validateName(name65)
        }
        #expect(try FunctionReference(parsing: name65).name == name65)
    }

    @Test func functionReferenceLongerThan140CharactersIsAValidationError() {
        let text = "arn:aws:lambda:us-east-1:123456789012:function:" + String(repeating: "b", count: 100)
        expectRelctlError(.validation, messagePrefix: "1 validation error detected: Value '\(text)' at 'functionName'")
        {
            try FunctionReference(parsing: text)
        }
    }

    @Test(arguments: [
        "", "my.function", "my function", "función", "my/function", "fn:", "fn:a:b",
        "arn:aws:lambda:us-east-1:123456789012:layer:x", "arn:aws:s3:us-east-1:123456789012:function:x",
        "12345:function:x", "arn:aws:lambda:us-east-1:12345678901x:function:x", "fn:my.alias",
    ])
    func functionReferenceWithBadCharactersOrShapeIsAValidationError(_ text: String) {
        expectRelctlError(.validation, messagePrefix: "1 validation error detected: Value '") {
            try FunctionReference(parsing: text)
        }
    }

    /// AWS's pattern makes `function:` optional: `arn:…:123456789012:function` names "function" (issue 11 §2).
    @Test func arnEndingInFunctionNamesTheFunctionCalledFunction() throws {
        let reference = try FunctionReference(parsing: "arn:aws:lambda:us-east-1:123456789012:function")
        #expect(reference.name == "function")
        #expect(reference.account == "123456789012")
        #expect(reference.region == "us-east-1")
        #expect(reference.qualifier == nil)
    }

    @Test func malformedFunctionNameQuotesThePatternOfItsShape() {
        let text = "fn:a:b"
        let prefix =
            "1 validation error detected: Value '\(text)' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        expectRelctlError(.validation, message: prefix + FunctionReference.createPattern) {
            try FunctionReference(parsing: text)
        }
        expectRelctlError(.validation, message: prefix + FunctionReference.namespacedPattern) {
            try FunctionReference(parsing: text, shape: .namespaced)
        }
    }

    /// AWS reports every failed constraint, joined: "2 validation errors detected: …; …" (issue 11 §2).
    @Test func functionNameFailingLengthAndPatternReportsBothJoined() {
        let text = String(repeating: "a", count: 141) + ".x"
        expectRelctlError(
            .validation,
            message:
                "2 validation errors detected: Value '\(text)' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140; Value '\(text)' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: \(FunctionReference.createPattern)"
        ) {
            try FunctionReference(parsing: text)
        }
        // GetFunction's namespaced shape allows 256 characters: only the pattern fails.
        expectRelctlError(
            .validation,
            messagePrefix:
                "1 validation error detected: Value '\(text)' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        ) {
            try FunctionReference(parsing: text, shape: .namespaced)
        }
    }

    // MARK: Region and account isolation (issue 11 §1)

    static let usEast1 = ArnContext(region: "us-east-1", account: "123456789012")

    @Test func fullArnKeepsItsRegionAndPartialArnOrNameHasNone() throws {
        #expect(
            try FunctionReference(parsing: "arn:aws:lambda:eu-central-1:123456789012:function:f:live").region
                == "eu-central-1")
        #expect(try FunctionReference(parsing: "123456789012:function:f").region == nil)
        #expect(try FunctionReference(parsing: "f").region == nil)
    }

    @Test(arguments: ["f", "f:live", "123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f:1"])
    func functionOfTheRequestsRegionAndAccountIsReachable(_ text: String) throws {
        try Self.usEast1.requireReachable(
            try FunctionReference(parsing: text), named: text, shape: .namespaced, action: "GetFunction",
            caller: "anonymous")
    }

    /// "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')", 404, as AWS answers.
    @Test func functionArnOfAnotherRegionIsNotReachable() throws {
        let text = "arn:aws:lambda:eu-central-1:123456789012:function:f"
        expectRelctlError(
            .resourceNotFound, message: "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')"
        ) {
            try Self.usEast1.requireReachable(
                try FunctionReference(parsing: text), named: text, shape: .namespaced, action: "DeleteFunction",
                caller: "anonymous")
        }
    }

    @Test(arguments: ["123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f"])
    func functionOfAnotherAccountIsAccessDeniedNamingTheAction(_ text: String) throws {
        let other = ArnContext(region: "us-east-1", account: "111111111111")
        expectRelctlError(
            .accessDenied,
            message:
                "User: key:AK (ci) is not authorized to perform: lambda:CreateFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:f because no resource-based policy allows the lambda:CreateFunction action"
        ) {
            try other.requireReachable(
                try FunctionReference(parsing: text), named: text, shape: .functionName, action: "CreateFunction",
                caller: "key:AK (ci)")
        }
    }

    @Test(arguments: ["invalid-region", "", "US-EAST-1", "us-east", "local"])
    func functionArnWithAMalformedRegionFailsTheFunctionNamePattern(_ region: String) throws {
        let text = "arn:aws:lambda:\(region):123456789012:function:f"
        expectRelctlError(
            .validation,
            message:
                "1 validation error detected: Value '\(text)' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: \(FunctionReference.createPattern)"
        ) {
            try Self.usEast1.requireReachable(
                try FunctionReference(parsing: text), named: text, shape: .functionName, action: "CreateFunction",
                caller: "anonymous")
        }
        expectRelctlError(
            .validation,
            message:
                "1 validation error detected: Value '\(text)' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: \(FunctionReference.namespacedPattern)"
        ) {
            try Self.usEast1.requireReachable(
                try FunctionReference(parsing: text), named: text, shape: .namespaced, action: "GetFunction",
                caller: "anonymous")
        }
    }

    @Test(arguments: [
        "us-east-1", "eu-central-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "eusc-de-east-1", "cn-north-1",
    ])
    func regionNamesFollowAwsPattern(_ region: String) {
        #expect(FunctionReference.isRegionName(region))
    }

    /// A registry configured with a non-AWS region (relctl's default `local`) still reaches its own ARNs.
    @Test func ownNonAwsRegionIsReachable() throws {
        let text = "arn:aws:lambda:local:000000000000:function:f"
        try ArnContext().requireReachable(
            try FunctionReference(parsing: text), named: text, shape: .namespaced, action: "GetFunction", caller: "cli")
    }

    // MARK: Qualifier

    @Test func qualifierParsesLatestVersionsAndAliases() throws {
        #expect(try Qualifier(parsing: "$LATEST") == .latest)
        #expect(try Qualifier(parsing: "42") == .version(42))
        #expect(try Qualifier(parsing: "live") == .alias("live"))
        #expect(try Qualifier(parsing: "blue-green_2") == .alias("blue-green_2"))
        #expect(Qualifier.latest.description == "$LATEST")
        #expect(Qualifier.version(3).description == "3")
        #expect(Qualifier.alias("live").description == "live")
        #expect(
            try Qualifier(parsing: String(repeating: "q", count: 128)) == .alias(String(repeating: "q", count: 128)))
    }

    @Test func qualifierLongerThan128IsAValidationError() {
        expectRelctlError(.validation, messagePrefix: "1 validation error detected") {
            try Qualifier(parsing: String(repeating: "q", count: 129))
        }
        expectRelctlError(.validation) { try Qualifier(parsing: "") }
    }

    @Test func qualifierVersionZeroIsRefused() {
        expectRelctlError(.invalidParameterValue) { try Qualifier(parsing: "0") }
    }

    // MARK: AliasName

    @Test(arguments: ["live", "v2", "2024a", "a", "blue-green_1", String(repeating: "x", count: 128)])
    func aliasNameAcceptsLambdaNames(_ name: String) throws {
        try AliasName.validate(name)
    }

    @Test func allDigitAliasNameIsRefusedWithTheAwsMessage() {
        expectRelctlError(
            .validation,
            message:
                "1 validation error detected: Value '2024' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        ) {
            try AliasName.validate("2024")
        }
    }

    @Test(arguments: ["", "my.alias", "$LATEST", "live!", String(repeating: "x", count: 129)])
    func aliasNameWithBadCharactersOrLengthIsRefused(_ name: String) {
        expectRelctlError(.validation) { try AliasName.validate(name) }
    }

    // MARK: AliasTarget routing (lambda-api.md §3.7)

    struct RoutingCase: Sendable, CustomTestStringConvertible {
        var label: String
        var functionVersion: Int
        var weights: [String: Double]
        var code: RelctlError.Code
        var message: String
        var testDescription: String { label }
    }

    static let routingLimit =
        "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"

    @Test(arguments: [
        RoutingCase(
            label: "more than one entry", functionVersion: 3, weights: ["1": 0.8, "2": 0.2],
            code: .invalidParameterValue,
            message: "Number of items in AdditionalVersionWeights cannot be greater than 1"),
        RoutingCase(label: "weight 2", functionVersion: 1, weights: ["2": 2], code: .validation, message: routingLimit),
        RoutingCase(
            label: "weight -1", functionVersion: 1, weights: ["2": -1], code: .validation,
            message: routingLimit.replacingOccurrences(of: "{2=2.0}", with: "{2=-1.0}")),
        RoutingCase(
            label: "weight NaN", functionVersion: 1, weights: ["2": .nan], code: .validation,
            message: routingLimit.replacingOccurrences(of: "{2=2.0}", with: "{2=nan}")),
        RoutingCase(
            label: "same as primary", functionVersion: 1, weights: ["1": 0.5], code: .invalidParameterValue,
            message: "Invalid function version 1. Function version 1 is already included in routing configuration."),
        RoutingCase(
            label: "$LATEST primary with routing", functionVersion: 0, weights: ["2": 0.5],
            code: .invalidParameterValue,
            message: "$LATEST is not supported for an alias pointing to more than 1 version"),
        RoutingCase(
            label: "key $LATEST", functionVersion: 1, weights: ["$LATEST": 0.5], code: .validation,
            message:
                "1 validation error detected: Value '{$LATEST=0.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]"
        ),
    ])
    func aliasRoutingIsRefusedAsAwsDoes(_ example: RoutingCase) {
        expectRelctlError(example.code, message: example.message) {
            try AliasTarget.from(functionVersion: example.functionVersion, additionalVersionWeights: example.weights)
        }
    }

    @Test func aliasRoutingAcceptsOneOtherPublishedVersionWithAWeightFrom0To1() throws {
        #expect(
            try AliasTarget.from(functionVersion: 1, additionalVersionWeights: [:]) == AliasTarget(functionVersion: 1))
        #expect(
            try AliasTarget.from(functionVersion: 0, additionalVersionWeights: [:]) == AliasTarget(functionVersion: 0))
        let split = try AliasTarget.from(functionVersion: 1, additionalVersionWeights: ["2": 0.5])
        #expect(split == AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.5)))
        #expect(split.referencedVersions == [1, 2])
        #expect(split.routingConfig == AliasRoutingConfiguration(AdditionalVersionWeights: ["2": 0.5]))
        #expect(AliasTarget(functionVersion: 1).routingConfig == nil)
        #expect(try AliasTarget.from(functionVersion: 1, additionalVersionWeights: ["2": 0]).additional?.weight == 0)
        #expect(try AliasTarget.from(functionVersion: 1, additionalVersionWeights: ["2": 1]).additional?.weight == 1)
    }

    @Test func aliasTargetSummaryShowsTheSplitInPercent() {
        #expect(AliasTarget(functionVersion: 0).summary == "$LATEST")
        #expect(AliasTarget(functionVersion: 1).summary == "1")
        #expect(AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1)).summary == "1 + 2@10%")
        #expect(AliasTarget(functionVersion: 3, additional: .init(version: 4, weight: 0.125)).summary == "3 + 4@12.5%")
    }

    @Test func functionVersionParsesLatestAndNumbersOnly() throws {
        #expect(try AliasTarget.parseVersion("$LATEST") == 0)
        #expect(try AliasTarget.parseVersion("7") == 7)
        for bad in ["0", "", "latest", "$latest", "-1", "1.0", "live"] {
            expectRelctlError(.validation) { try AliasTarget.parseVersion(bad) }
        }
    }

    // MARK: FunctionSettings

    func validated(_ change: (inout FunctionSettings) -> Void) throws(RelctlError) {
        var settings = FunctionSettings(runtime: "provided.al2023", handler: "bootstrap", role: TestData.role)
        change(&settings)
        try settings.validate()
    }

    @Test func defaultSettingsWithARoleAreValid() throws {
        try validated { _ in }
        try validated {
            $0.runtime = nil; $0.handler = nil
        }
        try validated { $0.memorySize = 128 }
        try validated { $0.memorySize = 10240 }
        try validated { $0.timeout = 1 }
        try validated { $0.timeout = 900 }
        try validated { $0.architecture = "arm64" }
        try validated { $0.environment = ["STAGE": "prod", "Db_Url2": "x"] }
        let defaults = FunctionSettings(role: TestData.role)
        #expect(defaults.memorySize == 128)
        #expect(defaults.timeout == 3)
        #expect(defaults.architecture == "x86_64")
    }

    @Test func memorySizeOutside128To10240IsAValidationError() {
        expectRelctlError(
            .validation,
            message:
                "1 validation error detected: Value '127' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"
        ) {
            try validated { $0.memorySize = 127 }
        }
        expectRelctlError(
            .validation,
            message:
                "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"
        ) {
            try validated { $0.memorySize = 10241 }
        }
    }

    @Test func timeoutOutside1To900IsAValidationError() {
        expectRelctlError(
            .validation,
            message:
                "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ) {
            try validated { $0.timeout = 0 }
        }
        expectRelctlError(
            .validation,
            message:
                "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"
        ) {
            try validated { $0.timeout = 901 }
        }
    }

    @Test func environmentOver4KBIsRefusedWithTheAwsMessage() throws {
        // {"BIG":"xxx…"} is 10 bytes plus the value.
        try validated { $0.environment = ["BIG": String(repeating: "x", count: 4086)] }
        let tooBig = ["BIG": String(repeating: "x", count: 4087)]
        #expect(FunctionSettings.environmentText(tooBig).utf8.count == 4097)
        expectRelctlError(
            .invalidParameterValue,
            message:
                "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"BIG\":\"\(String(repeating: "x", count: 4087))\"}"
        ) {
            try validated { $0.environment = tooBig }
        }
    }

    @Test func environmentSizeIsMeasuredInUtf8BytesOfSortedCompactJson() {
        #expect(FunctionSettings.environmentText(["B": "2", "A": "1/x"]) == #"{"A":"1/x","B":"2"}"#)
        // 2-byte characters: 2100 × 2 bytes + 10 > 4096 although there are fewer than 4096 characters.
        expectRelctlError(
            .invalidParameterValue,
            messagePrefix:
                "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit."
        ) {
            try FunctionSettings.validateEnvironment(["BIG": String(repeating: "é", count: 2100)])
        }
    }

    @Test func reservedEnvironmentKeyIsRefused() {
        expectRelctlError(
            .invalidParameterValue,
            message:
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION"
        ) {
            try validated { $0.environment = ["AWS_REGION": "eu-west-1", "STAGE": "prod"] }
        }
    }

    @Test(arguments: ["1ABC", "A", "MY-VAR", "MY VAR", "ÉTÉ"])
    func environmentKeyNotMatchingTheAwsPatternIsAValidationError(_ key: String) {
        expectRelctlError(
            .validation, messagePrefix: "1 validation error detected: Value '\(key)' at 'environment.variables'"
        ) {
            try validated { $0.environment = [key: "v"] }
        }
    }

    /// Issue 11 §2: AWS answers an unknown runtime with InvalidParameterValueException, not ValidationException
    /// (this test pinned ValidationException before).
    @Test func unknownRuntimeIsAnInvalidParameterValue() {
        expectRelctlError(
            .invalidParameterValue,
            messagePrefix:
                "Value python2 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: ["
        ) {
            try validated { $0.runtime = "python2" }
        }
        expectRelctlError(.invalidParameterValue, messagePrefix: "Value Python3.12 at 'runtime'") {
            try validated { $0.runtime = "Python3.12" }
        }
    }

    @Test func deprecatedRuntimeIsRefusedWithTheAwsMessage() {
        expectRelctlError(
            .invalidParameterValue,
            message:
                "The runtime parameter of go1.x is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
        ) {
            try validated { $0.runtime = "go1.x" }
        }
    }

    @Test(arguments: [
        "not-a-role", "arn:aws:iam::123456789012:role", "arn:aws:iam::123456789012:role/", "arn:aws:iam::12345:role/x",
        "arn:aws:iam:us-east-1:123456789012:role/x", "arn:aws:s3::123456789012:role/x",
        "arn:aws:iam::123456789012:user/x",
        "arn:aws:iam::123456789012:role/bad name",
    ])
    func malformedRoleIsAValidationError(_ role: String) {
        expectRelctlError(.validation, messagePrefix: "1 validation error detected: Value '\(role)' at 'role'") {
            try validated { $0.role = role }
        }
    }

    @Test(arguments: [
        "arn:aws:iam::123456789012:role/lambda-role", "arn:aws-cn:iam::123456789012:role/service-role/x.y@z+1=2,3",
        "arn:aws:iam::123456789012:role/a_b",
    ])
    func wellFormedRoleIsAccepted(_ role: String) throws {
        try FunctionSettings.validateRole(role)
    }

    @Test func otherSettingLimits() {
        expectRelctlError(.validation) { try validated { $0.description = String(repeating: "d", count: 257) } }
        expectRelctlError(.validation) { try validated { $0.handler = "has space" } }
        expectRelctlError(.validation) { try validated { $0.architecture = "mips" } }
        expectRelctlError(.invalidParameterValue, message: "Cannot reference more than 5 layers.") {
            try validated { $0.layers = (1...6).map { "arn:aws:lambda:local:000000000000:layer:l\($0):1" } }
        }
    }

    @Test func configurationUpdateChangesOnlyTheFieldsItSets() {
        let base = FunctionSettings(
            runtime: "provided.al2023", handler: "bootstrap", role: TestData.role, description: "d",
            memorySize: 256, timeout: 10, environment: ["A": "1"])
        let updated = ConfigurationUpdate(memorySize: 512).applied(to: base)
        var expected = base
        expected.memorySize = 512
        #expect(updated == expected)
        #expect(
            ConfigurationUpdate(environment: [:]).applied(to: base).environment == nil,
            "an empty map removes the variables")
        #expect(ConfigurationUpdate().applied(to: base) == base)
    }

    // MARK: ByteSize

    @Test func byteSizeParsesBinaryUnitsAsAwsCounts() throws {
        #expect(try ByteSize.parse("75GB") == 80_530_636_800)
        #expect(try ByteSize.parse("75GB") == Limits.defaultTotalCodeSize)
        #expect(try ByteSize.parse("75 GB") == 80_530_636_800)
        #expect(try ByteSize.parse("75gib") == 80_530_636_800)
        #expect(try ByteSize.parse("512") == 512)
        #expect(try ByteSize.parse("512B") == 512)
        #expect(try ByteSize.parse("1KB") == 1024)
        #expect(try ByteSize.parse("1.5MB") == 1_572_864)
        #expect(try ByteSize.parse("50M") == Limits.codeSizeZipped)
        #expect(try ByteSize.parse("1TB") == 1 << 40)
    }

    @Test(arguments: ["", "GB", "abc", "-1", "1XB", "1e30TB", "nan"])
    func byteSizeRefusesWhatIsNotASize(_ text: String) {
        expectRelctlError(.invalidParameterValue, messagePrefix: "Invalid size '\(text)'") { try ByteSize.parse(text) }
    }

    @Test func byteSizeFormatsWithBinaryUnitsAndOneDecimal() {
        #expect(ByteSize.format(80_530_636_800) == "75 GB")
        #expect(ByteSize.format(1536) == "1.5 KB")
        #expect(ByteSize.format(12) == "12 B")
        #expect(ByteSize.format(52_428_800) == "50 MB")
    }

    @Test func cleanupTargetParsesPercentOrSize() throws {
        #expect(try CleanupRequest.parseTarget("80%") == .fractionOfLimit(0.8))
        #expect(try CleanupRequest.parseTarget("60GB") == .bytes(60 << 30))
        expectRelctlError(.invalidParameterValue) { try CleanupRequest.parseTarget("120%") }
        expectRelctlError(.invalidParameterValue) { try CleanupRequest.parseTarget("x%") }
    }

    // MARK: LowercaseUUID

    @Test func aLowercaseUUIDIsFoundationsTextLowercased() throws {
        for _ in 0..<1000 {
            let uuid = UUID()
            #expect(LowercaseUUID.text(uuid) == uuid.uuidString.lowercased())
        }
        let fixed = try #require(UUID(uuidString: "00FF10AB-9C3D-4E5F-8A7B-FEDCBA987654"))
        #expect(LowercaseUUID.text(fixed) == "00ff10ab-9c3d-4e5f-8a7b-fedcba987654")
        let made = (0..<10_000).map { _ in LowercaseUUID.make() }
        #expect(Set(made).count == made.count)
        for text in made.prefix(100) {
            // Version 4, RFC 4122 variant, as Foundation parses it back.
            #expect(text.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
            #expect(UUID(uuidString: text).map(LowercaseUUID.text) == text)
        }
    }

    // MARK: LambdaTimestamp

    @Test func lambdaTimestampHasTheAwsFormat() throws {
        let date = Date(timeIntervalSince1970: 1_569_529_720.438)
        #expect(LambdaTimestamp.string(from: date) == "2019-09-26T20:28:40.438+0000")
        let now = LambdaTimestamp.string(from: Date())
        #expect(now.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000/) != nil, "\(now)")
        #expect(LambdaTimestamp.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000+0000")
    }

    @Test func lambdaTimestampRoundTripsEveryMillisecond() throws {
        for base in ["2019-09-26T20:28:40", "2024-02-29T23:59:59", "2038-01-19T03:14:07"] {
            for millis in 0..<1000 {
                let text = "\(base).\(String(repeating: "0", count: 3 - String(millis).count))\(millis)+0000"
                let date = try #require(LambdaTimestamp.date(from: text))
                #expect(LambdaTimestamp.string(from: date) == text)
            }
        }
    }

    @Test func lambdaTimestampParsesToTheRightInstant() throws {
        let date = try #require(LambdaTimestamp.date(from: "2019-09-26T20:28:40.438+0000"))
        #expect(abs(date.timeIntervalSince1970 - 1_569_529_720.438) < 0.0005)
        #expect(LambdaTimestamp.date(from: "2019-09-26 20:28:40") == nil)
        #expect(LambdaTimestamp.date(from: "") == nil)
        #expect(LambdaTimestamp.date(from: "yyyy-MM-ddTHH:mm:ss.SSS+0000") == nil)
    }

    @Test func lambdaTimestampTextSortsChronologically() {
        let dates = [0.0, 0.001, 0.999, 1, 59.5, 3600, 86_400 * 365.25 * 30].map {
            Date(timeIntervalSince1970: 1_600_000_000 + $0)
        }
        let texts = dates.map(LambdaTimestamp.string(from:))
        #expect(texts == texts.sorted())
    }

    // MARK: Errors and ARNs

    @Test func errorCodesMapToAwsTypesAndStatuses() {
        let table: [(RelctlError.Code, String, Int)] = [
            (.resourceNotFound, "ResourceNotFoundException", 404),
            (.resourceConflict, "ResourceConflictException", 409),
            (.invalidParameterValue, "InvalidParameterValueException", 400), (.validation, "ValidationException", 400),
            (.preconditionFailed, "PreconditionFailedException", 412),
            (.codeStorageExceeded, "CodeStorageExceededException", 400),
            (.requestEntityTooLarge, "RequestEntityTooLargeException", 413),
            (.tooManyRequests, "TooManyRequestsException", 429),
            (.service, "ServiceException", 500),
        ]
        for (code, type, status) in table {
            #expect(code.awsErrorType == type)
            #expect(code.httpStatus == status)
        }
        #expect(RelctlError.codeStorageExceeded.message == "Code storage limit exceeded.")
        #expect(RelctlError.revisionMismatch.message == TestData.revisionMismatchMessage)
        #expect(
            RelctlError.functionNotFound("arn:x").description == "ResourceNotFoundException: Function not found: arn:x")
    }

    @Test func arnContextBuildsFunctionAndLayerArns() throws {
        let context = ArnContext()
        #expect(context.functionArn("fn") == "arn:aws:lambda:local:000000000000:function:fn")
        #expect(
            context.functionArn("fn", qualifier: "$LATEST") == "arn:aws:lambda:local:000000000000:function:fn:$LATEST")
        #expect(context.layerVersionArn("deps", version: 3) == "arn:aws:lambda:local:000000000000:layer:deps:3")
        let reference = try LayerVersionReference(parsing: "arn:aws:lambda:us-east-1:123456789012:layer:deps:3")
        #expect(reference.name == "deps")
        #expect(reference.version == 3)
        #expect(reference.region == "us-east-1")
        for bad in [
            "arn:aws:lambda:us-east-1:123456789012:layer:deps", "arn:aws:lambda:us-east-1:123456789012:layer:deps:0",
            "deps:1", "arn:aws:lambda:us-east-1:1234:layer:deps:1",
        ] {
            expectRelctlError(.validation) { try LayerVersionReference(parsing: bad) }
        }
        #expect(try LayerName.parse("arn:aws:lambda:local:000000000000:layer:deps", context: context) == "deps")
        #expect(try LayerName.parse("deps", context: context) == "deps")
        expectRelctlError(.validation) { try LayerName.parse("bad name", context: context) }
    }
}

@Suite("Routing's random source")
struct RoutingRandomTests {
    @Test func xoshiro256StarStarGivesTheReferenceOutputs() {
        // From state (1, 2, 3, 4): rotl(2·5, 7)·9 = 11520, then s1 becomes 0, so the next output is 0.
        var random = RoutingRandom(state: (1, 2, 3, 4))
        #expect(random.next() == 11520)
        #expect(random.next() == 0)
    }

    @Test func aSeedReplaysTheSameDecisionsAndTheWeightsHold() {
        var first = RoutingRandom(seed: 42)
        var second = RoutingRandom(seed: 42)
        let draws = (0..<1000).map { _ in first.unit() }
        #expect(draws == (0..<1000).map { _ in second.unit() })
        #expect(draws.allSatisfy { $0 >= 0 && $0 < 1 })
        var random = RoutingRandom(seed: 7)
        let target = AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: 0.1))
        let count = 200_000
        let toTwo = (0..<count).filter { _ in
            TrafficRouter.version(for: target, routingKey: nil, random: random.unit()) == 2
        }.count
        // 10% of 200,000 has a standard deviation of about 134: ±1,000 is more than 7 of them.
        #expect(abs(toTwo - count / 10) < 1000, "\(toTwo) of \(count) went to version 2")
    }
}
