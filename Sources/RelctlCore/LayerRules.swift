import Foundation

/// Lambda's rules for layer versions and a function's layers, with AWS's messages: the same on every
/// engine (SQLite's `Registry` and the PostgreSQL store call these; only the lookups differ).
public enum LayerRules {
    /// PublishLayerVersion's CompatibleRuntimes (at most 15, each a known runtime) and CompatibleArchitectures.
    public static func validateCompatibility(runtimes: [String], architectures: [String]) throws(RelctlError) {
        for runtime in runtimes where !FunctionSettings.runtimes.contains(runtime) {
            throw .validation(
                value: runtime, field: "compatibleRuntimes",
                constraint: "Member must satisfy enum value set: [\(FunctionSettings.runtimes.joined(separator: ", "))]"
            )
        }
        guard runtimes.count <= 15 else {
            throw .validation(
                value: "\(runtimes)", field: "compatibleRuntimes",
                constraint: "Member must have length less than or equal to 15")
        }
        for architecture in architectures where !FunctionSettings.architectures.contains(architecture) {
            throw .validation(
                value: architecture, field: "compatibleArchitectures",
                constraint:
                    "Member must satisfy enum value set: [\(FunctionSettings.architectures.joined(separator: ", "))]")
        }
    }

    /// GetLayerVersion's (and DeleteLayerVersion's) version number: 1 or more.
    public static func requireVersionNumber(_ version: Int) throws(RelctlError) {
        guard version >= 1 else { throw RelctlError(.invalidParameterValue, "Layer Version Cannot be less than 1") }
    }

    /// ListLayerVersions' marker: the previous page's last version number.
    public static func versionMarker(_ marker: String?) throws(RelctlError) -> Int? {
        guard let marker else { return nil }
        guard let number = Int(marker) else {
            throw RelctlError(
                .invalidParameterValue, "Invalid marker '\(marker)': pass the NextMarker of the previous page.")
        }
        return number
    }

    public static let notFound = RelctlError(.resourceNotFound, "The resource you requested does not exist.")

    /// A function's layers live in its region. AWS checks this before anything about the function
    /// itself, even whether it already exists. A malformed ARN is left to `references`.
    public static func requireInRegion(_ arns: [String], region: String) throws(RelctlError) {
        for text in arns {
            guard let reference = try? LayerVersionReference(parsing: text), reference.region != region else {
                continue
            }
            throw RelctlError(
                .invalidParameterValue,
                "Layers are not in the same region as the function. Layers are expected to be in region \(region).")
        }
    }

    /// A function's layer ARNs parsed, in order: at most 5, one version of each layer. Each entry keeps the
    /// ARN's text for `missing(_:)` (the engine then looks the versions up in the account `account`).
    public static func references(
        _ arns: [String]
    ) throws(RelctlError) -> [(text: String, reference: LayerVersionReference)] {
        guard arns.count <= Limits.layersPerFunction else {
            throw RelctlError(.invalidParameterValue, "Cannot reference more than 5 layers.")
        }
        var parsed: [(text: String, reference: LayerVersionReference)] = []
        var byName: [String: String] = [:]
        for text in arns {
            let reference = try LayerVersionReference(parsing: text)
            if let other = byName[reference.name] {
                throw RelctlError(
                    .invalidParameterValue,
                    "Two different versions of the same layer are not allowed to be referenced in the same function. \(other) and \(text) are versions of the same layer."
                )
            }
            byName[reference.name] = text
            parsed.append((text, reference))
        }
        return parsed
    }

    /// A layer ARN that names no live layer version of this account.
    public static func missing(_ text: String) -> RelctlError {
        RelctlError(.invalidParameterValue, "Layer version \(text) does not exist.")
    }

    /// The function's code plus its layers, unzipped, must fit Lambda's 250 MB.
    public static func requireUnzippedFits(code: Int64, layers: [Int64]) throws(RelctlError) {
        guard layers.reduce(code, +) <= Limits.codeSizeUnzipped else {
            throw RelctlError(
                .invalidParameterValue, "Unzipped size must be smaller than \(Limits.codeSizeUnzipped) bytes")
        }
    }

    /// CompatibleRuntimes / CompatibleArchitectures as the engines store them: a JSON array.
    public static func storedList(_ values: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
    }

    public static func decodeStoredList(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}

extension LayerVersion {
    /// A stored layer version (a row of either engine: JSON lists) as the API answers it; `codeSha256` is
    /// base64, as AWS shows it.
    public static func stored(
        _ arn: ArnContext, name: String, version: Int, codeSha256: String, codeSize: Int64, description: String,
        createdDate: String, compatibleRuntimes: String, compatibleArchitectures: String, licenseInfo: String?
    ) -> LayerVersion {
        LayerVersion(
            Content: LayerVersionContent(CodeSha256: codeSha256, CodeSize: codeSize),
            LayerArn: arn.layerArn(name), LayerVersionArn: arn.layerVersionArn(name, version: version),
            Description: description, CreatedDate: createdDate, Version: version,
            CompatibleRuntimes: LayerRules.decodeStoredList(compatibleRuntimes),
            CompatibleArchitectures: LayerRules.decodeStoredList(compatibleArchitectures), LicenseInfo: licenseInfo)
    }
}
