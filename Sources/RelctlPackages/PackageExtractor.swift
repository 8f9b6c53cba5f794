import Foundation
import RelctlCore
import RelctlSystem
import ZIPFoundation

/// Writes packages to disk without ever following a symlink, so that not even a package that
/// slipped past `PackageInspector` can write or create anything outside the folder it is given.
///
/// Everything is done relative to a descriptor of that folder: folders are opened one component
/// at a time with `O_NOFOLLOW` (a link where a folder should be is an error, never a detour),
/// files are created with `O_CREAT|O_EXCL|O_NOFOLLOW`, and symlinks are created last with
/// `symlinkat`, after every file is written, so no write can pass through one.
public enum PackageExtractor {
    /// Extracts a zip into `root` (an existing, empty folder): files with their permission bits
    /// (setuid, setgid and sticky dropped), every CRC checked, at most `unzippedAllowance` bytes
    /// inflated and no entry past its declared size.
    public static func extract(
        _ bytes: Data, into root: URL, unzippedAllowance: Int64 = Limits.codeSizeUnzipped
    ) throws(RelctlError) {
        let archive: Archive
        do { archive = try Archive(data: bytes, accessMode: .read) } catch {
            throw PackageInspector.unreadable("the central directory cannot be read")
        }
        let rootFolder = try Folder(opening: root)
        var links: [(path: String, target: String)] = []
        var folderModes: [(path: String, mode: mode_t)] = []
        var unzipped: Int64 = 0
        for entry in archive {
            try PackageInspector.checkPath(entry.path)
            let mode = ((entry.fileAttributes[.posixPermissions] as? NSNumber)?.uint16Value).map { mode_t($0) & 0o777 }
            switch entry.type {
            case .directory:
                _ = try rootFolder.folder(at: entry.path, creating: true)
                if let mode { folderModes.append((entry.path, mode)) }
            case .symlink:
                var target = Data()
                try PackageInspector.inflate(entry, of: archive, allowance: unzippedAllowance, unzipped: &unzipped) {
                    target.append($0)
                }
                links.append((entry.path, String(decoding: target, as: UTF8.self)))
            case .file:
                let (folder, name) = try rootFolder.parent(of: entry.path)
                let file = try folder.createFile(name, path: entry.path)
                defer { close(file) }
                try PackageInspector.inflate(entry, of: archive, allowance: unzippedAllowance, unzipped: &unzipped) {
                    chunk in
                    try Folder.writeAll(chunk, to: file, path: entry.path)
                }
                fchmod(file, mode ?? 0o644)
            }
        }
        for link in links {
            let (folder, name) = try rootFolder.parent(of: link.path)
            try folder.createSymlink(name, target: link.target, path: link.path)
        }
        // Last, so that a read-only folder does not stop its own entries from being written.
        for folder in folderModes {
            try rootFolder.folder(at: folder.path, creating: false).setMode(folder.mode | 0o700)
        }
    }

    /// Copies a folder's tree into another (Lambda's `/opt`: layers merged in order, a later file
    /// replacing an earlier file or symlink), symlinks as symlinks, never following one on either
    /// side. Returns what it wrote, so the merged tree's links can be judged as a whole.
    @discardableResult
    public static func copyTree(from source: URL, into destination: URL) throws(RelctlError) -> [SymlinkRules.Item] {
        var written: [SymlinkRules.Item] = []
        try copy(
            from: try Folder(opening: source), into: try Folder(opening: destination), prefix: "", written: &written)
        return written
    }

    private static func copy(
        from source: Folder, into destination: Folder, prefix: String, written: inout [SymlinkRules.Item]
    ) throws(RelctlError) {
        for name in try source.names() {
            let path = prefix + name
            guard let status = FileStatus.of(name: name, inDirectory: source.fd) else {
                throw Folder.failure("read", path)
            }
            switch status.kind {
            case .folder:
                written.append(.init(path: path, symlinkTarget: nil))
                let target = try destination.replacingFolder(name, path: path)
                try copy(
                    from: try source.folder(at: name, creating: false), into: target, prefix: path + "/",
                    written: &written)
            case .symlink:
                let target = try source.readSymlink(name, path: path)
                try destination.removeNonFolder(name, path: path)
                try destination.createSymlink(name, target: target, path: path)
                written.append(.init(path: path, symlinkTarget: target))
            case .file:
                try destination.removeNonFolder(name, path: path)
                let input = openat(source.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard input >= 0 else { throw Folder.failure("open", path) }
                defer { close(input) }
                let output = try destination.createFile(name, path: path)
                defer { close(output) }
                var buffer = [UInt8](repeating: 0, count: 256 * 1024)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                    if count < 0, errno == EINTR { continue }
                    guard count >= 0 else { throw Folder.failure("read", path) }
                    if count == 0 { break }
                    try Folder.writeAll(Data(buffer[0..<count]), to: output, path: path)
                }
                fchmod(output, mode_t(status.permissions & 0o777))
                written.append(.init(path: path, symlinkTarget: nil))
            case .other:
                throw RelctlError(
                    .invalidParameterValue,
                    "'\(path)' is neither a file, a folder nor a symlink; a package holds only those.")
            }
        }
    }
}

