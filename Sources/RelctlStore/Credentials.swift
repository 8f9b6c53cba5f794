import Foundation
import RelctlCore
import RelctlSystem

/// An access key for `relctl serve`. The secret must stay on the server (SigV4 is verified by
/// recomputing the HMAC), so it lives in `<data-dir>/credentials.json`, mode 0600, and nowhere else.
public struct Credential: Codable, Sendable, Equatable {
    public var name: String
    public var accessKeyId: String
    public var secretAccessKey: String
    public var readOnly: Bool
    public var created: String

    public init(name: String, accessKeyId: String, secretAccessKey: String, readOnly: Bool, created: String) {
        self.name = name
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.readOnly = readOnly
        self.created = created
    }
}

public struct CredentialStore: Sendable {
    public let url: URL

    public init(dataDirectory: URL) {
        url = dataDirectory.appendingPathComponent("credentials.json")
    }

    public func all() throws(RelctlError) -> [Credential] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        do {
            return try JSONDecoder().decode([Credential].self, from: Data(contentsOf: url))
        } catch {
            throw RelctlError(.service, "Cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    /// Creates a key pair; the secret is returned once (and kept only in the 0600 file).
    public func create(name: String, readOnly: Bool, now: Date = Date()) throws(RelctlError) -> Credential {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isNameCharacter || $0 == "." }) else {
            throw RelctlError(
                .invalidParameterValue, "A credential name is 1–64 characters of letters, digits, '-', '_' and '.'.")
        }
        var credentials = try all()
        guard !credentials.contains(where: { $0.name == name }) else {
            throw RelctlError(
                .resourceConflict, "A credential named \(name) already exists; delete it first or pick another name.")
        }
        let credential = Credential(
            name: name, accessKeyId: "AKIA" + Self.random(16, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
            secretAccessKey: Self.random(
                40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
            readOnly: readOnly, created: LambdaTimestamp.string(from: now))
        credentials.append(credential)
        try save(credentials)
        return credential
    }

    @discardableResult
    public func delete(_ nameOrKey: String) throws(RelctlError) -> Bool {
        var credentials = try all()
        let before = credentials.count
        credentials.removeAll { $0.name == nameOrKey || $0.accessKeyId == nameOrKey }
        guard credentials.count != before else { return false }
        try save(credentials)
        return true
    }

    private func save(_ credentials: [Credential]) throws(RelctlError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".credentials-\(UUID().uuidString)")
        try FileSystem.createDirectory(url.deletingLastPathComponent())
        do {
            try FileSystem.writeDurably(try encoder.encode(credentials), to: temporary)  // created 0600
            guard rename(temporary.path, url.path) == 0 else {
                throw RelctlError(.service, "Cannot replace \(url.path): \(FileSystem.errnoText())")
            }
            chmod(url.path, 0o600)
            try FileSystem.syncDirectory(url.deletingLastPathComponent())
        } catch let error as RelctlError {
            unlink(temporary.path)
            throw error
        } catch {
            unlink(temporary.path)
            throw RelctlError(.service, "Cannot write \(url.path): \(error)")
        }
    }

    /// What identifies one version of the file: replacing it (every save renames a new file over
    /// it) changes the inode and the change time. nil when there is no file.
    func identity() -> FileIdentity? {
        guard let status = FileStatus.of(path: url.path) else { return nil }
        return FileIdentity(
            device: status.device, inode: status.inode, size: status.size,
            modified: [status.modifiedSeconds, status.modifiedNanoseconds],
            changed: [status.changedSeconds, status.changedNanoseconds])
    }

    static func random(_ count: Int, alphabet: String) -> String {
        let characters = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in characters[Int.random(in: 0..<characters.count, using: &generator)] })
    }
}

struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: [Int64]
    var changed: [Int64]
}

/// The keys of `credentials.json` as a server checks them on every request: re-read whenever the
/// file changed (one `stat` per lookup), so `relctl credentials delete` revokes a key on the next
/// request and a key created while the server runs works at once.
public final class CredentialCache: @unchecked Sendable {
    private let store: CredentialStore
    private let lock = NSLock()
    // Guarded by `lock`.
    private var loadedFrom: FileIdentity??
    private var byAccessKeyId: [String: Credential] = [:]

    public init(store: CredentialStore) {
        self.store = store
    }

    /// The key with this id as the file holds it now; nil when there is none.
    public func credential(accessKeyId: String) throws(RelctlError) -> Credential? {
        lock.lock()
        defer { lock.unlock() }
        // Stat before reading: a save that lands in between leaves a newer identity than the one
        // recorded, so the next lookup reads again (the reverse order could keep stale keys).
        let current = store.identity()
        if loadedFrom != .some(current) {
            let credentials = try store.all()
            byAccessKeyId = Dictionary(
                credentials.map { ($0.accessKeyId, $0) }, uniquingKeysWith: { first, _ in first })
            loadedFrom = .some(current)
        }
        return byAccessKeyId[accessKeyId]
    }
}
