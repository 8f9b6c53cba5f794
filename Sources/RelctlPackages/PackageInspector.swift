import Crypto
import Foundation
import RelctlCore
import ZIPFoundation

/// A zip package that passed every check, with the figures the registry keeps.
public struct InspectedPackage: Sendable, Equatable {
    public var bytes: Data
    /// Lowercase hex SHA-256: the blob's file name.
    public var sha256Hex: String
    /// Actual inflated bytes of every entry.
    public var unzippedSize: Int64
    public var entryCount: Int

    /// The bytes already written durably to a temporary file while they were validated (see
    /// `BlobStore.inspectAndStage`), for the blob store to rename instead of writing them again.
    public var prestaged: PrestagedFile?
    /// The bytes are in the code bucket already: uploaded from the prestaged file by an async client ahead of the
    /// write that records them (see `Registry.uploadAhead`), so that write does not upload them again.
    public var uploadedAhead = false

    public init(bytes: Data, sha256Hex: String, unzippedSize: Int64, entryCount: Int, prestaged: PrestagedFile? = nil) {
        self.bytes = bytes
        self.sha256Hex = sha256Hex
        self.unzippedSize = unzippedSize
        self.entryCount = entryCount
        self.prestaged = prestaged
    }

    public var size: Int64 { Int64(bytes.count) }
    /// `CodeSha256` as AWS reports it: base64 of the SHA-256 digest.
    public var codeSha256: String { CodeHash.base64(fromHex: sha256Hex) }
}

/// A temporary file holding a package's bytes. It is removed when the last reference goes away,
/// unless the blob store renamed it into place first (then the unlink finds nothing).
public final class PrestagedFile: Sendable, Equatable {
    public let url: URL

    public init(url: URL) {
        self.url = url
    }

    deinit {
        unlink(url.path)
    }

    public static func == (lhs: PrestagedFile, rhs: PrestagedFile) -> Bool { lhs === rhs }
}

public enum CodeHash {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func hex(of data: Data) -> String {
        hex(SHA256.hash(data: data))
    }

    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Base64 of the bytes a hex string spells (listing a million versions calls this a million times).
    public static func base64(fromHex hex: String) -> String {
        func nibble(_ character: UInt8) -> UInt8 {
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
            default: 0
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for character in hex.utf8 {
            if let first = high {
                bytes.append(first << 4 | nibble(character))
                high = nil
            } else {
                high = nibble(character)
            }
        }
        return Data(bytes).base64EncodedString()
    }
}

/// Checks a zip the way Lambda does before it accepts code, without writing anything to disk:
/// readable archive, ≤ 50 MB zipped, ≤ the unzipped allowance (declared sizes first, then bounded
/// streaming, which also verifies every CRC), no entry that could land outside the package
/// (absolute, `..`, backslashes, symlinks that lead outside it alone or through other links, entries
/// stored under a symlink; see `SymlinkRules`) and no duplicate names.
public enum PackageInspector {
    /// `zippedLimit`: the 50 MB limit of a directly uploaded zip; nil for code read from S3, which
    /// only the unzipped allowance bounds (as on AWS).
    public static func inspect(
        _ bytes: Data, unzippedAllowance: Int64 = Limits.codeSizeUnzipped,
        zippedLimit: Int64? = Limits.codeSizeZipped
    ) throws(RelctlError) -> InspectedPackage {
        let validation = try validate(bytes, unzippedAllowance: unzippedAllowance, zippedLimit: zippedLimit)
        return InspectedPackage(
            bytes: bytes, sha256Hex: CodeHash.hex(of: bytes), unzippedSize: validation.unzippedSize,
            entryCount: validation.entryCount)
    }

    /// What validation learns about a package besides "it is acceptable".
    public struct Validation: Sendable {
        public var unzippedSize: Int64
        public var entryCount: Int
    }

    /// Every check of `inspect`, without hashing (so the hash can be computed elsewhere at the same time).
    public static func validate(
        _ bytes: Data, unzippedAllowance: Int64 = Limits.codeSizeUnzipped,
        zippedLimit: Int64? = Limits.codeSizeZipped
    ) throws(RelctlError) -> Validation {
        if let zippedLimit, Int64(bytes.count) > zippedLimit {
            throw RelctlError(.requestEntityTooLarge, "Zipped size must be smaller than \(Limits.codeSizeZipped) bytes")
        }
        let archive: Archive
        do {
            archive = try Archive(data: bytes, accessMode: .read)
        } catch {
            throw unreadable(
                "the central directory cannot be read (\(bytes.isEmpty ? "the file is empty" : "not a zip archive, or truncated"))"
            )
        }

        // 1. Names and declared sizes, from the central directory alone.
        var seen = Set<String>()
        var declared: Int64 = 0
        var entries: [Entry] = []
        for entry in archive {
            let path = entry.path
            try checkPath(path)
            let normalized = path.hasSuffix("/") ? String(path.dropLast()) : path
            guard seen.insert(normalized).inserted else {
                throw RelctlError(
                    .invalidParameterValue,
                    "The package has two entries named '\(normalized)'; each path may appear once (which one would be used is ambiguous)."
                )
            }
            declared += Int64(entry.uncompressedSize)
            guard declared <= unzippedAllowance else { throw unzippedLimitError }
            entries.append(entry)
        }

        // 2. Bounded streaming: inflate each entry into nothing, counting bytes, stopping at the
        //    first byte past its declared size or past the allowance, and compare every CRC (ZIPFoundation
        //    computes it while streaming but leaves the comparison to the caller).
        var unzipped: Int64 = 0
        var items: [SymlinkRules.Item] = []
        items.reserveCapacity(entries.count)
        for entry in entries {
            var symlinkTarget = Data()
            try inflate(entry, of: archive, allowance: unzippedAllowance, unzipped: &unzipped) { chunk in
                if entry.type == .symlink, symlinkTarget.count <= SymlinkRules.maxTargetLength {
                    symlinkTarget.append(chunk.prefix(SymlinkRules.maxTargetLength + 1 - symlinkTarget.count))
                }
            }
            items.append(
                .init(
                    path: entry.path,
                    symlinkTarget: entry.type == .symlink ? String(decoding: symlinkTarget, as: UTF8.self) : nil))
        }
        try SymlinkRules.check(items)
        return Validation(unzippedSize: unzipped, entryCount: entries.count)
    }

