import Foundation
import RelctlProcess
import Testing

/// `--code-store s3://…` end to end: the built `relctl` publishing into a real moto_server bucket,
/// invoking from the bucket when this machine has no copy, and refusing a package the bucket changed.
@Suite("relctl with an S3 code store", .serialized)
struct CodeStoreCLITests {
    /// `relctl serve --code-store s3://…`: CreateFunction, UpdateFunctionCode and PublishLayerVersion through the
    /// API put each package in the bucket (uploaded by the server's async client before the row is written).
    @Test func serveWritesEachPackageThroughToTheBucket() throws {
        let cli = try CLI()
        let moto = try MotoS3(cli: cli)
        defer { withExtendedLifetime(moto) {} }
        let server = try ServerProcess(
            cli, extra: ["--code-store", "s3://relctl-code/team"], environment: moto.relctlEnvironment)
        defer { _ = server.stop() }
        let lambda = ["AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"]
        func zip(_ marker: String) throws -> String {
            let zip = cli.workDirectory.appendingPathComponent("\(marker).zip").path
            let (status, output) = try runTool(
                ["sh", "-c", "cd \(try cli.source(marker, marker: marker)) && zip -q \(zip) bootstrap"],
                environment: [:], cwd: cli.workDirectory)
            try #require(status == 0, "\(output)")
            return zip
        }
        func aws(_ arguments: [String]) throws -> [String: Any] {
            let (status, output) = try runTool(
                ["aws", "lambda"] + arguments + ["--endpoint-url", server.endpoint, "--output", "json"],
                environment: lambda, cwd: cli.workDirectory)
            try #require(status == 0, "\(output)")
            return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        }
        func key(_ base64: Any?) -> String {
            let hash = Data(base64Encoded: base64 as? String ?? "")!.map { String(format: "%02x", $0) }.joined()
            return "team/sha256/\(hash.prefix(2))/\(hash)"
        }
        let created = try aws([
            "create-function", "--function-name", "served", "--runtime", "provided.al2023", "--handler", "bootstrap",
            "--role", "arn:aws:iam::123456789012:role/x", "--zip-file", "fileb://\(try zip("one"))",
        ])
        let updated = try aws([
            "update-function-code", "--function-name", "served", "--zip-file", "fileb://\(try zip("two"))",
        ])
        let layer = try aws([
            "publish-layer-version", "--layer-name", "deps", "--zip-file", "fileb://\(try zip("three"))",
        ])
        let keys = [
            key(created["CodeSha256"]), key(updated["CodeSha256"]),
            key((layer["Content"] as? [String: Any])?["CodeSha256"]),
        ]
        #expect(Set(keys).count == 3)
        let (listed, listing) = try runTool(
            ["aws", "s3api", "list-objects-v2", "--bucket", "relctl-code", "--endpoint-url", moto.endpoint],
            environment: moto.aws, cwd: cli.workDirectory)
        #expect(listed == 0, "\(listing)")
        for key in keys { #expect(listing.contains("\"Key\": \"\(key)\""), "\(key) in \(listing)") }
    }

    @Test func publishWritesThroughToTheBucketAndInvokeDownloadsByHash() throws {
        let cli = try CLI()
        let moto = try MotoS3(cli: cli)
        defer { withExtendedLifetime(moto) {} }  // the bucket lives until the test ends
        let (s3, aws, store) = (moto.endpoint, moto.aws, moto.relctlEnvironment)

        // A bucket that does not exist: one line, and nothing is created.
        let wrong = try cli.run(
            [
                "function", "create", "nowhere", "--dir", try cli.source("nowhere", marker: "x"), "--runtime",
                "provided.al2023",
                "--handler", "bootstrap", "--code-store", "s3://no-such-bucket/code",
            ], environment: store)
        #expect(
            wrong.status != 0
                && wrong.stderr.hasPrefix(
                    "error: ResourceNotFoundException: The bucket 'no-such-bucket' does not exist at \(s3)"),
            "\(wrong.stderr)")
        #expect(wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        #expect(try cli.run("function", "get", "nowhere").status != 0, "no row without its object")
        let badURL = try cli.run(["function", "list", "--code-store", "file:///srv"], environment: store)
        #expect(
            badURL.status != 0 && badURL.stderr.contains("--code-store 'file:///srv' has the scheme 'file'"),
            "\(badURL.stderr)")

