import Foundation
import RelctlCore
import RelctlPackages
import RelctlStore
import ZIPFoundation

/// Extracted packages, once per content hash, in `<data-dir>/cache/<sha256>/`, and the merged
/// layer folder (Lambda's `/opt`) per list of layers. Extraction goes to a temporary folder that
/// is renamed into place, so concurrent processes never see half a package.
struct PackageCache: Sendable {
    let root: URL
    let blobs: BlobStore

    init(dataDirectory: URL, blobs: BlobStore) {
        self.root = dataDirectory.appendingPathComponent("cache", isDirectory: true)
        self.blobs = blobs
    }

    /// The folder holding the package's files.
    func extracted(_ sha256Hex: String) throws(RelctlError) -> URL {
        let folder = root.appendingPathComponent(sha256Hex, isDirectory: true)
        if FileManager.default.fileExists(atPath: folder.path) { return folder }
        let bytes = try blobs.read(sha256Hex)
        // The same checks as at upload (paths, bombs, CRCs): the cache never trusts the blob blindly.
        _ = try PackageInspector.inspect(bytes)
        let temporary = root.appendingPathComponent(".tmp-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            let archive = try Archive(data: bytes, accessMode: .read)
            for entry in archive {
                try PackageInspector.checkPath(entry.path)
                let destination = temporary.appendingPathComponent(entry.path)
                guard destination.standardizedFileURL.path.hasPrefix(temporary.standardizedFileURL.path + "/") else {
                    throw RelctlError(.invalidParameterValue, "Zip entry '\(entry.path)' would land outside the package.")
                }
                _ = try archive.extract(entry, to: destination, skipCRC32: false)
            }
            if rename(temporary.path, folder.path) != 0 {
                // Another process got there first; theirs is identical.
                try? FileManager.default.removeItem(at: temporary)
            }
            return folder
        } catch let error as RelctlError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw RelctlError(.service, "Cannot extract package \(sha256Hex): \(error)")
        }
    }

    /// Lambda's `/opt`: the layers' files merged in order (a later layer's file wins), built once per list.
    func mergedLayers(_ layers: [VersionExecution.Layer]) throws(RelctlError) -> URL? {
        guard !layers.isEmpty else { return nil }
        let key = CodeHash.hex(of: Data(layers.map(\.sha256Hex).joined(separator: ",").utf8))
        let folder = root.appendingPathComponent("opt-\(key)", isDirectory: true)
        if FileManager.default.fileExists(atPath: folder.path) { return folder }
        let temporary = root.appendingPathComponent(".tmp-opt-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            for layer in layers {
                let source = try extracted(layer.sha256Hex)
                try Self.copyTree(from: source, into: temporary)
            }
            if rename(temporary.path, folder.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
            return folder
        } catch let error as RelctlError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw RelctlError(.service, "Cannot merge layers: \(error)")
        }
    }

    static func copyTree(from source: URL, into destination: URL) throws {
        let fileManager = FileManager.default
        guard let enumerator = fileManager.enumerator(atPath: source.path) else { return }
        while let relative = enumerator.nextObject() as? String {
            let from = source.appendingPathComponent(relative)
            let to = destination.appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            fileManager.fileExists(atPath: from.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                try fileManager.createDirectory(at: to, withIntermediateDirectories: true)
            } else {
                if fileManager.fileExists(atPath: to.path) { try fileManager.removeItem(at: to) }
                try fileManager.copyItem(at: from, to: to)
            }
        }
    }
}