    private enum InspectionAbort: Error { case sizeLie, tooLarge }

    /// Streams one entry's content to `consume`, stopping at the first byte past its declared size
    /// or past `allowance` in all (`unzipped` counts across entries), then checks its size and CRC-32.
    static func inflate(
        _ entry: Entry, of archive: Archive, allowance: Int64, unzipped: inout Int64, _ consume: (Data) throws -> Void
    ) throws(RelctlError) {
        let declaredSize = Int64(entry.uncompressedSize)
        var entryBytes: Int64 = 0
        var total = unzipped
        defer { unzipped = total }
        do {
            let crc = try contents(of: entry, in: archive) { chunk in
                entryBytes += Int64(chunk.count)
                total += Int64(chunk.count)
                if entryBytes > declaredSize { throw InspectionAbort.sizeLie }
                if total > allowance { throw InspectionAbort.tooLarge }
                try consume(chunk)
            }
            if entry.type != .directory, crc != entry.checksum { throw Archive.ArchiveError.invalidCRC32 }
        } catch let error as RelctlError {
            throw error
        } catch InspectionAbort.sizeLie {
            throw unreadable("entry '\(entry.path)' inflates past its declared size of \(declaredSize) bytes")
        } catch InspectionAbort.tooLarge {
            throw unzippedLimitError
        } catch Archive.ArchiveError.invalidCRC32 {
            throw unreadable("entry '\(entry.path)' does not match its CRC-32")
        } catch {
            throw unreadable("entry '\(entry.path)' cannot be inflated")
        }
        guard entryBytes == declaredSize else {
            throw unreadable("entry '\(entry.path)' is \(entryBytes) bytes, its header says \(declaredSize)")
        }
    }

    private struct TruncatedSymlink: Error {}

    /// Streams an entry's content, inflated, to `consumer`, and returns its CRC-32. ZIPFoundation
    /// hands a symlink's stored bytes over as they are, still deflated when the zip deflated them
    /// (Python's zipfile does, Info-ZIP does for long targets), so a link's bytes are inflated here.
    static func contents(of entry: Entry, in archive: Archive, consumer: (Data) throws -> Void) throws -> CRC32 {
        guard entry.type == .symlink else {
            return try archive.extract(entry, bufferSize: 256 * 1024, skipCRC32: false, consumer: consumer)
        }
        var raw = Data()
        let rawCRC = try archive.extract(entry, bufferSize: 64 * 1024, skipCRC32: false) { raw.append($0) }
        guard entry.isCompressed else {
            try consumer(raw)
            return rawCRC
        }
        return try Data.decompress(
            size: Int64(raw.count), bufferSize: 64 * 1024, skipCRC32: false,
            provider: { position, size in
                guard position < raw.count else { throw TruncatedSymlink() }
                return raw.subdata(in: Int(position)..<min(raw.count, Int(position) + size))
            }, consumer: consumer)
    }

    static let unzippedLimitError = RelctlError(
        .invalidParameterValue, "Unzipped size must be smaller than \(Limits.codeSizeUnzipped) bytes")

    static func unreadable(_ detail: String) -> RelctlError {
        RelctlError(
            .invalidParameterValue,
            "Could not unzip uploaded file. Please check your file, then try to upload again. (\(detail))")
    }

    /// Entry names must stay inside the package: relative, forward slashes only, no `..` component.
    public static func checkPath(_ path: String) throws(RelctlError) {
        func refuse(_ why: String) -> RelctlError {
            RelctlError(
                .invalidParameterValue,
                "Zip entry '\(path)' \(why); entries must be relative paths inside the package, with '/' separators and no '..'."
            )
        }
        guard !path.isEmpty else { throw refuse("has an empty name") }
        guard !path.contains("\\") else { throw refuse("contains a backslash") }
        guard !path.hasPrefix("/") else { throw refuse("is an absolute path") }
        guard !(path.count >= 2 && path.dropFirst().first == ":") else { throw refuse("names a drive") }
        guard !path.contains("\0") else { throw refuse("contains a NUL byte") }
        guard !path.split(separator: "/").contains("..") else { throw refuse("contains '..'") }
    }
}
