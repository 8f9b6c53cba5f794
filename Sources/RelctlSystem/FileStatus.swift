#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// What stat(2) and readdir(3) say, as Swift values. Every other module reads these instead of the C
// structs' fields: under MemberImportVisibility, Linux's Foundation re-exports glibc's `struct stat` and
// `struct dirent` as members of CoreFoundation or CDispatch, whichever module a compile job happened to load
// first, so no import list in a module that imports Foundation stays right across clean and incremental
// builds. This module imports only the C library.

/// A file's type, permission bits, size, identity and times, as `stat`/`lstat`/`fstatat` report them.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, folder, symlink, other
    }

    public var kind: Kind
    /// The permission bits (`st_mode & 0o7777`).
    public var permissions: UInt32
    public var size: Int64
    public var device: UInt64
    public var inode: UInt64
    /// Last modification, as seconds and nanoseconds since 1970.
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64
    /// Last status change (a rename or chmod too), as seconds and nanoseconds since 1970.
    public var changedSeconds: Int64
    public var changedNanoseconds: Int64

    /// `stat` (or `lstat` when `followingSymlinks` is false) of a path; nil when it cannot be read.
    public static func of(path: String, followingSymlinks: Bool = true) -> FileStatus? {
        var info = stat()
        let result = followingSymlinks ? stat(path, &info) : lstat(path, &info)
        return result == 0 ? FileStatus(info) : nil
    }

    /// `fstat` of an open file.
    public static func of(descriptor: Int32) -> FileStatus? {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? FileStatus(info) : nil
    }

    /// `fstatat(directory, name, AT_SYMLINK_NOFOLLOW)`: the entry itself, a symlink never followed.
    public static func of(name: String, inDirectory directory: Int32) -> FileStatus? {
        var info = stat()
        return fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? FileStatus(info) : nil
    }

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .folder
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        permissions = UInt32(info.st_mode & 0o7777)
        size = Int64(info.st_size)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        #if canImport(Darwin)
            modifiedSeconds = Int64(info.st_mtimespec.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
            changedSeconds = Int64(info.st_ctimespec.tv_sec)
            changedNanoseconds = Int64(info.st_ctimespec.tv_nsec)
        #else
            modifiedSeconds = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
            changedSeconds = Int64(info.st_ctim.tv_sec)
            changedNanoseconds = Int64(info.st_ctim.tv_nsec)
        #endif
    }
}

public enum DirectoryEntries {
    /// The names in the open folder `directory` (read through a duplicate of the descriptor, which stays
    /// open and unmoved), without `.` and `..`, sorted; nil when it cannot be listed.
    public static func names(inDirectory directory: Int32) -> [String]? {
        let copy = dup(directory)
        guard copy >= 0 else { return nil }
        guard let stream = fdopendir(copy) else {
            close(copy)
            return nil
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var result: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { result.append(name) }
        }
        return result.sorted()
    }
}
