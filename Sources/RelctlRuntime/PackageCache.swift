import Foundation
import RelctlCore
import RelctlPackages
import RelctlStorage

/// Extracted packages, once per content hash, in `<data-dir>/cache/<sha256>/`, and the merged
/// layer folder (Lambda's `/opt`) per list of layers. Extraction goes to a temporary folder that
/// is renamed into place, so concurrent processes never see half a package.
struct PackageCache: Sendable {
    let root: URL
    let blobs: any CodeStore

    init(dataDirectory: URL, blobs: any CodeStore) {
        self.root = dataDirectory.appendingPathComponent("cache", isDirectory: true)
        self.blobs = blobs
    }

    /// The folder holding the package's files (the package read by hash from the code store,
    /// which may download it).
    func extracted(_ sha256Hex: String) async throws(RelctlError) -> URL {
        let folder = root.appendingPathComponent(sha256Hex, isDirectory: true)
        if FileManager.default.fileExists(atPath: folder.path) { return folder }
        let bytes = try await blobs.fetch(sha256Hex)
        // The same checks as at upload (paths, bombs, CRCs): the cache never trusts the blob blindly.
        _ = try PackageInspector.inspect(bytes)
        let temporary = root.appendingPathComponent(".tmp-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            // Never through a link, never outside `temporary`, even for a package the checks above missed.
            try PackageExtractor.extract(bytes, into: temporary)
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
    func mergedLayers(_ layers: [VersionExecution.Layer]) async throws(RelctlError) -> URL? {
        guard !layers.isEmpty else { return nil }
        let key = CodeHash.hex(of: Data(layers.map(\.sha256Hex).joined(separator: ",").utf8))
        let folder = root.appendingPathComponent("opt-\(key)", isDirectory: true)
        if FileManager.default.fileExists(atPath: folder.path) { return folder }
        let temporary = root.appendingPathComponent(".tmp-opt-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            // Each layer's links stay inside it, but merged they may combine (`x → .` from one,
            // `up → x/x/../..` from another), so the merged tree is judged as a whole too.
            var merged: [String: String?] = [:]
            for layer in layers {
                for item in try PackageExtractor.copyTree(from: try await extracted(layer.sha256Hex), into: temporary) {
                    merged[item.path] = item.symlinkTarget
                }
            }
            try SymlinkRules.check(
                merged.sorted { $0.key < $1.key }.map { SymlinkRules.Item(path: $0.key, symlinkTarget: $0.value) },
                noun: "Merged layer file")
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
}