        let folder = try cli.runtimeLoop(
            "hello",
            body: """
                  curl -sS -X POST "$API/invocation/$ID/response" -d '{"from":"bucket"}' >/dev/null
                """)
        let created = try cli.run(
            [
                "function", "create", "hello", "--dir", folder, "--runtime", "provided.al2023", "--handler",
                "bootstrap",
                "--publish", "--output", "json",
            ], environment: store.merging(["RELCTL_CODE_STORE": "s3://relctl-code/team"]) { $1 })
        #expect(created.status == 0, "\(created.stderr)")
        let base64 = try #require(created.object["CodeSha256"] as? String)
        let hash = Data(base64Encoded: base64)!.map { String(format: "%02x", $0) }.joined()
        let key = "team/sha256/\(hash.prefix(2))/\(hash)"
        let (listed, listing) = try runTool(
            ["aws", "s3api", "list-objects-v2", "--bucket", "relctl-code", "--endpoint-url", s3], environment: aws,
            cwd: cli.workDirectory)
        #expect(listed == 0 && listing.contains("\"Key\": \"\(key)\""), "\(listing)")

        // This machine loses its copy (as another machine never had one): invoke reads the bucket by hash.
        let blob = cli.dataDirectory.appendingPathComponent("blobs/sha256/\(hash.prefix(2))/\(hash)")
        let cache = cli.dataDirectory.appendingPathComponent("cache")
        try FileManager.default.removeItem(at: blob)
        try? FileManager.default.removeItem(at: cache)
        let withStore = store.merging(["RELCTL_CODE_STORE": "s3://relctl-code/team"]) { $1 }
        let invoked = try cli.run(["invoke", "hello:1", "--payload", "{}"], environment: withStore)
        #expect(invoked.status == 0 && invoked.stdout == "{\"from\":\"bucket\"}\n", "\(invoked.stderr)")
        #expect(FileManager.default.fileExists(atPath: blob.path), "the download is kept as this machine's copy")
        let fsck = try cli.run(["fsck"], environment: withStore)
        #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
        let gc = try cli.run(["gc", "--temporary-age", "0"], environment: withStore)
        #expect(gc.status == 0 && gc.stdout.contains("Removed 0 unreferenced object(s)"), "\(gc.stdout)\(gc.stderr)")

        // Someone replaces the object in the bucket: fsck says so, and a machine without a copy refuses to run it.
        let fake = cli.workDirectory.appendingPathComponent("fake.zip")
        try Data("not the package".utf8).write(to: fake)
        #expect(
            try runTool(
                [
                    "aws", "s3api", "put-object", "--bucket", "relctl-code", "--key", key, "--body", fake.path,
                    "--endpoint-url", s3,
                ],
                environment: aws, cwd: cli.workDirectory
            ).0 == 0)
        let broken = try cli.run(["fsck", "--skip-hashes"], environment: withStore)
        #expect(
            broken.status == 1 && broken.stdout.contains("Code object \(hash) is 15 bytes in s3://relctl-code/team"),
            "\(broken.stdout)")
        try FileManager.default.removeItem(at: blob)
        try? FileManager.default.removeItem(at: cache)
        let refused = try cli.run(["invoke", "hello:1", "--payload", "{}", "--output", "json"], environment: withStore)
        #expect(
            refused.stdout.contains("does not match its hash") || refused.stderr.contains("does not match its hash"),
            "\(refused.stdout)\(refused.stderr)")
    }
}
