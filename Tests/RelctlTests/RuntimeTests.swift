import Foundation
import RelctlCore
import RelctlPackages
import RelctlProcess
import RelctlRollout
import RelctlRuntime
import RelctlStore
import Testing

/// Bootstraps used by the runtime tests, written as users write custom runtimes.
enum Bootstraps {
    /// AWS's custom-runtime tutorial ("Tutorial – Building a custom runtime"), verbatim: a bash-flavoured
    /// `#!/bin/sh` bootstrap that sources the handler script and talks to the Runtime API with curl.
    static let tutorial = """
        #!/bin/sh

        set -euo pipefail

        # Initialization - load function handler
        source $LAMBDA_TASK_ROOT/"$(echo $_HANDLER | cut -d. -f1).sh"

        # Processing
        while true
        do
          HEADERS="$(mktemp)"
          # Get an event. The HTTP request will block until one is received
          EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")

          # Extract request ID by scraping response headers received above
          REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)

          # Run the handler function from the script
          RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")

          # Send the response
          curl "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response"  -d "$RESPONSE"
        done
        """

    /// The tutorial's function.sh, with the event echoed back.
    static let tutorialHandler = """
        function handler () {
          EVENT_DATA=$1
          echo "$EVENT_DATA" 1>&2;
          RESPONSE="{\\"echo\\": $EVENT_DATA}"

          echo $RESPONSE
        }
        """

