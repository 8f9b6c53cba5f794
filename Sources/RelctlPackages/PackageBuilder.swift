import Foundation
import RelctlCore
import ZIPFoundation

/// Zips a folder into a package, deterministically: sorted entries, fixed timestamps, the files'
/// permission bits kept (an executable `bootstrap` stays executable). The same folder gives the
/// same bytes, hence the same `CodeSha256`.
public enum PackageBuilder {
    public static func zip(directory: URL) throws(RelctlError) -> Data {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RelctlError(.invalidParameterValue, "--dir \(directory.path) is not a folder.")
        }
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        guard let enumerator = fileManager.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw RelctlError(.invalidParameterValue, "Cannot read the folder \(directory.path).")
        }
        var relativePaths: [(path: String, url: URL)] = []
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in enumerator {
            let path = url.resolvingSymlinksInPath().path
            guard path.hasPrefix(prefix) else {
                throw RelctlError(
                    .invalidParameterValue,
                    "\(url.path) points outside \(directory.path); a package holds only its own files.")
            }
            relativePaths.append((String(path.dropFirst(prefix.count)), url))
        }
        relativePaths.sort { $0.path < $1.path }
        let fixedDate = Date(timeIntervalSince1970: 315_532_800)  // 1980-01-01, zip's epoch
        do {
            let archive = try Archive(accessMode: .create)
            for (path, url) in relativePaths {
                let attributes = try fileManager.attributesOfItem(atPath: url.path)
                let permissions = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o644
                switch attributes[.type] as? FileAttributeType {
                case .typeDirectory?:
                    try archive.addEntry(
                        with: path + "/", type: .directory, uncompressedSize: Int64(0), modificationDate: fixedDate,
                        permissions: permissions, provider: { _, _ in Data() })
                case .typeRegular?:
                    let contents = try Data(contentsOf: url)
                    try archive.addEntry(
                        with: path, type: .file, uncompressedSize: Int64(contents.count), modificationDate: fixedDate,
                        permissions: permissions, compressionMethod: .deflate,
                        provider: { position, size in contents.subdata(in: Int(position)..<Int(position) + size) })
                default:
                    throw RelctlError(
                        .invalidParameterValue,
                        "\(url.path) is neither a file nor a folder; a package holds only files and folders.")
                }
            }
            guard let data = archive.data else { throw RelctlError(.service, "The zip archive could not be written.") }
            return data
        } catch let error as RelctlError {
            throw error
        } catch {
            throw RelctlError(.invalidParameterValue, "Cannot zip \(directory.path): \(error)")
        }
    }
}
