import Crypto
import Foundation
import Testing

/// Attacks on a real `relctl serve` (issue 8): each test first reproduced the attack on the code before the fix.
@Suite("relctl serve under attack", .serialized)
struct SecurityTests {
    /// curl with a deadline: (status, body, headers). `extra` goes before the URL (e.g. `--aws-sigv4`).
    static func curl(_ url: String, _ extra: [String] = []) throws -> (status: Int, body: Data, headers: String) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("relctl-curl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (_, status) = try runTool(
            [
                "curl", "-s", "--max-time", "30", "-D", scratch.path + ".headers", "-o", scratch.path, "-w",
                "%{http_code}",
            ] + extra + [url],
            environment: [:], cwd: FileManager.default.temporaryDirectory)
        defer { try? FileManager.default.removeItem(atPath: scratch.path + ".headers") }
        let headers = (try? String(contentsOfFile: scratch.path + ".headers", encoding: .utf8)) ?? ""
        return (Int(status) ?? 0, (try? Data(contentsOf: scratch)) ?? Data(), headers)
    }

    /// curl signing the request with SigV4 (curl's own signer, service lambda, us-east-1).
    static func signedCurl(
        _ url: String, key: [String: Any], _ extra: [String] = []
    ) throws -> (status: Int, body: Data, headers: String) {
        try curl(
            url,
            extra + [
                "--aws-sigv4", "aws:amz:us-east-1:lambda", "--user",
                "\(key["AccessKeyId"] as? String ?? ""):\(key["SecretAccessKey"] as? String ?? "")",
            ])
    }

    /// A GET of `url` signed by botocore, as boto3 signs (it encodes the path once more, as the server checks).
    static func botocoreSignedGET(
        _ url: String, key: [String: Any]
    ) throws -> (status: Int, body: Data, headers: String) {
        let script = """
            import json, sys, botocore.auth, botocore.awsrequest, botocore.credentials
            request = botocore.awsrequest.AWSRequest(method="GET", url=sys.argv[1])
            botocore.auth.SigV4Auth(botocore.credentials.Credentials(sys.argv[2], sys.argv[3]), "lambda", "us-east-1").add_auth(request)
            print(json.dumps(dict(request.headers.items())))
            """
        let (status, output) = try runTool(
            [
                "python3", "-c", script, url, key["AccessKeyId"] as? String ?? "",
                key["SecretAccessKey"] as? String ?? "",
            ],
            environment: [:], cwd: FileManager.default.temporaryDirectory)
        try #require(status == 0, "\(output)")
        let headers = (try JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: String] ?? [:]
        return try curl(url, ["--path-as-is"] + headers.flatMap { ["-H", "\($0.key): \($0.value)"] })
    }

    static func aws(
        _ arguments: [String], server: ServerProcess, key: [String: Any]? = nil
    ) throws -> (Int32, [String: Any], String) {
        let environment = [
            "AWS_ACCESS_KEY_ID": key?["AccessKeyId"] as? String ?? "x",
            "AWS_SECRET_ACCESS_KEY": key?["SecretAccessKey"] as? String ?? "y",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        ]
        let (status, output) = try runTool(
            ["aws"] + arguments + ["--endpoint-url", server.endpoint, "--output", "json"],
            environment: environment, cwd: server.cli.workDirectory)
        let object = (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:]
        return (status, object, output)
    }

    static func hex(fromBase64 text: String?) -> String {
        (Data(base64Encoded: text ?? "") ?? Data()).map { String(format: "%02x", $0) }.joined()
    }

    static func expectNotFound(
        _ answer: (status: Int, body: Data, headers: String), _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let text = String(decoding: answer.body, as: UTF8.self)
        #expect(answer.status == 404, "\(what): \(answer.status) \(text.prefix(200))", sourceLocation: sourceLocation)
        #expect(
            answer.headers.contains("x-amzn-ErrorType: ResourceNotFoundException"), "\(what): \(answer.headers)",
            sourceLocation: sourceLocation)
        #expect(
            !text.contains("SQLite format") && !text.contains("root:")
                && !text.lowercased().contains("secretaccesskey"), "\(what) leaked a file",
            sourceLocation: sourceLocation)
    }

    @Test func codeDownloadServesNoFileThroughADecodedPath() throws {
        let cli = try CLI()
        let server = try ServerProcess(cli)
        defer { _ = server.stop() }
        try cli.json(
            "function", "create", "orders", "--dir", try cli.source("v1", marker: "one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap")
        let base = "\(server.endpoint)/relctl/code/"
        Self.expectNotFound(try Self.curl(base + "..%2Fregistry.sqlite"), "the registry")
        Self.expectNotFound(try Self.curl(base + String(repeating: "..%2F", count: 7) + "etc%2Fpasswd"), "/etc/passwd")
        Self.expectNotFound(try Self.curl(base + "..%2Fcredentials.json"), "the credentials")
        Self.expectNotFound(try Self.curl(base + "ab%2F..%2F..%2F..%2Fregistry.sqlite"), "a path under a blob folder")
        Self.expectNotFound(try Self.curl(base + String(repeating: "A", count: 64)), "upper-case hex")
        // A well-formed hash still needs the URL's signature (checked first, so nothing tells which hashes exist).
        #expect(try Self.curl(base + String(repeating: "0", count: 64)).status == 403)
    }

    @Test func codeLocationIsAPresignedURLThatAPlainGETFetchesWithAuthOn() throws {
        let cli = try CLI()
        let writer = try cli.json("credentials", "create", "--name", "ci")
        let reader = try cli.json("credentials", "create", "--name", "viewer", "--read-only")
        let server = try ServerProcess(cli, extra: ["--auth", "on"])
        defer { _ = server.stop() }
        let created = try cli.json(
            "function", "create", "orders", "--dir", try cli.source("v1", marker: "one"), "--runtime",
            "provided.al2023", "--handler", "bootstrap")
        try cli.json("publish", "orders")
        try cli.json("function", "update-code", "orders", "--dir", try cli.source("v2", marker: "two"))

        // A read-only key signing a request for the data directory's secrets gets nothing.
        let secrets = try Self.botocoreSignedGET("\(server.endpoint)/relctl/code/..%2Fcredentials.json", key: reader)
        #expect(
            !String(decoding: secrets.body, as: UTF8.self).contains(writer["AccessKeyId"] as? String ?? "?"),
            "the keys leaked")
        Self.expectNotFound(secrets, "credentials.json with a read-only key")

        // Version 1's code through its Code.Location: a plain GET, no credentials.
        let (status, got, output) = try Self.aws(
            ["lambda", "get-function", "--function-name", "orders", "--qualifier", "1"], server: server, key: reader)
        #expect(status == 0, "\(output)")
        let location = try #require((got["Code"] as? [String: Any])?["Location"] as? String)
        let components = try #require(URLComponents(string: location))
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256")
        #expect(query["X-Amz-Expires"] == "600")
        #expect(query["X-Amz-Signature"]?.count == 64)
        let fetched = try Self.curl(location)
        #expect(fetched.status == 200, "\(String(decoding: fetched.body, as: UTF8.self).prefix(300))")
        let versionHash = Self.hex(fromBase64: created["CodeSha256"] as? String)
        #expect(components.path == "/relctl/code/\(versionHash)")
        #expect(sha256Hex(fetched.body) == versionHash, "the bytes are the version's package")

        // $LATEST's code and a layer version's content are served the same way.
        let (_, latest, _) = try Self.aws(
            ["lambda", "get-function", "--function-name", "orders"], server: server, key: reader)
        let latestLocation = try #require((latest["Code"] as? [String: Any])?["Location"] as? String)
        let latestHash = Self.hex(fromBase64: (latest["Configuration"] as? [String: Any])?["CodeSha256"] as? String)
        #expect(sha256Hex(try Self.curl(latestLocation).body) == latestHash)
        let zip = cli.workDirectory.appendingPathComponent("layer.zip")
        #expect(
            try runTool(
                ["sh", "-c", "cd \(ServerTests.repo.path)/examples/hello && zip -q \(zip.path) bootstrap"],
                environment: [:], cwd: cli.workDirectory
            ).0 == 0)
        let (published, layer, layerOutput) = try Self.aws(
            ["lambda", "publish-layer-version", "--layer-name", "deps", "--zip-file", "fileb://\(zip.path)"],
            server: server, key: writer)
        #expect(published == 0, "\(layerOutput)")
        let layerLocation = try #require((layer["Content"] as? [String: Any])?["Location"] as? String, "\(layerOutput)")
        #expect(try Self.curl(layerLocation).body == (try Data(contentsOf: zip)))
        let (_, layerVersion, _) = try Self.aws(
            ["lambda", "get-layer-version", "--layer-name", "deps", "--version-number", "1"], server: server,
            key: reader)
        let layerLocationAgain = try #require((layerVersion["Content"] as? [String: Any])?["Location"] as? String)
        #expect(try Self.curl(layerLocationAgain).status == 200)

        // Anything else is refused: no signature, a changed signature, a longer expiry, another hash.
        #expect(
            try Self.curl("\(server.endpoint)/relctl/code/\(versionHash)").status == 403,
            "a bare hash needs a signature")
        let signature = query["X-Amz-Signature"] ?? ""
        let flipped = String(signature.dropLast()) + (signature.hasSuffix("0") ? "1" : "0")
        #expect(
            try Self.curl(location.replacingOccurrences(of: signature, with: flipped)).status == 403,
            "a tampered signature")
        #expect(
            try Self.curl(location.replacingOccurrences(of: "X-Amz-Expires=600", with: "X-Amz-Expires=6000")).status
                == 403, "a longer expiry")
        #expect(
            try Self.curl(location.replacingOccurrences(of: versionHash, with: latestHash)).status == 403,
            "another hash under this signature")
        // A blob file lost from the store is 404, not a 500.
        let layerHash = Self.hex(fromBase64: (layer["Content"] as? [String: Any])?["CodeSha256"] as? String)
        try FileManager.default.removeItem(
            at: cli.dataDirectory.appendingPathComponent("blobs/sha256/\(layerHash.prefix(2))/\(layerHash)"))
        Self.expectNotFound(try Self.curl(layerLocation), "a referenced hash whose file is gone")
        // A signed URL for code whose last reference is gone answers 404, not the bytes (or a 500).
        try cli.run("function", "delete", "orders")
        Self.expectNotFound(try Self.curl(location), "the code of a deleted function")
    }

    @Test func deletedKeyIsRefusedOnTheNextRequestAndANewKeyWorksWithoutRestart() throws {
        let cli = try CLI()
        let first = try cli.json("credentials", "create", "--name", "first")
        let server = try ServerProcess(cli, extra: ["--auth", "on"])
        defer { _ = server.stop() }
        let (listed, _, listedOutput) = try Self.aws(["lambda", "list-functions"], server: server, key: first)
        #expect(listed == 0, "\(listedOutput)")

        try cli.run("credentials", "delete", "first")
        let (revoked, _, revokedOutput) = try Self.aws(["lambda", "list-functions"], server: server, key: first)
        #expect(
            revoked != 0 && revokedOutput.contains("(UnrecognizedClientException)"),
            "a deleted key still works: \(revokedOutput)")

        let second = try cli.json("credentials", "create", "--name", "second", "--read-only")
        let (fresh, _, freshOutput) = try Self.aws(["lambda", "list-functions"], server: server, key: second)
        #expect(fresh == 0, "a key created after start is refused: \(freshOutput)")
        let (denied, _, deniedOutput) = try Self.aws(
            ["lambda", "delete-function", "--function-name", "nothing"], server: server, key: second)
        #expect(
            denied != 0 && deniedOutput.contains("(AccessDeniedException)"),
            "a new read-only key is read-only: \(deniedOutput)")
    }

    /// What the auth layer answered before the body checks moved ahead of the body: unchanged.
    @Test func unsignedWrongSignatureAndReadOnlyRequestsAreAnsweredAsBefore() throws {
        let cli = try CLI()
        let reader = try cli.json("credentials", "create", "--name", "viewer", "--read-only")
        let server = try ServerProcess(cli, extra: ["--auth", "on"])
        defer { _ = server.stop() }
        let functions = "\(server.endpoint)/2015-03-31/functions/"
        let unsigned = try Self.curl(functions)
        #expect(
            unsigned.status == 403 && unsigned.headers.contains("x-amzn-ErrorType: UnrecognizedClientException"),
            "\(unsigned.headers)")
        var wrong = reader
        wrong["SecretAccessKey"] = (reader["SecretAccessKey"] as? String ?? "") + "x"
        let badSignature = try Self.signedCurl(functions, key: wrong)
        #expect(
            badSignature.status == 403 && badSignature.headers.contains("x-amzn-ErrorType: InvalidSignatureException"),
            "\(badSignature.headers)")
        #expect(try Self.signedCurl(functions, key: reader).status == 200)
        let denied = try Self.signedCurl(functions + "nothing", key: reader, ["-X", "DELETE"])
        #expect(
            denied.status == 403 && denied.headers.contains("x-amzn-ErrorType: AccessDeniedException"),
            "\(denied.headers)")
    }
}

func sha256Hex(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
