import RelctlCore

// Lambda's response shapes that are not registry records: lists with their markers, GetFunction,
// concurrency and tags.
struct FunctionList: Encodable { var Functions: [FunctionConfiguration]; var NextMarker: String? }
struct VersionList: Encodable { var Versions: [FunctionConfiguration]; var NextMarker: String? }
struct AliasList: Encodable { var Aliases: [AliasConfiguration]; var NextMarker: String? }
struct LayerVersionList: Encodable { var LayerVersions: [LayerVersion]; var NextMarker: String? }
struct LayerList: Encodable { var Layers: [LayerSummary]; var NextMarker: String? }
struct GetFunctionResponse: Encodable {
    struct CodeLocation: Encodable { var RepositoryType: String; var Location: String }
    var Configuration: FunctionConfiguration
    var Code: CodeLocation
    var Concurrency: FunctionConcurrency?
}
/// `{}` when the function has no reserved concurrency.
struct FunctionConcurrency: Encodable { var ReservedConcurrentExecutions: Int? }
struct TagList: Encodable { var Tags: [String: String] }
