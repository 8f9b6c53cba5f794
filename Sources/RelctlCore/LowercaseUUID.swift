import Foundation

/// A random (version 4) UUID as lowercase text (RevisionIds, request and execution ids), written
/// straight into its 36 bytes: `UUID().uuidString.lowercased()` asks the kernel for 16 random bytes,
/// builds the uppercase string and then a lowercase copy, which showed in every alias move and every
/// server request. These ids must be unique, not secret: the bits come from one xoshiro256**
/// generator per process, seeded with 256 bits from the system generator.
public enum LowercaseUUID {
    private static let source = Source()

    public static func make() -> String {
        let (high, low) = source.next()
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { buffer in
            buffer.storeBytes(of: high.bigEndian, as: UInt64.self)
            buffer.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        bytes.6 = (bytes.6 & 0x0F) | 0x40  // version 4
        bytes.8 = (bytes.8 & 0x3F) | 0x80  // RFC 4122 variant
        return text(UUID(uuid: bytes))
    }

    private final class Source: @unchecked Sendable {
        private let lock = NSLock()
        private var generator: RoutingRandom

        init() {
            var system = SystemRandomNumberGenerator()
            generator = RoutingRandom(state: (system.next(), system.next(), system.next(), system.next()))
        }

        func next() -> (UInt64, UInt64) {
            lock.withLock { (generator.next(), generator.next()) }
        }
    }

    public static func text(_ uuid: UUID) -> String {
        withUnsafeBytes(of: uuid.uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { buffer in
                var out = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[out] = UInt8(ascii: "-")
                        out += 1
                    }
                    buffer[out] = hexDigit(bytes[index] >> 4)
                    buffer[out + 1] = hexDigit(bytes[index] & 0x0F)
                    out += 2
                }
                return out
            }
        }
    }

    @inline(__always) static func hexDigit(_ value: UInt8) -> UInt8 { value < 10 ? 48 + value : 87 + value }
}
