import Foundation
import RelctlCore
import RelctlPackages
import RelctlStore
import Testing

@testable import RelctlRuntime

/// One hostile or broken zip of the shared fixture folder and what `PackageInspector` must do with it.
struct ZipFixture: Sendable, CustomTestStringConvertible {
    enum Expectation: Sendable {
        /// Accepted with exactly these entry names (UTF-8 preserved), in central-directory order.
        case accepted(entries: [String], unzippedSize: Int64)
        /// Refused with `InvalidParameterValueException` and a message that starts with `prefix`
        /// and contains `detail`.
        case refused(prefix: String, detail: String)
    }

    var file: String
    var expectation: Expectation
    var testDescription: String { file }

    static let all: [ZipFixture] = [
        .init(file: "ok-minimal.zip", expectation: .accepted(entries: ["bootstrap"], unzippedSize: 18)),
        .init(
            file: "unicode-names.zip",
            expectation: .accepted(
                entries: ["bootstrap", "données/événement.json", "日本/語.txt"], unzippedSize: 21)),
        .init(file: "no-entries.zip", expectation: .accepted(entries: [], unzippedSize: 0)),
        .init(
            file: "slip-dotdot.zip", expectation: .refused(prefix: "Zip entry '../evil.txt'", detail: "contains '..'")),
        .init(
            file: "slip-nested-dotdot.zip",
            expectation: .refused(prefix: "Zip entry 'a/b/../../../evil.txt'", detail: "contains '..'")),
        .init(
            file: "slip-absolute.zip",
            expectation: .refused(prefix: "Zip entry '/evil.txt'", detail: "is an absolute path")),
        .init(
            file: "slip-backslash.zip",
            expectation: .refused(prefix: "Zip entry '..\\evil.txt'", detail: "contains a backslash")),
        .init(
            file: "symlink-outside.zip",
            expectation: .refused(prefix: "Zip entry 'passwd-link' is a symlink", detail: "/etc/passwd")),
        .init(
            file: "bomb-declared.zip",
            expectation: .refused(prefix: "Unzipped size must be smaller than 262144000 bytes", detail: "")),
        .init(
            file: "bomb-lying-sizes.zip",
            expectation: .refused(prefix: TestData.unreadableZipPrefix, detail: "zeros.bin")),
        .init(file: "bad-crc.zip", expectation: .refused(prefix: TestData.unreadableZipPrefix, detail: "bootstrap")),
        .init(file: "truncated.zip", expectation: .refused(prefix: TestData.unreadableZipPrefix, detail: "")),
        .init(file: "not-a-zip.zip", expectation: .refused(prefix: TestData.unreadableZipPrefix, detail: "")),
        .init(file: "empty-file.zip", expectation: .refused(prefix: TestData.unreadableZipPrefix, detail: "empty")),
        .init(
            file: "duplicate-names.zip",
            expectation: .refused(prefix: "The package has two entries named 'bootstrap'", detail: "")),
        .init(
            file: "symlink-chain.zip",
            expectation: .refused(prefix: "Zip entry 'up' is a symlink", detail: "leads outside the package")),
        .init(
            file: "symlink-chain-read.zip",
            expectation: .refused(prefix: "Zip entry 'pw' is a symlink", detail: "leads outside the package")),
    ]

    func bytes() throws -> Data {
        let folder = try #require(TestData.fixturesDirectory, "the zip fixture folder is missing")
        return try Data(contentsOf: folder.appendingPathComponent(file))
    }
}

@Suite("Zip packages: inspection, hashing, deterministic building")
struct PackageTests {
    let sandbox: Sandbox
    init() throws { sandbox = try Sandbox() }

    static let fixturesPresent = TestData.fixturesDirectory != nil
    static let fixturesAbsent: Comment =
        "The zip fixture folder (../shared/fixtures/zips next to the repository, or Tests/Fixtures/zips) is absent; fixture tests skipped."

    // MARK: Fixtures

    @Test(.enabled(if: fixturesPresent, fixturesAbsent))
    func everyFixtureInTheFolderHasAnExpectedOutcome() throws {
        let folder = try #require(TestData.fixturesDirectory)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".zip") }
            .sorted()
        #expect(files == ZipFixture.all.map(\.file).sorted())
    }

