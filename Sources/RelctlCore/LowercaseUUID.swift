import Foundation

/// A random UUID as lowercase text (RevisionIds, request and execution ids), written straight into
/// its 36 bytes: `uuidString.lowercased()` builds the uppercase string and then a lowercase copy,
/// which showed in every alias move and every server request.
public enum LowercaseUUID {
    public static func make() -> String { text(UUID()) }

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
