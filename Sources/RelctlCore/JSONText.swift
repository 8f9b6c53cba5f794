/// JSON text for the one shape written on every alias move and deployment step: an object of
/// strings (event details), keys sorted as `JSONEncoder`'s `.sortedKeys` sorts them. Writing it
/// directly is several times cheaper than a `JSONEncoder` round through `Encodable`, which was a
/// tenth of a deployment step's CPU time; `JSONDecoder` reads it back (tested both ways).
public enum JSONText {
    public static func object(_ dictionary: [String: String]) -> String {
        var text = "{"
        var first = true
        for key in dictionary.keys.sorted() {
            if !first { text.append(",") }
            first = false
            appendString(key, to: &text)
            text.append(":")
            appendString(dictionary[key]!, to: &text)
        }
        text.append("}")
        return text
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped (RFC 8259 §7).
    static func appendString(_ value: String, to text: inout String) {
        text.append("\"")
        // Most strings (names, versions, messages) need no escape: then they go in whole, instead
        // of scalar by scalar.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            text.append(value)
            text.append("\"")
            return
        }
        var plainStart = value.unicodeScalars.startIndex
        var index = plainStart
        let scalars = value.unicodeScalars
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{08}": escape = "\\b"
            case "\u{0C}": escape = "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    escape = nil
                }
            }
            if let escape {
                text.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                text.append(escape)
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        text.unicodeScalars.append(contentsOf: scalars[plainStart..<scalars.endIndex])
        text.append("\"")
    }
}
