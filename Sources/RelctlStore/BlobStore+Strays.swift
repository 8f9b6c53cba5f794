import Foundation
import RelctlSystem

extension BlobStore.FileEntry {
    /// A blob's file (as opposed to a temporary one or a stray): a hash name in its own folder.
    public var isBlob: Bool { BlobStore.isBlobName(name, inFolder: url.deletingLastPathComponent().lastPathComponent) }
}

extension BlobStore {
    /// Whether `name` in `folder` is where a blob lives: 64 lowercase hex digits, under the folder
    /// named by its first two.
    static func isBlobName(_ name: String, inFolder folder: String) -> Bool {
        name.utf8.count == 64 && isLowercaseHex(name) && name.hasPrefix(folder) && isBlobFolderName(folder)
    }

    static func isBlobFolderName(_ folder: String) -> Bool { folder.utf8.count == 2 && isLowercaseHex(folder) }

    private static func isLowercaseHex(_ text: String) -> Bool {
        text.utf8.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
        }
    }

    /// Everything under `blobs/` that is neither a blob where its name puts it nor a temporary
    /// file of a write: paths relative to `blobs/`, sorted. Nothing relctl writes is ever here;
    /// a stray is someone's file, so it is reported, never removed.
    public func strayFiles() -> [String] {
        let fileManager = FileManager.default
        func names(_ url: URL) -> [String] { ((try? fileManager.contentsOfDirectory(atPath: url.path)) ?? []).sorted() }
        func isDirectory(_ url: URL) -> Bool {
            FileStatus.of(path: url.path, followingSymlinks: false)?.kind == .folder
        }
        func isRegularFile(_ url: URL) -> Bool {
            FileStatus.of(path: url.path, followingSymlinks: false)?.kind == .file
        }
        let blobsFolder = root.deletingLastPathComponent()
        let algorithm = root.lastPathComponent
        var strays: [String] = []
        for name in names(blobsFolder) where name != algorithm || !isDirectory(root) {
            strays.append(name)
        }
        for folder in names(root) {
            let folderURL = root.appendingPathComponent(folder, isDirectory: true)
            guard isDirectory(folderURL), Self.isBlobFolderName(folder) else {
                strays.append("\(algorithm)/\(folder)")
                continue
            }
            for name in names(folderURL) where !name.hasPrefix(".tmp-") {
                if !Self.isBlobName(name, inFolder: folder) || !isRegularFile(folderURL.appendingPathComponent(name)) {
                    strays.append("\(algorithm)/\(folder)/\(name)")
                }
            }
        }
        return strays
    }
}
