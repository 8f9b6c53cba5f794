import Foundation
import RelctlCore
import RelctlProcess
import RelctlStore
import Testing

@testable import RelctlRuntime

/// What a function instance can see and do, and that nothing it starts outlives it (issue 8).
@Suite("Sandboxed instances", .serialized)
struct SandboxTests {
    static func probe(_ fixture: RuntimeFixture, name: String, marker: String) throws {
        try fixture.function(
            name, bootstrap: Bootstraps.probe,
            env: ["DATA_DIR": fixture.sandbox.dataDirectory.path, "PROBE_MARKER": marker])
    }

    @Test func insideTheSandboxAFunctionSeesNothingOfRelctl() async throws {
        try #require(
            Containment.bubblewrap != nil,
            "bubblewrap must work here (apt-get install -y bubblewrap; the README's test command installs it)")
        let fixture = try RuntimeFixture()
        let marker = UUID().uuidString
        try Self.probe(fixture, name: "probe", marker: marker)
        let tmpName = "relctl-probe-\(UUID().uuidString)"
        let (result, seen) = try await fixture.invoke("probe", ["tmpName": tmpName])
        #expect(result.FunctionError == nil, "\(result.Payload)")
        // A clean descriptor table: stdin, the log, and the listing's own directory handle; none of
        // relctl's sockets, event fds or the test runner's pipes.
        let fds = seen["fds"] as? [String: String] ?? [:]
        #expect(!fds.isEmpty)
        for (fd, target) in fds where !["0", "1", "2"].contains(fd) {
            #expect(target.hasPrefix("/proc/"), "descriptor \(fd) → \(target) was inherited from relctl")
        }
        #expect(seen["readRegistry"] as? String != "allowed", "the registry is out of sight")
        #expect(seen["listData"] as? String != "allowed", "the blobs are out of sight")
        #expect(seen["writeData"] as? String != "allowed")
        #expect(seen["writeTask"] as? String != "allowed", "/var/task is read-only")
        #expect(seen["writeTmp"] as? String == "allowed", "/tmp is writable")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(tmpName)"), "and private to the instance")
        #expect(
            !FileManager.default.fileExists(
                atPath: fixture.sandbox.dataDirectory.appendingPathComponent("planted.txt").path))
        #expect(seen["relctlVariables"] as? [String] == [], "no RELCTL_HOME, RELCTL_BIN or keys of relctl's")
        #expect(seen["pid"] as? Int == 2, "its own PID namespace (bubblewrap's init is 1)")
        await fixture.pool.shutdown()
    }

    @Test func aSetsidChildAndADoubleForkDieWithTheInstance() async throws {
        try #require(Containment.bubblewrap != nil, "bubblewrap must work here")
        let fixture = try RuntimeFixture()
        let marker = UUID().uuidString
        try Self.probe(fixture, name: "spawner", marker: marker)
        let (result, _) = try await fixture.invoke("spawner", ["spawn": true])
        #expect(result.FunctionError == nil, "\(result.Payload)")
        #expect(
            ProcessTable.pids(withEnvironment: "PROBE_MARKER", marker).count >= 3,
            "the instance, a setsid child and a double-forked one")
        await fixture.pool.shutdown()
        #expect(
            ProcessTable.waitUntilGone("PROBE_MARKER", marker, timeout: 10) == [],
            "nothing the function started outlives its instance")
    }

    @Test func withTheSandboxOffAFunctionStillGetsNoDescriptorsNorRelctlsVariables() async throws {
        let fixture = try RuntimeFixture()
        try fixture.registry.setSetting("sandbox", "off")
        let marker = UUID().uuidString
        try Self.probe(fixture, name: "plain", marker: marker)
        let (result, seen) = try await fixture.invoke("plain", ["tmpName": "relctl-plain-\(UUID().uuidString)"])
        #expect(result.FunctionError == nil, "\(result.Payload)")
        for (fd, target) in seen["fds"] as? [String: String] ?? [:] where !["0", "1", "2"].contains(fd) {
            #expect(target.hasPrefix("/proc/"), "descriptor \(fd) → \(target) was inherited from relctl")
        }
        #expect(seen["relctlVariables"] as? [String] == [])
        #expect(
            seen["readRegistry"] as? String == "allowed",
            "without the sandbox the host's files are in view, as the README says")
        await fixture.pool.shutdown()
        #expect(ProcessTable.waitUntilGone("PROBE_MARKER", marker, timeout: 10) == [])
    }

    @Test func theSandboxSettingSaysWhatIsAllowed() throws {
        let fixture = try RuntimeFixture()
        let refused = expectRelctlError(.invalidParameterValue) { try fixture.registry.setSetting("sandbox", "maybe") }
        #expect(refused?.message.contains("auto") == true && refused?.message.contains("off") == true)
        try fixture.registry.setSetting("sandbox", "off")
        #expect(try fixture.registry.setting("sandbox") == "off")
        #expect(try RelctlRuntime.Sandbox.resolve(.off).isolated == false)
        let missing = expectRelctlError(.service) { try RelctlRuntime.Sandbox.resolve(.on, bubblewrap: nil) }
        #expect(missing?.message.contains("apt-get install -y bubblewrap") == true)
        #expect(
            try RelctlRuntime.Sandbox.resolve(.auto, bubblewrap: nil).isolated == false,
            "auto falls back (with a notice)")
    }

    @Test func aPackageThatCannotBeExtractedIsAFunctionErrorNotAServerError() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function("broken", bootstrap: "#!/bin/sh\nexit 0\n" + String(repeating: "# padding\n", count: 200))
        // Damage the stored package behind the registry's back (a disk error, a bad restore).
        for blob in fixture.sandbox.blobFiles() {
            let url = fixture.registry.blobs.url(for: blob)
            let path = url.path
            let bytes = try Data(contentsOf: url).prefix(100)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            try bytes.write(to: url)
        }
        let (result, error) = try await fixture.invoke("broken")
        #expect(result.FunctionError == "Unhandled")
        #expect(error["errorType"] as? String == "Runtime.InvalidPackage", "\(result.Payload)")
        #expect((error["errorMessage"] as? String)?.contains("cannot be extracted") == true)
        await fixture.pool.shutdown()
    }

    @Test func aMissingRuntimeInterfaceClientSaysHowToInstallIt() throws {
        // The real message of a python that cannot import awslambdaric (-S: no site-packages).
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("relctl-ric-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let run = try ChildProcess.run(
            arguments: ["/usr/bin/env", "python3", "-S", "-m", "awslambdaric", "app.handler"],
            environment: ProcessInfo.processInfo.environment, timeout: 60)
        #expect(run.status != 0)
        try Data(run.stderr.utf8).write(to: log)
        let message = try #require(Instance.missingInterpreterPiece(runtime: "python3.12", log: log))
        #expect(message.contains("No module named 'awslambdaric'"))
        #expect(message.contains("python3 -m pip install awslambdaric"))
        #expect(
            Instance.missingInterpreterPiece(runtime: "provided.al2023", log: log) == nil, "only python3.x needs it")
    }

    @Test func aMissingHandlerModuleIsAnImportModuleError() async throws {
        let fixture = try RuntimeFixture()
        try fixture.function(
            "nohandler", bootstrap: "", runtime: "python3.11", handler: "missing_module.handler",
            files: ["app.py": "x = 1\n"])
        let (result, error) = try await fixture.invoke("nohandler")
        #expect(result.FunctionError == "Unhandled")
        #expect(error["errorType"] as? String == "Runtime.ImportModuleError", "\(result.Payload)")
        #expect((error["errorMessage"] as? String)?.contains("missing_module") == true)
        await fixture.pool.shutdown()
    }
}