    @Test(.enabled(if: fixturesPresent, fixturesAbsent), arguments: ZipFixture.all)
    func fixtureIsAcceptedOrRefusedAsDocumented(_ fixture: ZipFixture) throws {
        let bytes = try fixture.bytes()
        switch fixture.expectation {
        case .accepted(let entries, let unzippedSize):
            let package = try PackageInspector.inspect(bytes)
            #expect(package.entryCount == entries.count)
            #expect(package.unzippedSize == unzippedSize)
            #expect(package.size == Int64(bytes.count))
            #expect(package.bytes == bytes)
            #expect(ZipDirectory.entries(bytes)?.map(\.name) == entries, "entry names survive as UTF-8")
        case .refused(let prefix, let detail):
            let error = expectRelctlError(.invalidParameterValue, messagePrefix: prefix) {
                try PackageInspector.inspect(bytes)
            }
            if !detail.isEmpty, let error {
                #expect(error.message.contains(detail), "\(error.message)")
            }
        }
    }

    /// Validation on one thread while the bytes are hashed and written on another: the same
    /// verdict as `inspect` for every fixture, and no temporary file left in the store either way.
    @Test(.enabled(if: fixturesPresent, fixturesAbsent), arguments: ZipFixture.all)
    func inspectAndStageGivesInspectsVerdictAndLeavesNoTemporaryFile(_ fixture: ZipFixture) throws {
        let bytes = try fixture.bytes()
        let store = sandbox.registry.blobs
        switch fixture.expectation {
        case .accepted:
            let expected = try PackageInspector.inspect(bytes)
            let package = try store.inspectAndStage(bytes)
            #expect(package.sha256Hex == expected.sha256Hex)
            #expect(package.unzippedSize == expected.unzippedSize)
            #expect(package.entryCount == expected.entryCount)
            let staged = try #require(package.prestaged)
            #expect(try Data(contentsOf: staged.url) == bytes, "the prestaged file holds the package's bytes")
            let name = "f" + String(package.sha256Hex.prefix(12))
            _ = try sandbox.create(name, package)
            #expect(FileManager.default.fileExists(atPath: store.url(for: package.sha256Hex).path))
            #expect(!FileManager.default.fileExists(atPath: staged.url.path), "renamed into place, not copied")
        case .refused(let prefix, _):
            _ = expectRelctlError(.invalidParameterValue, messagePrefix: prefix) { try store.inspectAndStage(bytes) }
        }
        #expect(store.files().filter(\.isTemporary).map(\.name) == [])
        try sandbox.expectConsistent()
    }

    @Test func aStagedPackageThatIsNeverUsedTakesItsTemporaryFileWithIt() throws {
        let store = sandbox.registry.blobs
        var package: InspectedPackage? = try sandbox.package(["bootstrap": Data("#!/bin/sh\necho unused\n".utf8)])
        package = try store.inspectAndStage(package!.bytes)
        let url = try #require(package?.prestaged?.url)
        #expect(FileManager.default.fileExists(atPath: url.path))
        package = nil
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(store.files().filter(\.isTemporary).isEmpty)
    }

    @Test(.enabled(if: fixturesPresent, fixturesAbsent))
    func acceptedFixturesCanBeCreatedAsFunctions() throws {
        for fixture in ZipFixture.all {
            guard case .accepted = fixture.expectation else { continue }
            let package = try PackageInspector.inspect(try fixture.bytes())
            let name = fixture.file.replacingOccurrences(of: ".zip", with: "")
            let created = try sandbox.create(name, package)
            #expect(created.CodeSize == package.size)
            #expect(created.CodeSha256 == package.codeSha256)
        }
        try sandbox.expectConsistent()
    }

    @Test(.enabled(if: fixturesPresent, fixturesAbsent))
    func codeSha256IsBase64OfTheSha256OfTheZipBytes() throws {
        let fixture = try #require(ZipFixture.all.first { $0.file == "ok-minimal.zip" })
        let package = try PackageInspector.inspect(try fixture.bytes())
        // `sha256sum ok-minimal.zip`, and the same digest base64-encoded.
        #expect(package.sha256Hex == "3aa207926d2b0a68311f603e507772f5b43bb45a620f533cd99131790c133c27")
        #expect(package.codeSha256 == "OqIHkm0rCmgxH2A+UHdy9bQ7tFpiD1M82ZExeQwTPCc=")
    }

