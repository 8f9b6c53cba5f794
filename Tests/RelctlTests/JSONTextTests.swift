import Foundation
import RelctlCore
import Testing

/// Event details are written as JSON text by hand (the hot path of every step); JSONDecoder must read back
/// exactly what went in, whatever the strings hold.
@Suite struct JSONTextTests {
    @Test func roundTripsEveryKindOfString() throws {
        let hard: [String: String] = [
            "": "", "quote": "say \"hi\"", "back\\slash": "C:\\path\\", "lines": "a\nb\r\nc\td",
            "controls": "\u{00}\u{01}\u{08}\u{0C}\u{1F}\u{7F}", "unicode": "é 🚀 \u{2028} 中文", "slash": "a/b",
            "cause": "Deployment d-ABC123XYZ", "to": "version 3 + 10% to version 4",
        ]
        let text = JSONText.object(hard)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(text.utf8)) == hard)
        #expect(JSONText.object([:]) == "{}")
        #expect(JSONText.object(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
    }

    @Test func randomStringsRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var dictionary: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                func random() -> String {
                    String(
                        String.UnicodeScalarView(
                            (0..<Int.random(in: 0...12, using: &generator)).compactMap { _ in
                                Unicode.Scalar(
                                    [UInt32.random(in: 0...0x7F), UInt32.random(in: 0x80...0xD7FF)][
                                        Int.random(in: 0...1, using: &generator)])
                            }))
                }
                dictionary[random()] = random()
            }
            let text = JSONText.object(dictionary)
            #expect(try JSONDecoder().decode([String: String].self, from: Data(text.utf8)) == dictionary, "\(text)")
        }
    }
}
