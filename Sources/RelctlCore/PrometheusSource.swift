import Foundation

/// An alarm's (or a judge's) Prometheus source: a server and a PromQL query whose `{{target}}`,
/// `{{current}}`, `{{function}}` and `{{alias}}` are filled in from the deployment being judged.
public struct PrometheusQuery: Sendable, Codable, Equatable {
    /// The server's base URL, e.g. `http://127.0.0.1:9090`.
    public var url: String
    public var query: String

    public init(url: String, query: String) {
        self.url = url
        self.query = query
    }

    public static let placeholders = ["target", "current", "function", "alias"]

    /// Checks the URL and that the query names only known placeholders.
    public func validate() throws(RelctlError) {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            parsed.host?.isEmpty == false,
            parsed.query == nil
        else {
            throw RelctlError(
                .invalidParameterValue,
                "--prometheus '\(url)' must be a Prometheus server's base URL such as http://127.0.0.1:9090 (http or https, no query string)."
            )
        }
        guard !query.trimmingCharacters(in: .whitespaces).isEmpty, query.count <= 4096 else {
            throw RelctlError(.invalidParameterValue, "--query must be a PromQL expression of 1–4096 characters.")
        }
        var rest = query[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard Self.placeholders.contains(name) else {
                throw RelctlError(
                    .invalidParameterValue,
                    "--query names an unknown placeholder {{\(name)}}; allowed: \(Self.placeholders.map { "{{\($0)}}" }.joined(separator: ", "))."
                )
            }
            rest = rest[close.upperBound...]
        }
    }

    /// The query with its placeholders filled in (an unknown value leaves an empty string).
    public func substituted(_ values: [String: String]) -> String {
        var result = query
        for name in Self.placeholders {
            for spelling in ["{{\(name)}}", "{{ \(name) }}"] {
                result = result.replacingOccurrences(of: spelling, with: values[name] ?? "")
            }
        }
        return result
    }

    /// `/api/v1/query_range` for `[start, end]` every `step` seconds.
    public func rangeURL(_ query: String, start: Double, end: Double, step: Double) -> URL? {
        guard var components = URLComponents(string: url.hasSuffix("/") ? String(url.dropLast()) : url) else {
            return nil
        }
        components.path += "/api/v1/query_range"
        components.queryItems = [
            URLQueryItem(name: "query", value: query),
            URLQueryItem(name: "start", value: String(format: "%.3f", start)),
            URLQueryItem(name: "end", value: String(format: "%.3f", end)),
            URLQueryItem(name: "step", value: String(format: "%g", step)),
        ]
        // `+` is a space in a query string: PromQL's `+` must be sent as %2B.
        let encoded = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        components.percentEncodedQuery = encoded
        return components.url
    }

    /// The values of a `query_range` answer: (time, value) of its one series; an error says why
    /// there are none (a failed query, an error status, several series).
    public static func parseRange(_ body: Data) -> Result<[(time: Double, value: Double)], PrometheusFailure> {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return .failure(PrometheusFailure("the answer is not JSON"))
        }
        guard object["status"] as? String == "success" else {
            return .failure(
                PrometheusFailure(
                    "\(object["errorType"] as? String ?? "error"): \(object["error"] as? String ?? "no detail")"))
        }
        let data = object["data"] as? [String: Any] ?? [:]
        let result = data["result"] as? [[String: Any]] ?? []
        guard result.count <= 1 else {
            return .failure(
                PrometheusFailure("the query returned \(result.count) series; wrap it in sum(…) or max(…) to make one"))
        }
        guard let series = result.first else { return .success([]) }
        var points: [(time: Double, value: Double)] = []
        for pair in series["values"] as? [[Any]] ?? [] where pair.count == 2 {
            guard let time = (pair[0] as? Double) ?? (pair[0] as? NSNumber)?.doubleValue, let text = pair[1] as? String,
                let value = Double(text), value.isFinite
            else { continue }
            points.append((time, value))
        }
        return .success(points)
    }
}

public struct PrometheusFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