/// An open folder, closed when the value goes away; every name is resolved relative to it.
final class Folder {
    let fd: Int32

    init(opening url: URL) throws(RelctlError) {
        fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open the folder", url.path) }
    }

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    static func failure(_ action: String, _ path: String) -> RelctlError {
        let reason =
            errno == ELOOP || errno == ENOTDIR
            ? "a symlink or a file is where a folder should be, and symlinks are never followed"
            : String(cString: strerror(errno))
        return RelctlError(.invalidParameterValue, "Cannot \(action) '\(path)' in the package: \(reason).")
    }

    /// The folder at a relative path, each component opened without following a symlink.
    func folder(at path: String, creating: Bool) throws(RelctlError) -> Folder {
        var current = self
        for component in SymlinkRules.components(path) {
            let name = String(component)
            var next = openat(current.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, creating {
                guard mkdirat(current.fd, name, 0o755) == 0 || errno == EEXIST else {
                    throw Self.failure("create the folder", path)
                }
                next = openat(current.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard next >= 0 else { throw Self.failure("open the folder", path) }
            current = Folder(fd: next)
        }
        return current
    }

    /// The folder an entry goes in (created as needed) and the entry's own name.
    func parent(of path: String) throws(RelctlError) -> (Folder, String) {
        let components = SymlinkRules.components(path)
        guard let name = components.last else {
            throw RelctlError(
                .invalidParameterValue,
                "Zip entry '\(path)' has no name; entries must be relative paths inside the package.")
        }
        return (try folder(at: components.dropLast().joined(separator: "/"), creating: true), String(name))
    }

    /// A new file (never an existing one, never through a symlink), open for writing.
    func createFile(_ name: String, path: String) throws(RelctlError) -> Int32 {
        let file = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw Self.failure("create the file", path) }
        return file
    }

    func createSymlink(_ name: String, target: String, path: String) throws(RelctlError) {
        guard !target.isEmpty, !target.contains("\0") else {
            throw RelctlError(
                .invalidParameterValue, "Zip entry '\(path)' is a symlink with an empty or NUL-bearing target.")
        }
        guard symlinkat(target, fd, name) == 0 else { throw Self.failure("create the symlink", path) }
    }

    func readSymlink(_ name: String, path: String) throws(RelctlError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(fd, name, &buffer, buffer.count - 1)
        guard count >= 0 else { throw Self.failure("read the symlink", path) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Makes room for a file or symlink: removes a file or symlink of that name, refuses a folder.
    func removeNonFolder(_ name: String, path: String) throws(RelctlError) {
        guard let status = FileStatus.of(name: name, inDirectory: fd) else { return }
        guard status.kind != .folder else {
            throw RelctlError(
                .invalidParameterValue,
                "'\(path)' is a folder in an earlier layer and a file or symlink in a later one; layers cannot replace a folder."
            )
        }
        guard unlinkat(fd, name, 0) == 0 else { throw Self.failure("replace", path) }
    }

    /// The folder of that name, replacing a file or symlink an earlier layer put there.
    func replacingFolder(_ name: String, path: String) throws(RelctlError) -> Folder {
        if let status = FileStatus.of(name: name, inDirectory: fd), status.kind != .folder {
            guard unlinkat(fd, name, 0) == 0 else { throw Self.failure("replace", path) }
        }
        return try folder(at: name, creating: true)
    }

    /// Names in the folder, sorted, without `.` and `..`.
    func names() throws(RelctlError) -> [String] {
        guard let names = DirectoryEntries.names(inDirectory: fd) else { throw Self.failure("list", ".") }
        return names
    }

    func setMode(_ mode: mode_t) throws(RelctlError) {
        guard fchmod(fd, mode) == 0 else { throw Self.failure("set the mode of", ".") }
    }

    static func writeAll(_ data: Data, to file: Int32, path: String) throws(RelctlError) {
        if FileDescriptor.writeAll(data, to: file) != nil { throw failure("write", path) }
    }
}

/// Plain descriptor I/O shared by the package cache and the blob store.
public enum FileDescriptor {
    /// Writes every byte (a write may be short or interrupted); the `errno` of a failure, nil on success.
    public static func writeAll(_ data: Data, to file: Int32) -> Int32? {
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(file, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
    }
}