    /// A Python custom runtime with a persistent connection: fast enough for 10,000 invokes.
    /// The event is a command: {"cmd": "echo"|"env"|"headers"|"fail"|"sleep"|"exit"|"alloc"|"which", ...}.
    static let python = #"""
        #!/usr/bin/env python3
        import http.client, json, os, subprocess, sys, time
        host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
        conn = http.client.HTTPConnection(host, int(port))
        def call(method, path, body=None, headers={}):
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r, r.read()
        while True:
            r, body = call("GET", "/2018-06-01/runtime/invocation/next")
            rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
            event = json.loads(body or b"{}")
            cmd = event.get("cmd", "echo")
            if cmd == "fail":
                call("POST", f"/2018-06-01/runtime/invocation/{rid}/error",
                     json.dumps({"errorMessage": "boom", "errorType": "Test.Failure"}),
                     {"Lambda-Runtime-Function-Error-Type": "Test.Failure"})
                continue
            if cmd == "sleep":
                time.sleep(event["seconds"])
            if cmd == "exit":
                sys.exit(3)
            out = {"version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")}
            if cmd == "echo":
                out["event"] = event
            if cmd == "env":
                out["env"] = dict(os.environ)
            if cmd == "headers":
                out["headers"] = {k: v for k, v in r.getheaders()}
            if cmd == "alloc":
                p = subprocess.run([sys.executable, "-c", "x = bytearray(%d * 1024 * 1024)" % event["mb"]], capture_output=True)
                out["exit"] = p.returncode
            if cmd == "which":
                p = subprocess.run(["/bin/sh", "-c", "layer-tool"], capture_output=True, text=True)
                out["tool"] = p.stdout.strip()
                out["lib"] = os.path.exists(os.path.join(os.environ.get("RELCTL_OPT", "/nonexistent"), "lib", "libfake.so"))
                import layermod
                out["module"] = layermod.NAME
            call("POST", f"/2018-06-01/runtime/invocation/{rid}/response", json.dumps(out))
            if cmd == "respond-then-exit":
                sys.exit(0)
        """#
}

extension Bootstraps {
    /// Reports what a function can see and do: its descriptors at start, the data directory, /tmp,
    /// /var/task, the relctl variables; `spawn` leaves a `setsid` child and a double-forked one behind.
    static let probe = #"""
        #!/usr/bin/env python3
        import http.client, json, os, subprocess
        STARTUP_FDS = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                STARTUP_FDS[fd] = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                pass
        def attempt(action):
            try:
                action()
                return "allowed"
            except OSError as error:
                return type(error).__name__
        host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
        conn = http.client.HTTPConnection(host, int(port))
        while True:
            conn.request("GET", "/2018-06-01/runtime/invocation/next")
            r = conn.getresponse()
            rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
            event = json.loads(r.read() or b"{}")
            data = os.environ["DATA_DIR"]
            out = {
                "fds": STARTUP_FDS,
                "readRegistry": attempt(lambda: open(os.path.join(data, "registry.sqlite"), "rb").read(1)),
                "listData": attempt(lambda: os.listdir(os.path.join(data, "blobs"))),
                "writeData": attempt(lambda: open(os.path.join(data, "planted.txt"), "w").write("x")),
                "writeTask": attempt(lambda: open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "planted.txt"), "w").write("x")),
                "writeTmp": attempt(lambda: open("/tmp/" + event.get("tmpName", "x"), "w").write("x")),
                "relctlVariables": sorted(k for k in os.environ if k.startswith("RELCTL_") and k != "RELCTL_OPT"),
                "pid": os.getpid(),
            }
            if event.get("spawn"):
                subprocess.Popen(["setsid", "sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                subprocess.Popen(["sh", "-c", "(sleep 600 &) ; exit 0"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait()
            conn.request("POST", f"/2018-06-01/runtime/invocation/{rid}/response", json.dumps(out))
            conn.getresponse().read()
        """#
}

struct RuntimeFixture {
    let sandbox: Sandbox
    var registry: Registry { sandbox.registry }
    let pool: RuntimePool

    init() throws {
        sandbox = try Sandbox()
        pool = RuntimePool(store: sandbox.registry, rollout: RolloutEngine(store: sandbox.registry))
    }

    /// `timeout` defaults to two minutes: under a full parallel test run the two cooperative threads
    /// can be held for many seconds by blocking tests, and a function timeout must not fire on that.
    func function(
        _ name: String, bootstrap: String, timeout: Int = 120, memory: Int = 256, env: [String: String] = [:],
        layers: [String] = [], runtime: String = "provided.al2023", handler: String? = nil,
        files: [String: String] = [:]
    ) throws {
        var contents = files.mapValues { Data($0.utf8) }
        if !bootstrap.isEmpty { contents["bootstrap"] = Data(bootstrap.utf8) }
        let settings = FunctionSettings(
            runtime: runtime, handler: handler ?? (runtime.hasPrefix("python") ? "app.handler" : "bootstrap"),
            role: "arn:aws:iam::000000000000:role/test", memorySize: memory, timeout: timeout,
            environment: env.isEmpty ? nil : env, layers: layers)
        _ = try registry.createFunction(
            name: name, settings: settings, code: try sandbox.package(contents), publish: true)
    }

    func invoke(
        _ name: String, _ event: [String: Any] = [:], key: String? = nil
    ) async throws -> (InvocationResult, [String: Any]) {
        let payload = try JSONSerialization.data(withJSONObject: event)
        let result = try await pool.invoke(try FunctionReference(parsing: name), payload: payload, routingKey: key)
        let object = (try? JSONSerialization.jsonObject(with: Data(result.Payload.utf8))) as? [String: Any] ?? [:]
        return (result, object)
    }
}

@Suite("Local runtime", .serialized)
struct RuntimeTests {
    @Test func tutorialShellBootstrapRunsUnchangedAndStaysWarm() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function(
            "tutorial", bootstrap: Bootstraps.tutorial, handler: "function.handler",
            files: ["function.sh": Bootstraps.tutorialHandler])
        let (first, body) = try await fixture.invoke("tutorial", ["id": 1])
        #expect(first.FunctionError == nil, "\(first.Payload)")
        #expect((body["echo"] as? [String: Any])?["id"] as? Int == 1)
        #expect(first.ColdStart && first.ExecutedVersion == "$LATEST")
        let (second, _) = try await fixture.invoke("tutorial:1", ["id": 2])
        #expect(second.ExecutedVersion == "1")
        let (third, _) = try await fixture.invoke("tutorial:1", ["id": 3])
        #expect(!third.ColdStart, "the version-1 instance is reused")
        #expect(await fixture.pool.coldStarts == 2)
        await fixture.pool.shutdown()
    }

    @Test func runtimeApiHeadersAndEnvironmentAreLambdas() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("env", bootstrap: Bootstraps.python, timeout: 30, memory: 512, env: ["STAGE": "test"])
        let before = Date().timeIntervalSince1970
        let (_, headers) = try await fixture.invoke("env", ["cmd": "headers"])
        let after = Date().timeIntervalSince1970
        let fields = (headers["headers"] as? [String: String] ?? [:]).reduce(into: [String: String]()) {
            $0[$1.key.lowercased()] = $1.value
        }
        #expect(fields["lambda-runtime-aws-request-id"]?.count == 36)
        #expect(fields["lambda-runtime-invoked-function-arn"] == "arn:aws:lambda:local:000000000000:function:env")
        let deadline = Double(fields["lambda-runtime-deadline-ms"] ?? "0") ?? 0
        // The deadline is the moment the invocation was handed over plus the timeout: between the call and its answer
        // (a busy machine can stretch that interval, never move the deadline outside it).
        #expect(
            deadline / 1000 >= before + 30 - 0.01 && deadline / 1000 <= after + 30 + 0.01,
            "deadline \(deadline / 1000) = hand-over + 30 s, hand-over in [\(before), \(after)]")
        let (_, env) = try await fixture.invoke("env", ["cmd": "env"])
        let variables = env["env"] as? [String: String] ?? [:]
        #expect(variables["AWS_LAMBDA_FUNCTION_NAME"] == "env")
        #expect(variables["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST")
        #expect(variables["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512")
        #expect(variables["_HANDLER"] == "bootstrap")
        #expect(variables["AWS_REGION"] == "local")
        #expect(variables["STAGE"] == "test")
        if Containment.bubblewrap != nil {
            #expect(variables["LAMBDA_TASK_ROOT"] == "/var/task", "in the sandbox the package is where Lambda puts it")
        } else {
            #expect(
                variables["LAMBDA_TASK_ROOT"].map { FileManager.default.fileExists(atPath: $0 + "/bootstrap") } == true)
        }
        #expect(variables["AWS_LAMBDA_RUNTIME_API"]?.hasPrefix("127.0.0.1:") == true)
        await fixture.pool.shutdown()
    }

    @Test func functionErrorsAreReportedAsLambdaDoes() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("errors", bootstrap: Bootstraps.python)
        let (failed, object) = try await fixture.invoke("errors", ["cmd": "fail"])
        #expect(failed.FunctionError == "Unhandled")
        #expect(object["errorType"] as? String == "Test.Failure" && object["errorMessage"] as? String == "boom")
        let (after, _) = try await fixture.invoke("errors", ["cmd": "echo"])
        #expect(after.FunctionError == nil && !after.ColdStart, "a handled error keeps the instance")
        await fixture.pool.shutdown()
    }

    @Test func initErrorAndMissingBootstrapFailTheInvocation() async throws {
        let fixture = try RuntimeFixture()
        let initError = """
            #!/bin/sh
            curl -sS -X POST -H 'Lambda-Runtime-Function-Error-Type: Runtime.ConfigError' \
              "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error" -d '{"errorMessage":"missing config","errorType":"Runtime.ConfigError"}'
            exit 1
            """
        try fixture.function("initfail", bootstrap: initError)
        let (result, object) = try await fixture.invoke("initfail")
        #expect(result.FunctionError == "Unhandled")
        #expect(object["errorType"] as? String == "Runtime.ConfigError")
        try fixture.function("empty", bootstrap: "", files: ["README": "no bootstrap here"])
        let (missing, missingObject) = try await fixture.invoke("empty")
        #expect(missing.FunctionError == "Unhandled")
        #expect(
            ["Runtime.InvalidEntrypoint", "Runtime.ExitError"].contains(missingObject["errorType"] as? String ?? ""))
        await fixture.pool.shutdown()
    }

    @Test func timeoutKillsTheInstanceAndFailsWithLambdasError() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("slow", bootstrap: Bootstraps.python, timeout: 1)
        let (result, object) = try await fixture.invoke("slow", ["cmd": "sleep", "seconds": 30])
        #expect(result.FunctionError == "Unhandled")
        #expect(object["errorType"] as? String == "Sandbox.Timedout")
        #expect((object["errorMessage"] as? String)?.contains("Task timed out after 1.00 seconds") == true)
        #expect(result.DurationMs < 10_000)
        let (next, _) = try await fixture.invoke("slow", ["cmd": "echo"])
        #expect(next.FunctionError == nil && next.ColdStart, "a fresh instance replaces the killed one")
        await fixture.pool.shutdown()
    }

    @Test func initIsNotChargedToTheFunctionsTimeoutAsOnLambda() async throws {
        // Lambda gives the Init phase its own allowance (10 s on demand); the configured timeout
        // counts from the moment the runtime takes the invocation. A runtime that needs 2 s to
        // start must not time out a function whose timeout is 1 s.
        let fixture = try RuntimeFixture()
        try fixture.function(
            "slowinit", bootstrap: "#!/bin/sh\nsleep 2\nexec python3 \"$LAMBDA_TASK_ROOT/runtime.py\"\n", timeout: 1,
            files: ["runtime.py": Bootstraps.python.replacingOccurrences(of: "#!/usr/bin/env python3\n", with: "")])
        let (result, object) = try await fixture.invoke("slowinit", ["cmd": "echo"])
        #expect(result.FunctionError == nil, "\(object)")
        #expect(result.ColdStart)
        await fixture.pool.shutdown()
    }

    @Test func crashingBootstrapFailsTheInvocationAndLeavesNoZombie() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("crash", bootstrap: Bootstraps.python)
        let (result, object) = try await fixture.invoke("crash", ["cmd": "exit"])
        #expect(result.FunctionError == "Unhandled")
        #expect(object["errorType"] as? String == "Runtime.ExitError")
        #expect((object["errorMessage"] as? String)?.contains("exit status 3") == true)
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(Self.zombieChildren() == 0, "every exited child was reaped")
        await fixture.pool.shutdown()
    }

    /// Children of this process in state Z.
    static func zombieChildren() -> Int {
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] == "Z" && Int32(fields[1]) == me
        }.count
    }

    @Test func aWarmInstanceThatDiedWhileIdleDoesNotFailTheNextInvocation() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("flaky", bootstrap: Bootstraps.python)
        for _ in 0..<5 {
            let (first, _) = try await fixture.invoke("flaky", ["cmd": "respond-then-exit"])
            #expect(first.FunctionError == nil)
            let (next, _) = try await fixture.invoke("flaky", ["cmd": "echo"])
            #expect(next.FunctionError == nil, "\(next.Payload)")
            #expect(next.ColdStart, "it ran on a fresh instance")
        }
        await fixture.pool.shutdown()
    }

    @Test func memoryIsLimitedPerInstance() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("memory", bootstrap: Bootstraps.python, memory: 128)
        let (big, bigBody) = try await fixture.invoke("memory", ["cmd": "alloc", "mb": 400])
        #expect(big.FunctionError == nil)
        #expect(bigBody["exit"] as? Int != 0, "400 MB do not fit in 128 MB")
        let (small, smallBody) = try await fixture.invoke("memory", ["cmd": "alloc", "mb": 16])
        #expect(small.FunctionError == nil && smallBody["exit"] as? Int == 0)
        await fixture.pool.shutdown()
    }

    @Test func reservedConcurrencyThrottlesTheExcessAndCountsThrottles() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("narrow", bootstrap: Bootstraps.python)
        try fixture.registry.putFunctionConcurrency("narrow", reserved: 1)
        async let slow = fixture.invoke("narrow", ["cmd": "sleep", "seconds": 1.0])
        try await Task.sleep(nanoseconds: 300_000_000)
        await #expect(throws: RelctlError.self) { _ = try await fixture.invoke("narrow", ["cmd": "echo"]) }
        let (finished, _) = try await slow
        #expect(finished.FunctionError == nil)
        await fixture.pool.shutdown()
        let throttles = try fixture.registry.metricSeries(
            function: "narrow", version: nil, resource: nil, metric: "Throttles",
            statistic: .sum, period: 60, since: Date().addingTimeInterval(-120))
        #expect(throttles.compactMap(\.value).reduce(0, +) == 1)
        try fixture.registry.putFunctionConcurrency("narrow", reserved: 0)
        await #expect(throws: RelctlError.self) { _ = try await fixture.invoke("narrow") }
    }

    @Test func tenThousandRoutedInvokesHonourTheWeightsAndRecordMetrics() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("weighted", bootstrap: Bootstraps.python)
        _ = try fixture.registry.updateFunctionConfiguration(
            FunctionReference(name: "weighted"), ConfigurationUpdate(description: "v2"))
        _ = try fixture.registry.publishVersion(FunctionReference(name: "weighted"))
        _ = try fixture.registry.createAlias(
            function: "weighted", name: "live", functionVersion: "1", additionalVersionWeights: ["2": 0.1])
        let target = try fixture.registry.invocationTarget(
            FunctionReference(name: "weighted", qualifier: .alias("live")))
        let total = 10_000
        let counts = try await withThrowingTaskGroup(of: [String: Int].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var local: [String: Int] = [:]
                    for _ in stride(from: worker, to: total, by: 4) {
                        let result = try await fixture.pool.invoke(target, payload: Data("{}".utf8))
                        local[result.ExecutedVersion, default: 0] += 1
                    }
                    return local
                }
            }
            return try await group.reduce(into: [String: Int]()) { $0.merge($1, uniquingKeysWith: +) }
        }
        await fixture.pool.shutdown()
        // Binomial(10000, 0.1): mean 1000, sd 30; ±4.5 sd.
        #expect(counts.values.reduce(0, +) == total)
        #expect(abs((counts["2"] ?? 0) - 1000) <= 135, "\(counts)")
        let invocations = try fixture.registry.metricSeries(
            function: "weighted", version: "2", resource: "weighted:live",
            metric: "Invocations", statistic: .sum, period: 3600, since: Date().addingTimeInterval(-3600))
        #expect(
            Int(invocations.compactMap(\.value).reduce(0, +)) == counts["2"],
            "one Invocations datapoint per call, by ExecutedVersion")
        let p99 = try fixture.registry.metricSeries(
            function: "weighted", version: nil, resource: "weighted:live", metric: "Duration",
            statistic: .percentile(99), period: 3600, since: Date().addingTimeInterval(-3600))
        #expect(p99.compactMap(\.value).first.map { $0 > 0 } == true)
    }

    @Test func routingKeysAreStickyAndMoveMonotonicallyAsTheWeightGrows() async throws {
        let keys = (0..<5000).map { "user-\($0)" }
        var previous = Set<String>()
        for weight in stride(from: 0.0, through: 1.0, by: 0.05) {
            let target = AliasTarget(functionVersion: 1, additional: .init(version: 2, weight: weight))
            let onNew = Set(keys.filter { TrafficRouter.version(for: target, routingKey: $0, random: 0.99) == 2 })
            #expect(previous.isSubset(of: onNew), "nobody on the new version goes back at weight \(weight)")
            #expect(abs(Double(onNew.count) / Double(keys.count) - weight) < 0.03, "about \(weight) of the keys")
            previous = onNew
        }
        let fixture = try RuntimeFixture()
        try fixture.function("sticky", bootstrap: Bootstraps.python)
        _ = try fixture.registry.updateFunctionConfiguration(
            FunctionReference(name: "sticky"), ConfigurationUpdate(description: "v2"))
        _ = try fixture.registry.publishVersion(FunctionReference(name: "sticky"))
        _ = try fixture.registry.createAlias(
            function: "sticky", name: "live", functionVersion: "1", additionalVersionWeights: ["2": 0.5])
        for key in ["user-1", "user-2", "user-3"] {
            var seen = Set<String>()
            for _ in 0..<20 { seen.insert(try await fixture.invoke("sticky:live", key: key).0.ExecutedVersion) }
            #expect(seen.count == 1, "\(key) always reaches the same version")
        }
        await fixture.pool.shutdown()
    }

    @Test func layersAreLaidOutLikeOptWithBinLibAndPythonOnThePaths() async throws {
        let fixture = try RuntimeFixture()
        let layer = try fixture.registry.publishLayerVersion(
            name: "tools",
            code: try fixture.sandbox.package(
                [
                    "bin/layer-tool": Data("#!/bin/sh\necho from-the-layer\n".utf8),
                    "lib/libfake.so": Data("not really a library".utf8),
                    "python/layermod.py": Data("NAME = 'layer module'\n".utf8),
                    "bootstrap": Data(Bootstraps.python.utf8),
                ], executable: ["bin/layer-tool", "bootstrap"]))
        // The function package has no bootstrap: the layer's is used, as Lambda looks in /opt too.
        try fixture.function("layered", bootstrap: "", layers: [layer.LayerVersionArn], files: ["data.txt": "x"])
        let (result, body) = try await fixture.invoke("layered", ["cmd": "which"])
        #expect(result.FunctionError == nil, "\(result.Payload)")
        #expect(body["tool"] as? String == "from-the-layer")
        #expect(body["lib"] as? Bool == true)
        #expect(body["module"] as? String == "layer module")
        await fixture.pool.shutdown()
    }

    @Test func pythonHandlerRunsThroughAwsRuntimeInterfaceClient() async throws {
        let check = try ChildProcess.run(
            arguments: ["/usr/bin/env", "python3", "-c", "import awslambdaric"],
            environment: ProcessInfo.processInfo.environment, timeout: 60)
        try #require(check.status == 0, "awslambdaric must be installed (pip install awslambdaric; .ci/run does it)")
        let fixture = try RuntimeFixture()
        try fixture.function(
            "py", bootstrap: "", runtime: "python3.11",
            files: [
                "app.py": """
                import os
                def handler(event, context):
                    if event.get("fail"):
                        raise ValueError("bad input")
                    return {"got": event, "fn": context.function_name, "left_ms": context.get_remaining_time_in_millis() > 0}
                """
            ])
        let (ok, body) = try await fixture.invoke("py", ["a": 1])
        #expect(ok.FunctionError == nil, "\(ok.Payload)")
        #expect((body["got"] as? [String: Any])?["a"] as? Int == 1)
        #expect(body["fn"] as? String == "py" && body["left_ms"] as? Bool == true)
        let (failed, error) = try await fixture.invoke("py", ["fail": true])
        #expect(failed.FunctionError == "Unhandled")
        #expect(error["errorType"] as? String == "ValueError" && error["errorMessage"] as? String == "bad input")
        await fixture.pool.shutdown()
    }
}
