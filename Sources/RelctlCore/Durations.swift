/// Durations as policies and flags write them: `45s`, `5m`, `1h`, `1h30m`, `500ms`.
public enum DurationText {
    public static func parse(_ text: String) throws(RelctlError) -> Double {
        let invalid = RelctlError(
            .invalidParameterValue,
            "Invalid duration '\(text)': write a number with a unit — ms, s, m or h (e.g. 45s, 5m, 1h30m).")
        var total = 0.0
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() throws(RelctlError) {
            guard !number.isEmpty, let value = Double(number), value.isFinite, value >= 0 else { throw invalid }
            let factor: Double
            switch unit {
            case "ms": factor = 0.001
            case "s": factor = 1
            case "m": factor = 60
            case "h": factor = 3600
            default: throw invalid
            }
            total += value * factor
            number = ""
            unit = ""
            sawAny = true
        }
        for character in text.trimmingSpaces {
            if character.isASCIIDigit || character == "." {
                if !unit.isEmpty { try flush() }
                number.append(character)
            } else if character.isLetter {
                guard !number.isEmpty else { throw invalid }
                unit.append(character)
            } else {
                throw invalid
            }
        }
        if !number.isEmpty || !unit.isEmpty { try flush() }
        guard sawAny else { throw invalid }
        return total
    }

    /// `9m`, `1h30m`, `45s`, `2.5s`.
    public static func format(_ seconds: Double) -> String {
        if seconds < 1, seconds > 0 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds != seconds.rounded() && seconds < 60 { return "\((seconds * 10).rounded() / 10)s" }
        var rest = Int(seconds.rounded())
        if rest == 0 { return "0s" }
        var text = ""
        if rest >= 3600 { text += "\(rest / 3600)h"; rest %= 3600 }
        if rest >= 60 { text += "\(rest / 60)m"; rest %= 60 }
        if rest > 0 { text += "\(rest)s" }
        return text
    }
}
