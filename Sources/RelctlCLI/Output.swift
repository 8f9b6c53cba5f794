import Foundation
import RelctlCore

/// Data to stdout, diagnostics to stderr.
enum Output {
    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        print(String(decoding: data, as: UTF8.self))
    }

    static func error(_ error: RelctlError) {
        let line = error.message.replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("error: \(error.code.awsErrorType): \(line)\n".utf8))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }

    /// Left-aligned columns, two spaces apart, headers in capitals.
    static func table(_ headers: [String], _ rows: [[String]]) {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        var text = line(headers.map { $0.uppercased() }) + "\n"
        for row in rows { text += line(row) + "\n" }
        print(text, terminator: "")
    }

    /// `Key: value` lines for one record.
    static func fields(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        let text = pairs.map { "\($0.0.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.1)" }.joined(
            separator: "\n")
        print(text)
    }

    static func size(_ bytes: Int64) -> String { ByteSize.format(bytes) }
}