    // MARK: Symlinks

    /// `x → .`, then `up → x/x/…/../…/<target>` with enough `..` to reach `/` from `root`, then a
    /// file `up/pwned.txt`: the chain of the issue, aimed at `target` instead of /tmp/escaped.
    static func chainZip(from root: URL, to target: URL) throws -> Data {
        let depth = root.standardizedFileURL.pathComponents.count - 1
        let up =
            String(repeating: "x/", count: depth + 2) + String(repeating: "../", count: depth + 2)
            + target.path.dropFirst()
        return try ZipWriter.zip([
            .file("bootstrap", Data("#!/bin/sh\nexit 1\n".utf8), mode: 0o755),
            .symlink("x", target: "."),
            .symlink("up", target: up),
            .file("up/pwned.txt", Data("written outside the package\n".utf8)),
        ])
    }

    func emptyFolder(_ name: String) throws -> URL {
        let folder = sandbox.root.appendingPathComponent("\(name)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    func contents(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test func aSymlinkChainThatLeavesThePackageIsRefusedAtUpload() throws {
        let bytes = try Self.chainZip(from: try emptyFolder("root"), to: try emptyFolder("escaped"))
        expectRelctlError(.invalidParameterValue, messagePrefix: "Zip entry 'up' is a symlink to 'x/x/") {
            try PackageInspector.inspect(bytes)
        }
    }

    @Test func theExtractorNeverWritesThroughASymlinkChainEvenWithoutInspection() throws {
        let root = try emptyFolder("root")
        let escaped = try emptyFolder("escaped")
        let bytes = try Self.chainZip(from: root, to: escaped)
        expectRelctlError(.invalidParameterValue) { try PackageExtractor.extract(bytes, into: root) }
        #expect(try contents(escaped) == [], "nothing written or created outside the root")
        #expect(!FileManager.default.fileExists(atPath: escaped.appendingPathComponent("pwned.txt").path))
    }

    @Test func theExtractorNeverFollowsALinkAlreadyInItsFolder() throws {
        // As if a link had been placed before the files (the order an attacker would choose).
        let root = try emptyFolder("root")
        let escaped = try emptyFolder("escaped")
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("up").path, withDestinationPath: escaped.path)
        let bytes = try ZipWriter.zip([.directory("up/deeper"), .file("up/pwned.txt", Data("x".utf8))])
        let error = expectRelctlError(.invalidParameterValue) { try PackageExtractor.extract(bytes, into: root) }
        #expect(error?.message.contains("symlinks are never followed") == true, "\(String(describing: error))")
        #expect(try contents(escaped) == [])
    }

