import ArgumentParser
import Foundation
import RelctlCore
import RelctlPackages
import RelctlPostgres
import RelctlStorage
import RelctlStore

struct LayerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layer",
        abstract: "Layers: shared code packages that functions attach by version ARN.",
        subcommands: [PublishLayer.self, List.self, Versions.self, Get.self, Delete.self]
    )

    struct PublishLayer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish", abstract: "Publish a new layer version (PublishLayerVersion).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @OptionGroup var code: CodeSource
        @Option(name: .customLong("compatible-runtime"), help: "A runtime it supports (repeatable).")
        var compatibleRuntimes: [String] = []
        @Option(name: .customLong("compatible-architecture"), help: "x86_64 or arm64 (repeatable).")
        var compatibleArchitectures: [String] = []
        @Option var description: String = ""
        @Option(name: .customLong("license-info")) var licenseInfo: String?

        func run() async throws {
            if let records = try await global.databaseLayerRecords() {
                return render(
                    try await records.publishLayerVersion(
                        name: name, zip: try code.load().bytes, description: description,
                        compatibleRuntimes: compatibleRuntimes, compatibleArchitectures: compatibleArchitectures,
                        licenseInfo: licenseInfo), global.output)
            }
            let registry = try global.registry()
            let package = try code.load(into: registry)
            let layer = try registry.publishLayerVersion(
                name: name, code: package, description: description, compatibleRuntimes: compatibleRuntimes,
                compatibleArchitectures: compatibleArchitectures, licenseInfo: licenseInfo)
            render(layer, global.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List layers with their newest version (ListLayers).")
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("compatible-runtime")) var compatibleRuntime: String?
        @Option(name: .customLong("max-items")) var maxItems: Int?
        @Option var marker: String?

        func run() async throws {
            let page = try await global.layerRecords().layerPage(
                compatibleRuntime: compatibleRuntime, compatibleArchitecture: nil, marker: marker, maxItems: maxItems)
            if global.output == .json {
                struct Listing: Encodable { var Layers: [LayerSummary]; var NextMarker: String? }
                return Output.json(Listing(Layers: page.items, NextMarker: page.nextMarker))
            }
            Output.table(
                ["Layer", "Latest", "CodeSize", "Description", "LayerVersionArn"],
                page.items.map {
                    [
                        $0.LayerName, String($0.LatestMatchingVersion.Version),
                        Output.size($0.LatestMatchingVersion.Content.CodeSize),
                        $0.LatestMatchingVersion.Description, $0.LatestMatchingVersion.LayerVersionArn,
                    ]
                })
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a layer's versions, newest first (ListLayerVersions).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option(name: .customLong("compatible-runtime")) var compatibleRuntime: String?
        @Option(name: .customLong("max-items")) var maxItems: Int?
        @Option var marker: String?

        func run() async throws {
            let page = try await global.layerRecords().layerVersionPage(
                name: name, compatibleRuntime: compatibleRuntime, compatibleArchitecture: nil, marker: marker,
                maxItems: maxItems)
            if global.output == .json {
                struct Listing: Encodable { var LayerVersions: [LayerVersion]; var NextMarker: String? }
                return Output.json(Listing(LayerVersions: page.items, NextMarker: page.nextMarker))
            }
            Output.table(
                ["Version", "CodeSize", "Created", "Runtimes", "Description"],
                page.items.map {
                    [
                        String($0.Version), Output.size($0.Content.CodeSize), $0.CreatedDate,
                        $0.CompatibleRuntimes.joined(separator: ","), $0.Description,
                    ]
                })
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one layer version (GetLayerVersion).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var version: Int

        func run() async throws {
            render(try await global.layerRecords().getLayerVersion(name: name, version: version), global.output)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a layer version (DeleteLayerVersion); functions that use it keep it until they go.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var version: Int

        func run() async throws {
            let deleted = try await global.layerRecords().deleteLayerVersion(name: name, version: version)
            if global.output == .json { return Output.json(["StatusCode": 204]) }
            print(
                deleted
                    ? "Deleted layer version \(name):\(version)."
                    : "Layer version \(name):\(version) does not exist; nothing to delete.")
        }
    }
}

func render(_ layer: LayerVersion, _ output: OutputFormat) {
    if output == .json { return Output.json(layer) }
    var pairs: [(String, String)] = [
        ("LayerVersionArn", layer.LayerVersionArn), ("Version", String(layer.Version)),
        ("CodeSize", "\(layer.Content.CodeSize) (\(Output.size(layer.Content.CodeSize)))"),
        ("CodeSha256", layer.Content.CodeSha256), ("Description", layer.Description),
        ("CreatedDate", layer.CreatedDate),
        ("CompatibleRuntimes", layer.CompatibleRuntimes.joined(separator: ", ")),
    ]
    if let license = layer.LicenseInfo { pairs.append(("LicenseInfo", license)) }
    Output.fields(pairs)
}

extension GlobalOptions {
    /// The records the layer commands use: the data directory's registry, or the `--database` one.
    func layerRecords() async throws -> any RegistryRecords {
        if let records = try await databaseLayerRecords() { return records }
        return try registry()
    }

    /// On `--database postgres://…`: its records, with code in `--code-store` (else this data directory's
    /// blobs, as `relctl serve --database` keeps it); nil on SQLite.
    func databaseLayerRecords() async throws -> (any RegistryRecords)? {
        try await postgresRecords()
    }
}
