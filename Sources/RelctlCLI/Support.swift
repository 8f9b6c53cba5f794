import ArgumentParser
import Foundation
import RelctlCore
import RelctlPackages
import RelctlS3
import RelctlStorage
import RelctlStore
import RelctlSystem

extension GlobalOptions {
    /// The registry of the data directory, writing code through to the bucket of `--code-store` when one is named.
    /// The SQLite registry in the data directory. A command that has not moved onto the engine-neutral
    /// store protocols yet refuses, in one line, to run against another database.
    func registry(s3Endpoint: String? = nil) throws -> Registry {
        if case .postgres(let url) = try databaseLocation() {
            throw RelctlError(
                .invalidParameterValue,
                "This command does not run on PostgreSQL yet (--database \(url.description)): it needs the SQLite registry in the data directory; unset --database / RELCTL_DATABASE."
            )
        }
        return try Registry(
            dataDirectory: resolvedDataDirectory, remoteCode: try remoteCodeStore(s3Endpoint: s3Endpoint))
    }

    /// `--database` / `RELCTL_DATABASE` (default: SQLite in the data directory); a wrong URL is one error line.
    func databaseLocation() throws(RelctlError) -> DatabaseLocation {
        try DatabaseLocation.parse(database: database, environment: ProcessInfo.processInfo.environment)
    }

    /// `--code-store` / `RELCTL_CODE_STORE` as a store (nil: the data directory alone); a wrong setting is one error line.
    func remoteCodeStore(s3Endpoint: String? = nil) throws -> (any CodeObjectStore)? {
        switch try CodeStoreLocation.parse(
            codeStore: codeStore, s3Endpoint: s3Endpoint, environment: ProcessInfo.processInfo.environment)
        {
        case .dataDirectory: return nil
        case .s3(let settings): return S3CodeStore(settings: settings)
        }
    }
}

/// `--zip-file FILE` or `--dir FOLDER`: where code comes from.
struct CodeSource: ParsableArguments {
    @Option(name: .customLong("zip-file"), help: "A zip package (≤ 50 MB zipped, ≤ 250 MB unzipped with layers).")
    var zipFile: String?

    @Option(name: .customLong("dir"), help: "A folder that relctl zips (deterministically) for you.")
    var directory: String?

    func validate() throws {
        if (zipFile == nil) == (directory == nil) {
            throw ValidationError("Give the code with exactly one of --zip-file FILE or --dir FOLDER.")
        }
    }

    /// The package, validated; with a registry, also written into its blob store while it is validated.
    func load(into registry: Registry? = nil) throws -> InspectedPackage {
        let bytes: Data
        if let zipFile {
            let url = URL(fileURLWithPath: zipFile)
            guard let status = FileStatus.of(path: url.path) else {
                throw RelctlError(
                    .invalidParameterValue, "Cannot read --zip-file \(zipFile): \(String(cString: strerror(errno))).")
            }
            guard status.size <= Limits.codeSizeZipped else {
                throw RelctlError(
                    .requestEntityTooLarge, "Zipped size must be smaller than \(Limits.codeSizeZipped) bytes")
            }
            do {
                bytes = try Data(contentsOf: url)
            } catch {
                throw RelctlError(
                    .invalidParameterValue, "Cannot read --zip-file \(zipFile): \(error.localizedDescription)")
            }
        } else {
            bytes = try PackageBuilder.zip(directory: URL(fileURLWithPath: directory!, isDirectory: true))
        }
        return try registry?.blobs.inspectAndStage(bytes) ?? PackageInspector.inspect(bytes)
    }
}

/// `KEY=VALUE`, split at the first `=`.
func parseAssignments(_ items: [String], flag: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for item in items {
        guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
            throw ValidationError("\(flag) takes KEY=VALUE, got '\(item)'.")
        }
        result[String(item[..<equals])] = String(item[item.index(after: equals)...])
    }
    return result
}

