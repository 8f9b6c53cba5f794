import Foundation
import RelctlCore
import Testing

/// RelctlCore's resource-policy rules (what both engines answer with): statements as AWS writes them,
/// read back and written again unchanged, and AddPermission's validation. No I/O.
@Suite struct ResourcePolicyTests {
    static let resource = "arn:aws:lambda:us-east-1:000000000000:function:orders"

    @Test func aStatementIsWrittenInAWSOrderAndReadBackUnchanged() throws {
        let grant = PermissionGrant(
            statementId: "s3", action: "lambda:InvokeFunction", principal: "s3.amazonaws.com",
            sourceArn: "arn:aws:s3:::bucket/key", sourceAccount: "123456789012", principalOrgID: "o-abc",
            eventSourceToken: "token \"quoted\"", functionUrlAuthType: "NONE")
        let statement = grant.statement(resource: Self.resource)
        let text = statement.jsonText
        #expect(
            text
                == #"{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"\#(Self.resource)","Condition":{"StringEquals":{"AWS:SourceAccount":"123456789012","aws:PrincipalOrgID":"o-abc","lambda:EventSourceToken":"token \"quoted\"","lambda:FunctionUrlAuthType":"NONE"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket/key"}}}"#
        )
        // A stored policy read back and written again is the same text (a decoder's keys come in no set order).
        let everyone = PermissionGrant(statementId: "all", action: "lambda:*", principal: "*")
        let stored = ResourcePolicy.json([statement, everyone.statement(resource: Self.resource)])
        for _ in 0..<20 {
            #expect(ResourcePolicy.json(ResourcePolicy.statements(stored)) == stored)
        }
        #expect(ResourcePolicy.statements(stored) == [statement, everyone.statement(resource: Self.resource)])
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(ResourcePolicy.document(stored).utf8)) as? [String: Any])
        #expect((document["Statement"] as? [[String: Any]])?.last?["Principal"] as? String == "*")
    }

    @Test(arguments: [
        ("123456789012", PolicyStatement.PrincipalValue.aws("arn:aws:iam::123456789012:root")),
        ("*", .anyone),
        ("sns.amazonaws.com", .service("sns.amazonaws.com")),
        ("arn:aws:iam::123456789012:role/deployer", .aws("arn:aws:iam::123456789012:role/deployer")),
    ])
    func principalsAreWrittenAsAWSDoes(_ text: String, _ expected: PolicyStatement.PrincipalValue) {
        #expect(ResourcePolicy.principal(text) == expected)
    }

    static let validGrant = PermissionGrant(statementId: "ok-1_a", action: "lambda:InvokeFunction", principal: "*")

    @Test func aValidGrantPasses() throws {
        try Self.validGrant.validate()
    }

    @Test(arguments: [
        ("statementId", String(repeating: "a", count: 101), "Member must have length less than or equal to 100"),
        ("statementId", "a b", "([a-zA-Z0-9-_]+)"),
        ("action", "invoke", "(lambda:[*]|lambda:[a-zA-Z]+|[*])"),
        ("principal", "a b", "[^\\s]+"),
        ("sourceAccount", "12345", "\\d{12}"),
        ("sourceArn", "bucket", "arn:(aws[a-zA-Z0-9-]*)"),
        ("functionUrlAuthType", "BASIC", "[NONE, AWS_IAM]"),
    ])
    func addPermissionsMembersAreCheckedAgainstBotocoresPatterns(_ field: String, _ value: String, _ constraint: String)
    {
        var grant = Self.validGrant
        switch field {
        case "statementId": grant.statementId = value
        case "action": grant.action = value
        case "principal": grant.principal = value
        case "sourceAccount": grant.sourceAccount = value
        case "sourceArn": grant.sourceArn = value
        default: grant.functionUrlAuthType = value
        }
        do throws(RelctlError) {
            try grant.validate()
            Issue.record("\(field) \(value) was accepted")
        } catch {
            #expect(error.code == .validation, "\(error)")
            #expect(error.message.contains("'\(field)'") && error.message.contains(constraint), "\(error.message)")
        }
    }
}
