import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RelctlSigV4
import RelctlSystem

/// A staged file as an upload body: 1 MiB `ByteBuffer`s read from disk as the connection takes
/// them, hashed (SHA-256 and MD5) on the way, so the package is never in memory whole.
/// Each iteration starts at the beginning again (a retried request sends the whole file).
/// Unchecked: the descriptor is only read with `pread` (no shared offset) and the hashes are behind a lock.
final class FileChunks: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer
    static let chunkSize = 1 << 20

    let url: URL
    let size: Int64
    private let descriptor: Int32
    private let sent = NIOLockedValueBox(Sent())

    struct Sent {
        var count: Int64 = 0
        var sha256 = SHA256()
        var md5 = Insecure.MD5()
    }

    /// What the last iteration read: the bytes counted and hashed.
    struct Digests {
        var count: Int64
        var sha256: String
        var md5: String
    }

    init(url: URL) throws {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: url.path]) }
        guard let status = FileStatus.of(descriptor: descriptor) else {
            close(descriptor)
            throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        self.url = url
        self.descriptor = descriptor
        self.size = status.size
    }

    deinit { close(descriptor) }

    func digests() -> Digests {
        sent.withLockedValue { value in
            Digests(count: value.count, sha256: value.sha256.finalize().hexString, md5: value.md5.finalize().hexString)
        }
    }

    func makeAsyncIterator() -> Iterator {
        sent.withLockedValue { $0 = Sent() }
        return Iterator(chunks: self, offset: 0)
    }

    struct Iterator: AsyncIteratorProtocol {
        let chunks: FileChunks
        var offset: Int64

        mutating func next() async throws -> ByteBuffer? {
            guard offset < chunks.size else { return nil }
            let wanted = Int(Swift.min(Int64(FileChunks.chunkSize), chunks.size - offset))
            var buffer = ByteBufferAllocator().buffer(capacity: wanted)
            let descriptor = chunks.descriptor
            let start = offset
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer -> Int in
                let count = pread(descriptor, pointer.baseAddress, wanted, off_t(start))
                guard count >= 0 else {
                    throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: chunks.url.path])
                }
                return count
            }
            // A file that shrank under the upload ends the body early; the length check after says so.
            guard read > 0 else { return nil }
            offset += Int64(read)
            buffer.withUnsafeReadableBytes { bytes in
                chunks.sent.withLockedValue { value in
                    value.count += Int64(bytes.count)
                    value.sha256.update(bufferPointer: bytes)
                    value.md5.update(bufferPointer: bytes)
                }
            }
            return buffer
        }
    }
}