/// `--weight VERSION=WEIGHT`, the weight a fraction (0.1) or a percentage (10%).
func parseWeight(_ text: String?) throws -> [String: Double]? {
    guard let text else { return nil }
    guard let equals = text.firstIndex(of: "=") else {
        throw ValidationError("--weight takes VERSION=WEIGHT (e.g. 2=0.1 or 2=10%), got '\(text)'.")
    }
    let version = String(text[..<equals])
    var value = String(text[text.index(after: equals)...])
    var scale = 1.0
    if value.hasSuffix("%") {
        value.removeLast()
        scale = 0.01
    }
    guard let weight = Double(value) else {
        throw ValidationError(
            "--weight takes VERSION=WEIGHT with a number between 0.0 and 1.0 (or 0% and 100%), got '\(text)'.")
    }
    return [version: weight * scale]
}

func parseFunction(_ text: String) throws -> FunctionReference {
    try FunctionReference(parsing: text)
}

/// Renders one function configuration.
func render(_ configuration: FunctionConfiguration, _ output: OutputFormat) {
    if output == .json { return Output.json(configuration) }
    var pairs: [(String, String)] = [
        ("FunctionName", configuration.FunctionName),
        ("FunctionArn", configuration.FunctionArn),
        ("Version", configuration.Version),
        ("Runtime", configuration.Runtime ?? "-"),
        ("Handler", configuration.Handler ?? "-"),
        ("MemorySize", "\(configuration.MemorySize) MB"),
        ("Timeout", "\(configuration.Timeout) s"),
        ("CodeSize", "\(configuration.CodeSize) (\(Output.size(configuration.CodeSize)))"),
        ("CodeSha256", configuration.CodeSha256),
        ("Description", configuration.Description),
        ("LastModified", configuration.LastModified),
        ("RevisionId", configuration.RevisionId),
    ]
    if let variables = configuration.Environment?.Variables, !variables.isEmpty {
        pairs.append(("Environment", variables.keys.sorted().map { "\($0)=\(variables[$0]!)" }.joined(separator: " ")))
    }
    for layer in configuration.Layers ?? [] { pairs.append(("Layer", layer.Arn)) }
    Output.fields(pairs)
}

func renderList(_ configurations: [FunctionConfiguration], key: String, nextMarker: String?, _ output: OutputFormat) {
    if output == .json {
        struct Listing: Encodable {
            var items: [FunctionConfiguration]
            var key: String
            var nextMarker: String?
            struct Key: CodingKey {
                var stringValue: String
                init(stringValue: String) { self.stringValue = stringValue }
                var intValue: Int? { nil }
                init?(intValue: Int) { nil }
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(items, forKey: Key(stringValue: key))
                try container.encodeIfPresent(nextMarker, forKey: Key(stringValue: "NextMarker"))
            }
        }
        return Output.json(Listing(items: configurations, key: key, nextMarker: nextMarker))
    }
    Output.table(
        ["Function", "Version", "Runtime", "CodeSize", "Description", "LastModified"],
        configurations.map {
            [$0.FunctionName, $0.Version, $0.Runtime ?? "-", Output.size($0.CodeSize), $0.Description, $0.LastModified]
        })
    if let nextMarker { Output.note("more: --marker \(nextMarker)") }
}

func render(_ alias: AliasConfiguration, _ output: OutputFormat) {
    if output == .json { return Output.json(alias) }
    var pairs: [(String, String)] = [
        ("Name", alias.Name), ("AliasArn", alias.AliasArn), ("FunctionVersion", alias.FunctionVersion),
    ]
    if let weights = alias.RoutingConfig?.AdditionalVersionWeights {
        for (version, weight) in weights.sorted(by: { $0.key < $1.key }) {
            pairs.append(
                (
                    "Routing",
                    "\(version) gets \(formatWeight(weight)), \(alias.FunctionVersion) gets \(formatWeight(1 - weight))"
                ))
        }
    }
    pairs += [("Description", alias.Description), ("RevisionId", alias.RevisionId)]
    Output.fields(pairs)
}

func formatWeight(_ weight: Double) -> String {
    let percent = (weight * 10000).rounded() / 100
    return percent == percent.rounded() ? "\(Int(percent))%" : "\(percent)%"
}
