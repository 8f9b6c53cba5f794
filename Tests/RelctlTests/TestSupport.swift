import Foundation
import RelctlCore
import RelctlPackages
import RelctlStore
import Testing
import ZIPFoundation

// Shared helpers for the library tests: a temporary data directory per test, real zips built
// from real folders, a reader for a zip's central directory, and error assertions.

/// A temporary folder for one test, with a registry (real SQLite file, real blob store) inside it.
/// Removed when the test's suite instance goes away.
final class Sandbox: @unchecked Sendable {
    let root: URL
    let dataDirectory: URL
    let registry: Registry

    init(clock: @escaping @Sendable () -> Date = { Date() }) throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("relctl-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        dataDirectory = root.appendingPathComponent("data", isDirectory: true)
        registry = try Registry(dataDirectory: dataDirectory, actor: "test", clock: clock)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    /// Another `Registry` on the same data directory, as a second `relctl` process would open it.
    func openAnotherRegistry(clock: @escaping @Sendable () -> Date = { Date() }) throws -> Registry {
        try Registry(dataDirectory: dataDirectory, actor: "test-2", clock: clock)
    }

    // MARK: Packages

    /// Writes `files` into a fresh folder (those in `executable` get mode 0755) and returns the folder.
    func folder(_ files: [String: Data], executable: Set<String> = ["bootstrap"]) throws -> URL {
        let folder = root.appendingPathComponent("src-\(UUID().uuidString)", isDirectory: true)
        for (path, contents) in files {
            let file = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: file)
            try FileManager.default.setAttributes(
                [.posixPermissions: executable.contains(path) ? 0o755 : 0o644], ofItemAtPath: file.path)
        }
        return folder
    }

    /// A real zip made by `PackageBuilder` from a folder, checked by `PackageInspector`.
    func package(_ files: [String: Data], executable: Set<String> = ["bootstrap"]) throws -> InspectedPackage {
        try PackageInspector.inspect(try PackageBuilder.zip(directory: try folder(files, executable: executable)))
    }

    /// A one-file package: an executable `bootstrap` that prints `marker`. `noise` adds that many
    /// incompressible bytes, to make the zip bigger.
    func code(_ marker: String, noise: Int = 0) throws -> InspectedPackage {
        var files = ["bootstrap": Data("#!/bin/sh\necho \(marker)\n".utf8)]
        if noise > 0 { files["noise.bin"] = TestData.noise(noise, seed: TestData.fnv1a(marker)) }
        return try package(files)
    }

    // MARK: Registry shortcuts

    /// Creates a function with the standard settings and returns its `$LATEST` configuration.
    @discardableResult
    func create(
        _ name: String, _ code: InspectedPackage, settings: FunctionSettings = TestData.settings, publish: Bool = false
    ) throws -> FunctionConfiguration {
        try registry.createFunction(name: name, settings: settings, code: code, publish: publish)
    }

    /// Updates `$LATEST`'s code and publishes: the new version's configuration.
    @discardableResult
    func publishNewCode(_ name: String, _ marker: String, description: String? = nil) throws -> FunctionConfiguration {
        _ = try registry.updateFunctionCode(FunctionReference(name: name), code: try code(marker))
        return try registry.publishVersion(FunctionReference(name: name), description: description)
    }

    /// `ListVersionsByFunction`'s `Version` column.
    func versions(_ name: String) throws -> [String] {
        try registry.listVersions(FunctionReference(name: name)).items.map(\.Version)
    }

    func usage() throws -> Int64 {
        try registry.accountSettings().AccountUsage.TotalCodeSize
    }

    /// The blob files on disk (not temporaries), by name.
    func blobFiles() -> [String] {
        registry.blobs.files().filter { !$0.isTemporary }.map(\.name).sorted()
    }

    /// `relctl fsck` finds no problem and nothing for gc to do.
    func expectConsistent(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let report = try registry.checkIntegrity()
        #expect(report.Problems == [], sourceLocation: sourceLocation)
        #expect(report.Notices == [], sourceLocation: sourceLocation)
    }
}

/// A clock that moves one second forward each time it is read, so that every timestamp the
/// registry writes is distinct and ordered.
final class TickingClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(start: Date = Date(timeIntervalSince1970: 1_700_000_000)) { current = start }

    func now() -> Date {
        lock.withLock {
            current = current.addingTimeInterval(1)
            return current
        }
    }
}

enum TestData {
    static let role = "arn:aws:iam::123456789012:role/lambda-role"
    static let settings = FunctionSettings(runtime: "provided.al2023", handler: "bootstrap", role: role)
    static let arnPrefix = "arn:aws:lambda:local:000000000000:function:"

    static let revisionMismatchMessage =
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
    static let unreadableZipPrefix = "Could not unzip uploaded file. Please check your file, then try to upload again."

