import Foundation
import Testing

/// The S3 subset and the CloudFormation API (what the real `sam deploy` calls) on a shared database: what
/// one server stores, another answers from.
@Suite("relctl serve --database postgres://: S3 subset and CloudFormation", .serialized)
struct SharedDatabaseStackTests {
    /// Two servers, one database and one bucket (a real moto_server) as the code store: a bucket and objects
    /// put through one are read through the other; a change set made on one from a TemplateURL and CodeUri in
    /// that bucket is executed on the other; the stack, its template and its function answer on both, and
    /// deleting it through one removes the function for both.
    @Test func artifactsAndStacksMadeOnOneServerAnswerOnTheOther() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Support/shared_artifacts.py")
        let (status, output) = try ServerProcess.runOnTwoServersSharingADatabase(script, sharingABucket: true)
        #expect(status == 0, "\(output.suffix(4000))")
        #expect(output.contains("shared artifacts: ok"), "\(output.suffix(4000))")
    }
}
