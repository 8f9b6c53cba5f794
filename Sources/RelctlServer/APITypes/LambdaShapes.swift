import RelctlCore

// Lambda's response shapes that are not registry records: lists with their markers, GetFunction,
// concurrency and tags.
struct FunctionList: Encodable { var Functions: [FunctionConfiguration]; var NextMarker: String? }
struct VersionList: Encodable { var Versions: [FunctionConfiguration]; var NextMarker: String? }
struct AliasList: Encodable { var Aliases: [AliasConfiguration]; var NextMarker: String? }
struct LayerVersionList: Encodable { var LayerVersions: [LayerVersionsListItem]; var NextMarker: String? }
struct LayerList: Encodable {
    struct Item: Encodable {
        var LayerName: String; var LayerArn: String; var LatestMatchingVersion: LayerVersionsListItem
    }
    var Layers: [Item]
    var NextMarker: String?
}
/// A layer version in ListLayerVersions / ListLayers: no Content, and no Description or
/// CompatibleArchitectures when they are empty, as AWS lists them.
struct LayerVersionsListItem: Encodable {
    var LayerVersionArn: String
    var Version: Int
    var Description: String?
    var CreatedDate: String
    var CompatibleRuntimes: [String]
    var LicenseInfo: String?
    var CompatibleArchitectures: [String]?

    init(_ layer: LayerVersion) {
        LayerVersionArn = layer.LayerVersionArn
        Version = layer.Version
        Description = layer.Description.isEmpty ? nil : layer.Description
        CreatedDate = layer.CreatedDate
        CompatibleRuntimes = layer.CompatibleRuntimes
        LicenseInfo = layer.LicenseInfo
        CompatibleArchitectures = layer.CompatibleArchitectures.isEmpty ? nil : layer.CompatibleArchitectures
    }
}
struct GetFunctionResponse: Encodable {
    struct CodeLocation: Encodable { var RepositoryType: String; var Location: String }
    var Configuration: FunctionConfiguration
    var Code: CodeLocation
    /// Omitted when the function has no tags.
    var Tags: [String: String]?
    var Concurrency: FunctionConcurrency?
}
/// `{}` when the function has no reserved concurrency.
struct FunctionConcurrency: Encodable { var ReservedConcurrentExecutions: Int? }
struct TagList: Encodable { var Tags: [String: String] }