    @Test func aPackageWithInternalSymlinksUploadsAndExtractsWithItsLinksIntact() throws {
        let library = Data("\u{7F}ELF not really".utf8)
        let bytes = try ZipWriter.zip([
            .file("bootstrap", Data("#!/bin/sh\nexec lib/tool\n".utf8), mode: 0o755),
            .directory("lib"),
            .file("lib/libx.so.1.2.3", library, mode: 0o755),
            .symlink("lib/libx.so.1", target: "libx.so.1.2.3"),
            .symlink("lib/libx.so", target: "libx.so.1"),
            .symlink("lib64", target: "lib"),
            .symlink("bin/libx", target: "../lib64/libx.so"),
            .symlink("dangling", target: "not/in/the/package"),
        ])
        let package = try PackageInspector.inspect(bytes)
        try sandbox.create("with-links", package)

        let root = try emptyFolder("root")
        try PackageExtractor.extract(bytes, into: root)
        let fileManager = FileManager.default
        #expect(
            try fileManager.destinationOfSymbolicLink(atPath: root.appendingPathComponent("lib/libx.so").path)
                == "libx.so.1")
        #expect(
            try fileManager.destinationOfSymbolicLink(atPath: root.appendingPathComponent("lib/libx.so.1").path)
                == "libx.so.1.2.3")
        #expect(try fileManager.destinationOfSymbolicLink(atPath: root.appendingPathComponent("lib64").path) == "lib")
        #expect(
            try fileManager.destinationOfSymbolicLink(atPath: root.appendingPathComponent("dangling").path)
                == "not/in/the/package")
        #expect(
            try Data(contentsOf: root.appendingPathComponent("bin/libx")) == library,
            "the chain resolves inside the package")
        let mode =
            try fileManager.attributesOfItem(atPath: root.appendingPathComponent("bootstrap").path)[.posixPermissions]
            as? Int
        #expect(mode == 0o755, "the executable bit survives")
        #expect(try contents(root) == ["bin", "bootstrap", "dangling", "lib", "lib64"])
    }

    @Test(
        arguments: [
            (
                "libfoo.so → libfoo.so.1 → file",
                [("lib/libfoo.so.1.0", nil), ("lib/libfoo.so.1", "libfoo.so.1.0"), ("lib/libfoo.so", "libfoo.so.1")],
                nil
            ),
            (
                "a link to a folder, used by another link",
                [("lib/a", nil), ("lib64", "lib"), ("b", "lib64/../lib64/a")], nil
            ),
            ("x → . used inside", [("x", "."), ("y", "x/x/x/bootstrap"), ("bootstrap", nil)], nil),
            (
                "x → . then up past the root", [("x", "."), ("up", "x/x/x/../../..")],
                "Zip entry 'up' is a symlink to 'x/x/x/../../..', which leads outside the package"
            ),
            (
                "a chain whose second link escapes", [("a", "b/c"), ("b", "d/.."), ("d", "..")],
                "Zip entry 'd' is a symlink to '..', which leads outside the package"
            ),
            (
                "a folder link that is deeper than its target", [("a/b/c", "../.."), ("up", "a/b/c/..")],
                "Zip entry 'up' is a symlink to 'a/b/c/..', which leads outside the package"
            ),
            ("a loop", [("a", "b"), ("b", "a")], "is part of a symlink loop"),
            ("a link to itself", [("a", "a")], "is part of a symlink loop"),
            (
                "an absolute target", [("a", "/etc")],
                "Zip entry 'a' is a symlink to '/etc', which has an absolute target"
            ),
            ("an empty target", [("a", "")], "which has an empty target"),
            (
                "a file under a link", [("lib64", "lib"), ("lib/", nil), ("lib64/x", nil)],
                "Zip entry 'lib64/x' lies under 'lib64', which is a symlink"
            ),
            ("a link named like the root", [("./", "lib")], "names the package's root itself"),
        ] as [(String, [(String, String?)], String?)])
    func symlinkRulesFollowEveryLinkOfThePackage(_ name: String, _ entries: [(String, String?)], _ refusal: String?) {
        let items = entries.map { SymlinkRules.Item(path: $0.0, symlinkTarget: $0.1) }
        if let refusal {
            let error = expectRelctlError(.invalidParameterValue) { try SymlinkRules.check(items) }
            #expect(error?.message.contains(refusal) == true, "\(name): \(String(describing: error?.message))")
        } else {
            #expect(throws: Never.self, "\(name)") { try SymlinkRules.check(items) }
        }
    }

    @Test func aChainOfMoreThanFortyLinksIsRefused() {
        let chain =
            (0..<41).map { SymlinkRules.Item(path: "l\($0)", symlinkTarget: "l\($0 + 1)") } + [
                .init(path: "l41", symlinkTarget: nil)
            ]
        expectRelctlError(.invalidParameterValue) { try SymlinkRules.check(chain) }
        #expect(throws: Never.self, "forty links in a row, as Linux follows") {
            try SymlinkRules.check(Array(chain.suffix(41)))
        }
    }

    @Test func mergingLayersCopiesLinksAsLinksAndNeverWritesThroughOne() throws {
        let first = try sandbox.folder(["lib/libx.so.1": Data("one".utf8)], executable: [])
        try FileManager.default.createSymbolicLink(
            atPath: first.appendingPathComponent("lib/libx.so").path, withDestinationPath: "libx.so.1")
        let outside = try emptyFolder("outside")
        let merged = try emptyFolder("opt")
        // A link an earlier layer left where a later layer has a folder: replaced, never followed.
        try FileManager.default.createSymbolicLink(
            atPath: merged.appendingPathComponent("python").path, withDestinationPath: outside.path)
        let second = try sandbox.folder(
            ["python/site.py": Data("two".utf8), "lib/libx.so.1": Data("newer".utf8)], executable: [])

        let written =
            try PackageExtractor.copyTree(from: first, into: merged)
            + PackageExtractor.copyTree(from: second, into: merged)
        #expect(try contents(outside) == [])
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: merged.appendingPathComponent("lib/libx.so").path)
                == "libx.so.1")
        #expect(
            try String(contentsOf: merged.appendingPathComponent("lib/libx.so"), encoding: .utf8) == "newer",
            "a later layer's file wins")
        #expect(try String(contentsOf: merged.appendingPathComponent("python/site.py"), encoding: .utf8) == "two")
        #expect(written.first { $0.path == "lib/libx.so" }?.symlinkTarget == "libx.so.1")
    }

    @Test func theFirstInvokeNeverWritesThroughASymlinkChain() async throws {
        // The blob as if it had been stored before the upload checks knew about chains.
        let escaped = try emptyFolder("escaped")
        let cacheFolder = sandbox.dataDirectory.appendingPathComponent("cache", isDirectory: true)
        try FileManager.default.createDirectory(at: cacheFolder, withIntermediateDirectories: true)
        let bytes = try Self.chainZip(
            from: cacheFolder.appendingPathComponent(".tmp-\(UUID().uuidString)"), to: escaped)
        let hash = CodeHash.hex(of: bytes)
        let blob = sandbox.registry.blobs.url(for: hash)
        try FileManager.default.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.write(to: blob)

        let cache = PackageCache(dataDirectory: sandbox.dataDirectory, blobs: sandbox.registry.blobs)
        await #expect(throws: RelctlError.self) { try await cache.extracted(hash) }
        #expect(try contents(escaped) == [], "nothing written or created outside the package")
    }

    // MARK: Hashing

    @Test func codeHashMatchesKnownSha256Vectors() {
        // FIPS 180-2 test vectors.
        #expect(
            CodeHash.hex(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(CodeHash.hex(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            CodeHash.base64(fromHex: CodeHash.hex(of: Data("abc".utf8)))
                == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        #expect(CodeHash.base64(fromHex: CodeHash.hex(of: Data())) == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    }

    @Test func inspectedPackageReportsHashSizeAndEntries() throws {
        let package = try sandbox.package([
            "bootstrap": Data("#!/bin/sh\necho hi\n".utf8),
            "lib/data.txt": Data(repeating: 65, count: 1000),
        ])
        #expect(package.sha256Hex == CodeHash.hex(of: package.bytes))
        #expect(package.codeSha256 == CodeHash.base64(fromHex: package.sha256Hex))
        #expect(Data(base64Encoded: package.codeSha256)?.count == 32)
        #expect(package.size == Int64(package.bytes.count))
        #expect(package.unzippedSize == 18 + 1000)
        // bootstrap, lib/, lib/data.txt
        #expect(package.entryCount == 3)
    }

    // MARK: Size limits

    @Test func zipOver50MBIsRefusedAsRequestEntityTooLarge() {
        let oversized = Data(count: Int(Limits.codeSizeZipped) + 1)
        expectRelctlError(.requestEntityTooLarge, message: "Zipped size must be smaller than 52428800 bytes") {
            try PackageInspector.inspect(oversized)
        }
        #expect(RelctlError.Code.requestEntityTooLarge.httpStatus == 413)
    }

    @Test func zipOfExactly50MBIsNotRefusedForItsSize() throws {
        // A small zip at the end of exactly 50 MB: its end record is found at once, so this stays fast.
        // Whatever the inspector then makes of the leading bytes, it must not be the size limit.
        let zip = try PackageBuilder.zip(directory: try sandbox.folder(["bootstrap": Data("#!/bin/sh\n".utf8)]))
        let atLimit = Data(count: Int(Limits.codeSizeZipped) - zip.count) + zip
        #expect(atLimit.count == 52_428_800)
        do {
            _ = try PackageInspector.inspect(atLimit)
        } catch {
            #expect(error.code != .requestEntityTooLarge, "\(error)")
        }
    }

    @Test func unzippedAllowanceIsEnforcedFromDeclaredSizes() throws {
        let package = try sandbox.package([
            "bootstrap": Data("#!/bin/sh\n".utf8), "big.txt": Data(repeating: 0, count: 10_000),
        ])
        expectRelctlError(.invalidParameterValue, message: "Unzipped size must be smaller than 262144000 bytes") {
            try PackageInspector.inspect(package.bytes, unzippedAllowance: 5_000)
        }
        #expect(
            try PackageInspector.inspect(package.bytes, unzippedAllowance: package.unzippedSize).unzippedSize
                == package.unzippedSize)
    }

    // MARK: PackageBuilder

    @Test func packageBuilderIsDeterministicForTheSameFolder() throws {
        let folder = try sandbox.folder([
            "bootstrap": Data("#!/bin/sh\necho same\n".utf8),
            "z/last.txt": Data("z".utf8),
            "a/first.txt": Data("a".utf8),
        ])
        let first = try PackageBuilder.zip(directory: folder)
        // Touching the files (new modification times) must not change the bytes.
        for path in ["bootstrap", "z/last.txt", "a/first.txt"] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 2_000_000_000)],
                ofItemAtPath: folder.appendingPathComponent(path).path)
        }
        let second = try PackageBuilder.zip(directory: folder)
        #expect(first == second)
        #expect(try PackageInspector.inspect(first).codeSha256 == PackageInspector.inspect(second).codeSha256)
    }

    @Test func packageBuilderGivesTheSameBytesForTheSameContentInAnotherFolder() throws {
        let files = ["bootstrap": Data("#!/bin/sh\necho same\n".utf8), "lib/x.txt": Data("x".utf8)]
        let one = try PackageBuilder.zip(directory: try sandbox.folder(files))
        let two = try PackageBuilder.zip(directory: try sandbox.folder(files))
        #expect(one == two)
    }

    @Test func packageBuilderSortsEntriesAndKeepsTheExecutableBit() throws {
        let bytes = try PackageBuilder.zip(
            directory: try sandbox.folder(
                [
                    "bootstrap": Data("#!/bin/sh\necho x\n".utf8),
                    "lib/helper.sh": Data("echo helper\n".utf8),
                    "README.txt": Data("read me\n".utf8),
                ], executable: ["bootstrap", "lib/helper.sh"]))
        let entries = try #require(ZipDirectory.entries(bytes))
        #expect(entries.map(\.name) == ["README.txt", "bootstrap", "lib/", "lib/helper.sh"])
        let modes = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.unixMode & 0o777) })
        #expect(entries.allSatisfy { $0.hostSystem == 3 }, "made by Unix, so the mode bits are meaningful")
        #expect(modes["bootstrap"] == 0o755)
        #expect(modes["lib/helper.sh"] == 0o755)
        #expect(modes["README.txt"] == 0o644)
        // Fixed timestamps: every entry carries the same DOS date and time.
        #expect(Set(entries.map(\.dosDate)).count == 1)
        #expect(Set(entries.map(\.dosTime)).count == 1)
        // And the result is a package the inspector accepts, with the content inflating back.
        let package = try PackageInspector.inspect(bytes)
        #expect(package.entryCount == 4)
        #expect(
            package.unzippedSize
                == Int64("#!/bin/sh\necho x\n".utf8.count + "echo helper\n".utf8.count + "read me\n".utf8.count))
    }

    @Test func packageBuilderRefusesAFileThatIsNotAFolder() throws {
        let folder = try sandbox.folder(["bootstrap": Data("x".utf8)])
        expectRelctlError(.invalidParameterValue) {
            try PackageBuilder.zip(directory: folder.appendingPathComponent("bootstrap"))
        }
        expectRelctlError(.invalidParameterValue) {
            try PackageBuilder.zip(directory: folder.appendingPathComponent("missing"))
        }
    }

    @Test func packageBuilderRefusesASymlinkPointingOutsideTheFolder() throws {
        let folder = try sandbox.folder(["bootstrap": Data("#!/bin/sh\n".utf8)])
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent("passwd").path, withDestinationPath: "/etc/passwd")
        expectRelctlError(.invalidParameterValue) {
            try PackageBuilder.zip(directory: folder)
        }
    }
}
