import Foundation
import Testing

/// The server's middleware with auth on, answered exactly as before the server moved onto
/// Hummingbird's router: an unsigned request, a wrong signature and a read-only key's mutation,
/// each with its status, AWS error type and message, in both API shapes (rest-json and JSON 1.1).
@Suite("relctl serve middleware", .serialized)
struct MiddlewareTests {
    /// Sends one request (signed with botocore's SigV4 signer unless `key` is nil) and reads the answer.
    static let probe = """
        import json, sys, http.client
        import botocore.auth, botocore.awsrequest, botocore.credentials
        endpoint, method, path, key, secret, service, target, body = sys.argv[1:9]
        headers = {"Content-Type": "application/x-amz-json-1.1" if target else "application/json"}
        if target:
            headers["X-Amz-Target"] = target
        request = botocore.awsrequest.AWSRequest(method=method, url=endpoint + path, data=body.encode(), headers=headers)
        if key != "-":
            botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), service, "us-east-1").add_auth(request)
        connection = http.client.HTTPConnection(endpoint.split("//")[1], timeout=30)
        connection.request(method, path, body=body.encode(), headers=dict(request.prepare().headers))
        response = connection.getresponse()
        text = response.read().decode()
        print(json.dumps({"status": response.status, "type": response.getheader("x-amzn-ErrorType"),
                          "requestId": response.getheader("x-amzn-RequestId") or "", "body": json.loads(text) if text else None}))
        """

    struct Answer {
        var status: Int
        var type: String?
        var requestId: String
        var body: [String: Any]
    }

    struct Server {
        let cli: CLI
        let process: ServerProcess
        let writer: (key: String, secret: String)
        let reader: (key: String, secret: String)
        let script: URL

        init() throws {
            cli = try CLI()
            let writerKey = try cli.json("credentials", "create", "--name", "ci")
            let readerKey = try cli.json("credentials", "create", "--name", "viewer", "--read-only")
            writer = (writerKey["AccessKeyId"] as? String ?? "", writerKey["SecretAccessKey"] as? String ?? "")
            reader = (readerKey["AccessKeyId"] as? String ?? "", readerKey["SecretAccessKey"] as? String ?? "")
            script = cli.workDirectory.appendingPathComponent("probe.py")
            try Data(MiddlewareTests.probe.utf8).write(to: script)
            process = try ServerProcess(cli, extra: ["--auth", "on"])
        }

        func send(
            _ method: String, _ path: String, key: String?, secret: String = "", service: String = "lambda",
            target: String = "", body: String = "", sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> Answer {
            let (status, output) = try runTool(
                ["python3", script.path, process.endpoint, method, path, key ?? "-", secret, service, target, body],
                environment: [:], cwd: cli.workDirectory, timeout: 60, sourceLocation: sourceLocation)
            try #require(status == 0, "\(output)", sourceLocation: sourceLocation)
            let line = output.split(separator: "\n").last.map(String.init) ?? ""
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                sourceLocation: sourceLocation)
            return Answer(
                status: object["status"] as? Int ?? 0, type: object["type"] as? String,
                requestId: object["requestId"] as? String ?? "",
                body: object["body"] as? [String: Any] ?? [:])
        }
    }

    static let invalidToken =
        "The security token included in the request is invalid. (Missing or malformed SigV4 Authorization header.)"
    static let signatureMismatch =
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

    @Test func unsignedWrongSignatureAndReadOnlyMutationAreAnsweredAsAWSDoes() throws {
        let server = try Server()
        defer { _ = server.process.stop() }

        // Unsigned: UnrecognizedClientException, 403, decided from the head.
        let unsigned = try server.send("GET", "/2015-03-31/functions/", key: nil)
        #expect(unsigned.status == 403)
        #expect(unsigned.type == "UnrecognizedClientException")
        #expect(unsigned.body["Type"] as? String == "User")
        #expect(unsigned.body["message"] as? String == Self.invalidToken)
        #expect(unsigned.requestId.count == 36, "every answer carries x-amzn-RequestId")
        let unsignedCodeDeploy = try server.send(
            "POST", "/", key: nil, service: "codedeploy", target: "CodeDeploy_20141006.ListApplications", body: "{}")
        #expect(unsignedCodeDeploy.status == 403)
        #expect(unsignedCodeDeploy.type == "UnrecognizedClientException")
        #expect(unsignedCodeDeploy.body["__type"] as? String == "UnrecognizedClientException")
        #expect(unsignedCodeDeploy.body["message"] as? String == Self.invalidToken)

        // A known key with the wrong secret: InvalidSignatureException, 403, once the body is hashed.
        let wrong = try server.send(
            "GET", "/2015-03-31/functions/", key: server.writer.key, secret: server.writer.secret + "x")
        #expect(wrong.status == 403)
        #expect(wrong.type == "InvalidSignatureException")
        #expect(wrong.body["message"] as? String == Self.signatureMismatch)
        let wrongCodeDeploy = try server.send(
            "POST", "/", key: server.writer.key, secret: server.writer.secret + "x", service: "codedeploy",
            target: "CodeDeploy_20141006.ListApplications", body: "{}")
        #expect(wrongCodeDeploy.status == 403)
        #expect(wrongCodeDeploy.body["__type"] as? String == "InvalidSignatureException")
        #expect(wrongCodeDeploy.body["message"] as? String == Self.signatureMismatch)
        let unknown = try server.send("GET", "/2015-03-31/functions/", key: "AKIAUNKNOWNKEY000000", secret: "whatever")
        #expect(unknown.status == 403)
        #expect(unknown.type == "UnrecognizedClientException")
        #expect(unknown.body["message"] as? String == "The security token included in the request is invalid.")

        // The read-only key reads, and is refused a mutation with the operation it asked for.
        let read = try server.send(
            "GET", "/2015-03-31/functions/", key: server.reader.key, secret: server.reader.secret)
        #expect(read.status == 200)
        #expect(read.body["Functions"] is [Any])
        let delete = try server.send(
            "DELETE", "/2015-03-31/functions/anything", key: server.reader.key, secret: server.reader.secret)
        #expect(delete.status == 403)
        #expect(delete.type == "AccessDeniedException")
        #expect(delete.body["Type"] as? String == "User")
        #expect(
            delete.body["message"] as? String
                == "User: viewer (\(server.reader.key)) is not authorized to perform: lambda:DeleteFunction because the key is read-only"
        )
        let create = try server.send(
            "POST", "/", key: server.reader.key, secret: server.reader.secret, service: "codedeploy",
            target: "CodeDeploy_20141006.CreateApplication",
            body: #"{"applicationName": "ro", "computePlatform": "Lambda"}"#)
        #expect(create.status == 403)
        #expect(create.type == "AccessDeniedException")
        #expect(create.body["__type"] as? String == "AccessDeniedException")
        #expect(
            create.body["message"] as? String
                == "User: viewer (\(server.reader.key)) is not authorized to perform: codedeploy:CreateApplication because the key is read-only"
        )

        // The writer's key passes the middleware; a path that is no operation is ResourceNotFoundException.
        let missing = try server.send(
            "GET", "/2015-03-31/functions/missing/nothing", key: server.writer.key, secret: server.writer.secret)
        #expect(missing.status == 404)
        #expect(missing.type == "ResourceNotFoundException")
        #expect(missing.body["Message"] as? String == "No operation at GET /2015-03-31/functions/missing/nothing.")
    }
}
