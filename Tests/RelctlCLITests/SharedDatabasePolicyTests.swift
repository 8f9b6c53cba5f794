import Foundation
import Testing

/// Issue 10 §1, §5: resource policies and provisioned concurrency answer from `--database postgres://…`,
/// so every server sharing the database sees the same policies (and RevisionIds) and the same settings.
@Suite("relctl serve --database postgres://: policies, provisioned concurrency", .serialized)
struct SharedDatabasePolicyTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Support/policies_two_servers.py")

    /// boto3 against two servers on one database and one bucket: a permission added on one is read on the
    /// other with the same RevisionId (a RevisionId the other made stale is refused); provisioned
    /// concurrency put on one is listed on the other, whose runtime warms the instance too.
    @Test func twoServersSharePoliciesAndProvisionedConcurrency() throws {
        let (status, output) = try ServerProcess.runOnTwoServersSharingADatabase(Self.script, sharingABucket: true)
        #expect(status == 0, "\(output.suffix(4000))")
        #expect(output.contains("policies on two servers: ok"), "\(output.suffix(4000))")
    }
}
