import Foundation
import RelctlCore
import RelctlPackages
import RelctlSystem

/// A blob written to a temporary file in the store and flushed, not yet under its final name.
public struct StagedBlob: Sendable {
    public let sha256Hex: String
    public let size: Int64
    public let unzippedSize: Int64
    let temporaryURL: URL
    /// Keeps a prestaged file alive until the blob is installed or discarded.
    let prestaged: PrestagedFile?
}

/// Content-addressed code files: `blobs/sha256/ab/abcdef…`, immutable once named.
///
/// Writing: temp file in the blob's folder → fsync → (inside the write transaction) rename to the
/// hash → fsync the folder → the row commits. Removing: the row goes first, the file after, in a
/// later write transaction that checks nothing references the hash again (see `Registry`).
public struct BlobStore: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// The blobs of a data directory: `<data-dir>/blobs/sha256`.
    public init(dataDirectory: URL) {
        self.init(root: dataDirectory.appendingPathComponent("blobs/sha256", isDirectory: true))
    }

    public func url(for sha256Hex: String) -> URL {
        root.appendingPathComponent(String(sha256Hex.prefix(2)), isDirectory: true)
            .appendingPathComponent(sha256Hex, isDirectory: false)
    }

    /// Writes and flushes the bytes to a temporary file next to where the blob will live (or takes
    /// the one `inspectAndStage` wrote).
    public func stage(_ package: InspectedPackage) throws(RelctlError) -> StagedBlob {
        // The prestaged file is used once: a second stage of the same package (it was installed) writes again.
        if let prestaged = package.prestaged,
            prestaged.url.deletingLastPathComponent() == folder(for: package.sha256Hex),
            access(prestaged.url.path, F_OK) == 0
        {
            return StagedBlob(
                sha256Hex: package.sha256Hex, size: package.size, unzippedSize: package.unzippedSize,
                temporaryURL: prestaged.url, prestaged: prestaged)
        }
        let temporary = try writeTemporary(package.bytes, sha256Hex: package.sha256Hex)
        return StagedBlob(
            sha256Hex: package.sha256Hex, size: package.size, unzippedSize: package.unzippedSize,
            temporaryURL: temporary,
            prestaged: nil)
    }

    /// `PackageInspector.inspect`, with the bytes hashed, written and flushed to a temporary file in
    /// the store on a second thread while the zip is validated on this one: a publish then costs about
    /// the slower of the two instead of their sum. The temporary file goes away with the returned
    /// package unless `stage`/`install` use it; a package that fails validation leaves nothing behind.
    public func inspectAndStage(
        _ bytes: Data, unzippedAllowance: Int64 = Limits.codeSizeUnzipped,
        zippedLimit: Int64? = Limits.codeSizeZipped
    ) throws(RelctlError) -> InspectedPackage {
        let validation = Slot<Result<PackageInspector.Validation, RelctlError>>()
        let written = Slot<Result<(String, PrestagedFile), RelctlError>>()
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if index == 0 {
                validation.value = Result { () throws(RelctlError) in
                    try PackageInspector.validate(bytes, unzippedAllowance: unzippedAllowance, zippedLimit: zippedLimit)
                }
            } else {
                written.value = Result { () throws(RelctlError) in
                    let hex = CodeHash.hex(of: bytes)
                    return (hex, PrestagedFile(url: try writeTemporary(bytes, sha256Hex: hex)))
                }
            }
        }
        // On failure the PrestagedFile is released here, which removes the temporary file.
        let checked = try validation.value!.get()
        let (hex, file) = try written.value!.get()
        return InspectedPackage(
            bytes: bytes, sha256Hex: hex, unzippedSize: checked.unzippedSize, entryCount: checked.entryCount,
            prestaged: file)
    }

    private func folder(for sha256Hex: String) -> URL {
        url(for: sha256Hex).deletingLastPathComponent()
    }

    private func writeTemporary(_ bytes: Data, sha256Hex: String) throws(RelctlError) -> URL {
        let folder = folder(for: sha256Hex)
        try FileSystem.createDirectory(folder)
        let temporary = folder.appendingPathComponent(".tmp-\(sha256Hex.prefix(16))-\(UUID().uuidString)")
        try FileSystem.writeDurably(bytes, to: temporary)
        return temporary
    }

    /// Gives a staged blob its final name and makes the rename durable. Call inside the write transaction.
    func install(_ staged: StagedBlob) throws(RelctlError) {
        let final = url(for: staged.sha256Hex)
        guard rename(staged.temporaryURL.path, final.path) == 0 else {
            throw RelctlError(
                .service, "Cannot move code into the blob store at \(final.path): \(FileSystem.errnoText())")
        }
        try FileSystem.syncDirectory(final.deletingLastPathComponent())
    }

    func discard(_ staged: StagedBlob) {
        unlink(staged.temporaryURL.path)
    }

    /// Removes a blob file; the caller has checked, holding the write lock, that no row references it.
    func remove(_ sha256Hex: String) {
        guard sha256Hex.isSHA256Hex else { return }
        let file = url(for: sha256Hex)
        if unlink(file.path) == 0 { try? FileSystem.syncDirectory(file.deletingLastPathComponent()) }
    }

    public struct FileEntry: Sendable {
        public let name: String
        public let url: URL
        public let size: Int64
        public let modified: Date
        public var isTemporary: Bool { name.hasPrefix(".tmp-") }
    }

    /// Every file under the store, blobs and leftover temporaries.
    public func files() -> [FileEntry] {
        let fileManager = FileManager.default
        var result: [FileEntry] = []
        guard let folders = try? fileManager.contentsOfDirectory(atPath: root.path) else { return [] }
        for folder in folders.sorted() {
            let folderURL = root.appendingPathComponent(folder, isDirectory: true)
            guard let names = try? fileManager.contentsOfDirectory(atPath: folderURL.path) else { continue }
            for name in names.sorted() {
                let url = folderURL.appendingPathComponent(name)
                guard let status = FileStatus.of(path: url.path) else { continue }
                result.append(
                    FileEntry(
                        name: name, url: url, size: status.size,
                        modified: Date(timeIntervalSince1970: Double(status.modifiedSeconds))))
            }
        }
        return result
    }

    /// Removes the temporary files (left by interrupted writes) last modified before `cutoff`; younger
    /// ones may belong to a write in progress. How many went.
    /// `files`: a listing already made (`files()`), so a caller that walks the store anyway does not walk it twice.
    public func removeTemporaryFiles(modifiedBefore cutoff: Date, of files: [FileEntry]? = nil) -> Int {
        (files ?? self.files()).filter { $0.isTemporary && $0.modified < cutoff && unlink($0.url.path) == 0 }.count
    }

    /// The bytes of a blob. Only a name that is a SHA-256 (64 lowercase hex digits) is ever looked
    /// up, so no name can reach outside the store; a missing blob is ResourceNotFoundException.
    public func read(_ sha256Hex: String) throws(RelctlError) -> Data {
        guard sha256Hex.isSHA256Hex else {
            throw RelctlError(
                .resourceNotFound,
                "No code blob is named '\(sha256Hex.prefix(80))': a blob's name is the 64 lowercase hex digits of its SHA-256."
            )
        }
        let file = url(for: sha256Hex)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw RelctlError(
                .resourceNotFound,
                "The code blob \(sha256Hex) is not in the blob store (`relctl fsck` checks the store).")
        }
        do {
            return try Data(contentsOf: file)
        } catch {
            throw RelctlError(.service, "Cannot read the code blob \(sha256Hex): \(error.localizedDescription)")
        }
    }
}

enum FileSystem {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    static func createDirectory(_ url: URL) throws(RelctlError) {
        do {
            try FileManager.default.createDirectory(
                at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw RelctlError(.service, "Cannot create the folder \(url.path): \(error.localizedDescription)")
        }
    }

    /// write → fsync → close: the bytes are on disk before anything refers to them.
    static func writeDurably(_ data: Data, to url: URL) throws(RelctlError) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RelctlError(.service, "Cannot create \(url.path): \(errnoText())") }
        var failure = FileDescriptor.writeAll(data, to: fd).map { String(cString: strerror($0)) }
        if failure == nil, fsync(fd) != 0 { failure = errnoText() }
        close(fd)
        if let failure {
            unlink(url.path)
            throw RelctlError(.service, "Cannot write \(url.path): \(failure)")
        }
    }

    static func syncDirectory(_ url: URL) throws(RelctlError) {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw RelctlError(.service, "Cannot open the folder \(url.path): \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw RelctlError(.service, "Cannot flush the folder \(url.path): \(errnoText())") }
    }
}

/// One result written by a `concurrentPerform` iteration and read after it returns.
private final class Slot<Value>: @unchecked Sendable {
    var value: Value?
}
