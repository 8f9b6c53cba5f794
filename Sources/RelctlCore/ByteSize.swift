/// Sizes as users write them. Units follow AWS's console and quotas page, where "75 GB" means
/// 75 × 2³⁰ bytes (80530636800): KB, MB, GB and TB are binary, like KiB…TiB.
public enum ByteSize {
    public static func parse(_ text: String) throws(RelctlError) -> Int64 {
        let trimmed = text.trimmingSpaces.uppercased()
        let units: [(String, Int64)] = [
            ("TIB", 1 << 40), ("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10),
            ("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10),
            ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1),
        ]
        var multiplier: Int64 = 1
        var number = Substring(trimmed)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            multiplier = factor
            number = number.dropLast(suffix.count)
            break
        }
        let digits = String(number).trimmingSpaces
        guard let value = Double(digits), value.isFinite, value >= 0, value * Double(multiplier) < 9.2e18 else {
            throw RelctlError(
                .invalidParameterValue,
                "Invalid size '\(text)': write a number of bytes or a number with a unit (KB, MB, GB, TB; binary, as AWS counts), e.g. 75GB."
            )
        }
        return Int64((value * Double(multiplier)).rounded())
    }

    /// `1.5 GB`, `320 KB`, `12 B`: binary units, one decimal.
    public static func format(_ bytes: Int64) -> String {
        let units: [(String, Double)] = [
            ("TB", 1_099_511_627_776), ("GB", 1_073_741_824), ("MB", 1_048_576), ("KB", 1024),
        ]
        for (name, factor) in units where Double(bytes.magnitude) >= factor {
            let value = Double(bytes) / factor
            let tenths = (value * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int64(tenths)) \(name)" : "\(tenths) \(name)"
        }
        return "\(bytes) B"
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}