    /// A stable hash of a text (unlike `hashValue`, the same in every run).
    static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(14695981039346656037 as UInt64) { ($0 ^ UInt64($1)) &* 1099511628211 }
    }

    /// Deterministic bytes that deflate cannot shrink (a 64-bit LCG's high bytes).
    static func noise(_ count: Int, seed: UInt64) -> Data {
        var state = seed | 1
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 56)
        }
        return Data(bytes)
    }

    /// The repository's root, from this file's path (Tests/RelctlTests/TestSupport.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The hostile zip fixtures: the shared folder next to the repository, else the repository's
    /// own copy in Tests/Fixtures/zips. Nil when neither exists.
    static let fixturesDirectory: URL? = {
        // The repository's own copy first: the tests pin its files' hashes, and a checkout beside a
        // newer shared folder must not change what they read.
        let candidates = [
            repositoryRoot.appendingPathComponent("Tests/Fixtures/zips", isDirectory: true),
            repositoryRoot.deletingLastPathComponent().appendingPathComponent(
                "shared/fixtures/zips", isDirectory: true),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("README.md").path) }
    }()
}

/// Writes zips entry by entry, in the order given, including what no builder would write (links
/// to anywhere, files stored under a link), for tests of what inspection and extraction do with them.
enum ZipWriter {
    enum Entry {
        case file(String, Data, mode: UInt16 = 0o644)
        case directory(String)
        case symlink(String, target: String)
    }

    static func zip(_ entries: [Entry]) throws -> Data {
        let archive = try Archive(accessMode: .create)
        for entry in entries {
            let (path, type, contents, mode): (String, ZIPFoundation.Entry.EntryType, Data, UInt16) =
                switch entry {
                case .file(let path, let data, let mode): (path, .file, data, mode)
                case .directory(let path): (path.hasSuffix("/") ? path : path + "/", .directory, Data(), 0o755)
                case .symlink(let path, let target): (path, .symlink, Data(target.utf8), 0o777)
                }
            try archive.addEntry(
                with: path, type: type, uncompressedSize: Int64(contents.count), permissions: mode,
                compressionMethod: type == .file ? .deflate : .none,
                provider: { position, size in contents.subdata(in: Int(position)..<Int(position) + size) })
        }
        return try #require(archive.data)
    }
}

/// Runs `body` and checks it throws a `RelctlError` with `code` (and exactly `message`, or a
/// message starting with `messagePrefix`, when given). Returns the error for further checks.
@discardableResult
func expectRelctlErrorAsync<T>(
    _ code: RelctlError.Code, message: String? = nil, messagePrefix: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async -> RelctlError? {
    do {
        let value = try await body()
        Issue.record(
            "Expected \(code.awsErrorType), but the call succeeded and returned \(value)",
            sourceLocation: sourceLocation)
        return nil
    } catch let error as RelctlError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let message { #expect(error.message == message, sourceLocation: sourceLocation) }
        if let messagePrefix {
            #expect(error.message.hasPrefix(messagePrefix), "\(error.message)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("Expected a RelctlError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@discardableResult
func expectRelctlError<T>(
    _ code: RelctlError.Code, message: String? = nil, messagePrefix: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) -> RelctlError? {
    do {
        let value = try body()
        Issue.record(
            "Expected \(code.awsErrorType), but the call succeeded and returned \(value)",
            sourceLocation: sourceLocation)
        return nil
    } catch let error as RelctlError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let message { #expect(error.message == message, sourceLocation: sourceLocation) }
        if let messagePrefix {
            #expect(error.message.hasPrefix(messagePrefix), "\(error.message)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("Expected a RelctlError \(code.awsErrorType), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Reads a zip's central directory by hand (no ZIPFoundation), to see what a zip really holds.
enum ZipDirectory {
    struct Entry: Equatable {
        var name: String
        /// High byte of "version made by": 3 is Unix, whose permission bits sit in `externalAttributes >> 16`.
        var hostSystem: UInt8
        var externalAttributes: UInt32
        var dosTime: UInt16
        var dosDate: UInt16
        var unixMode: UInt32 { externalAttributes >> 16 }
    }

    static func entries(_ data: Data) -> [Entry]? {
        let bytes = [UInt8](data)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        guard bytes.count >= 22 else { return nil }
        var eocd = bytes.count - 22
        while eocd >= 0, u32(eocd) != 0x0605_4b50 { eocd -= 1 }
        guard eocd >= 0 else { return nil }
        let count = u16(eocd + 10)
        var position = Int(u32(eocd + 16))
        var entries: [Entry] = []
        for _ in 0..<count {
            guard position + 46 <= bytes.count, u32(position) == 0x0201_4b50 else { return nil }
            let nameLength = u16(position + 28), extraLength = u16(position + 30), commentLength = u16(position + 32)
            guard position + 46 + nameLength <= bytes.count else { return nil }
            entries.append(
                Entry(
                    name: String(decoding: bytes[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self),
                    hostSystem: bytes[position + 5], externalAttributes: u32(position + 38),
                    dosTime: UInt16(u16(position + 12)), dosDate: UInt16(u16(position + 14))))
            position += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }
}
