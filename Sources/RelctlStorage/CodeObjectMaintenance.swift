import Foundation
import RelctlCore

/// gc and fsck over any `CodeObjectStore`, with the rules of the filesystem store: an object is
/// collected only when no row names it and it is older than the age guard (an upload whose row has
/// not committed yet is never collected); fsck checks every row's object exists with its size, and
/// with `verifyHashes` its content.
public enum CodeObjectMaintenance {
    /// What gc removed from a store.
    public struct Collected: Sendable, Equatable {
        public var removed: [CodeObject]
        /// Unreferenced objects left because they are younger than the age guard.
        public var keptYoung: Int
        public var removedBytes: Int64 { removed.reduce(0) { $0 + $1.size } }
    }

    /// The objects gc may delete: named by no row, and last written before `now - minimumAge`.
    public static func collectable(
        _ objects: [CodeObject], referenced: Set<String>, now: Date, minimumAge: TimeInterval
    ) -> (remove: [CodeObject], keptYoung: Int) {
        let cutoff = now.addingTimeInterval(-minimumAge)
        let unreferenced = objects.filter { !referenced.contains($0.sha256Hex) }
        let old = unreferenced.filter { $0.lastModified < cutoff }
        return (old, unreferenced.count - old.count)
    }

    /// Lists the store first and reads the referenced hashes after, so an object written after the
    /// listing is not seen and one listed before its row committed is protected by its age.
    public static func collectGarbage(
        in store: any CodeObjectStore, referenced: @Sendable () async throws(RelctlError) -> Set<String>,
        now: Date, minimumAge: TimeInterval = 3600
    ) async throws(RelctlError) -> Collected {
        let objects = try await store.list()
        let names = try await referenced()
        let (remove, keptYoung) = collectable(objects, referenced: names, now: now, minimumAge: minimumAge)
        for object in remove { try await store.delete(object.sha256Hex) }
        return Collected(removed: remove, keptYoung: keptYoung)
    }

    /// The bytes of `hash` as `store` holds them (the store checks the hash) and of the `size` its rows record;
    /// otherwise an error naming the object, where it is and what is wrong, ended by `outcome` (what the
    /// caller did or kept so far).
    public static func read(
        _ hash: String, size: Int64, from store: any CodeObjectStore, outcome: String
    ) async throws(RelctlError) -> Data {
        let data: Data
        do throws(RelctlError) {
            data = try await store.get(hash)
        } catch {
            throw RelctlError(
                error.code, "The code object \(hash) is not right in \(store.location): \(error.message) \(outcome)")
        }
        guard Int64(data.count) == size else {
            throw RelctlError(
                .integrityCheckFailed,
                "The code object \(hash) in \(store.location) is \(data.count) bytes, not the \(size) its rows say. \(outcome)"
            )
        }
        return data
    }

    /// Problems (one sentence each) of the objects that rows name, given each hash's recorded size.
    public static func check(
        _ store: any CodeObjectStore, expected: [String: Int64], verifyHashes: Bool
    ) async throws(RelctlError) -> [String] {
        let listed = Dictionary(
            try await store.list().map { ($0.sha256Hex, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        for (hash, size) in expected.sorted(by: { $0.key < $1.key }) {
            guard let object = listed[hash] else {
                problems.append("Code object \(hash) has a row but is not in \(store.location)")
                continue
            }
            if object.size != size {
                problems.append("Code object \(hash) is \(object.size) bytes in \(store.location), \(size) in its row")
            } else if verifyHashes {
                do throws(RelctlError) {
                    _ = try await store.get(hash)
                } catch  where error.code == .integrityCheckFailed {
                    problems.append("Code object \(hash)'s content in \(store.location) does not match its hash")
                }
            }
        }
        return problems
    }
}
