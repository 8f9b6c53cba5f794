import Foundation
import RelctlProcess
import Testing

/// A real moto_server on a free port of 127.0.0.1 with one bucket, `relctl-code`, for the `--code-store
/// s3://…` tests; killed (its process group) when this goes away, since moto_server ignores SIGTERM.
final class MotoS3 {
    let process: ChildProcess
    let endpoint: String
    /// awscli's environment for this endpoint (moto takes any keys).
    let aws = ["AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"]

    init(cli: CLI) throws {
        let port = ServerProcess.freePort()
        process = try ChildProcess.spawn(
            .init(
                arguments: ["/usr/bin/env", "moto_server", "-H", "127.0.0.1", "-p", String(port)],
                environment: ProcessInfo.processInfo.environment, logPath: "/dev/null"))
        endpoint = "http://127.0.0.1:\(port)"
        for _ in 0..<300 where ((try? ServerProcess.get(endpoint).0) ?? 0) == 0 { usleep(100_000) }
        let (status, output) = try runTool(
            ["aws", "s3api", "create-bucket", "--bucket", "relctl-code", "--endpoint-url", endpoint], environment: aws,
            cwd: cli.workDirectory)
        if status != 0 {
            process.killGroupAndWait()
            throw NSError(
                domain: "relctl-test", code: 1,
                userInfo: [NSLocalizedDescriptionKey: "moto_server's bucket was not created: \(output)"])
        }
    }

    /// relctl's environment for a bucket on this endpoint (`RELCTL_CODE_STORE` not set).
    var relctlEnvironment: [String: String] {
        ["RELCTL_S3_ENDPOINT": endpoint, "RELCTL_S3_ACCESS_KEY_ID": "relctl", "RELCTL_S3_SECRET_ACCESS_KEY": "secret"]
    }

    deinit {
        process.killGroupAndWait()
    }
}
