import Foundation
import RelctlCore

/// Typed access to a JSON request body, with AWS-style messages for wrong types.
struct JSONObject {
    let values: [String: Any]
    init(_ values: [String: Any]) { self.values = values }

    /// A request body as a JSON object ({} when empty); InvalidRequestContentException otherwise.
    init(body: Data) throws(RelctlError) {
        if body.isEmpty {
            self.init([:])
            return
        }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw RelctlError(
                .invalidRequestContent, "Could not parse request body into json: the body is not a JSON object.")
        }
        self.init(object)
    }

    func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    private func typeError(_ key: String, _ expected: String) -> RelctlError {
        RelctlError(.invalidRequestContent, "Could not parse request body into json: field \(key) must be \(expected).")
    }

    func string(_ key: String) throws(RelctlError) -> String? {
        guard has(key) else { return nil }
        guard let value = values[key] as? String else { throw typeError(key, "a string") }
        return value
    }

    func requiredString(_ key: String) throws(RelctlError) -> String {
        guard let value = try string(key) else {
            throw .validation(
                value: "null", field: key.prefix(1).lowercased() + key.dropFirst(),
                constraint: "Member must not be null")
        }
        return value
    }

    /// An integer member. One too large for any integer is refused with what was sent and, when
    /// the member has one, its allowed `range` (not with what it wraps around to).
    func int(_ key: String, within range: ClosedRange<Int>? = nil) throws(RelctlError) -> Int? {
        guard has(key) else { return nil }
        guard let number = values[key] as? NSNumber, !Self.isBoolean(number),
            number.doubleValue == number.doubleValue.rounded()
        else {
            throw typeError(key, "an integer")
        }
        guard number.doubleValue.magnitude < 0x1p63 else {
            guard let range else { throw typeError(key, "an integer from \(Int.min) to \(Int.max)") }
            throw .validation(
                value: number.stringValue, field: key.prefix(1).lowercased() + key.dropFirst(),
                constraint:
                    "Member must have value greater than or equal to \(range.lowerBound) and less than or equal to \(range.upperBound)"
            )
        }
        return number.intValue
    }

    func bool(_ key: String) throws(RelctlError) -> Bool? {
        guard has(key) else { return nil }
        guard let number = values[key] as? NSNumber, Self.isBoolean(number) else {
            throw typeError(key, "true or false")
        }
        return number.boolValue
    }

    func object(_ key: String) throws(RelctlError) -> JSONObject? {
        guard has(key) else { return nil }
        guard let value = values[key] as? [String: Any] else { throw typeError(key, "an object") }
        return JSONObject(value)
    }

    func strings(_ key: String) throws(RelctlError) -> [String]? {
        guard has(key) else { return nil }
        guard let value = values[key] as? [String] else { throw typeError(key, "a list of strings") }
        return value
    }

    func stringMap(_ key: String) throws(RelctlError) -> [String: String]? {
        guard has(key) else { return nil }
        guard let value = values[key] as? [String: String] else { throw typeError(key, "a map of strings") }
        return value
    }

    func doubleMap(_ key: String) throws(RelctlError) -> [String: Double]? {
        guard has(key) else { return nil }
        guard let raw = values[key] as? [String: Any] else { throw typeError(key, "a map of numbers") }
        var result: [String: Double] = [:]
        for (name, value) in raw {
            guard let number = value as? NSNumber, !Self.isBoolean(number) else {
                throw typeError(key, "a map of numbers")
            }
            result[name] = number.doubleValue
        }
        return result
    }

    /// JSON true/false (on Linux, 0 and 1 also answer `is Bool`; the encoding type tells them apart).
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    func data(_ key: String) throws(RelctlError) -> Data? {
        guard let text = try string(key) else { return nil }
        guard let data = Data(base64Encoded: text) else {
            throw RelctlError(.invalidParameterValue, "\(key) is not valid base64.")
        }
        return data
    }
}
