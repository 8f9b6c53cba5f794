/// Lambda's documented quotas and bounds, in bytes where they are sizes.
public enum Limits {
    /// `AccountLimit.TotalCodeSize`: 75 GB as AWS reports it (75 × 2³⁰ bytes).
    public static let defaultTotalCodeSize: Int64 = 80_530_636_800
    /// `AccountLimit.CodeSizeZipped`: a directly uploaded zip.
    public static let codeSizeZipped: Int64 = 52_428_800
    /// `AccountLimit.CodeSizeUnzipped`: the function and all its layers, unzipped.
    public static let codeSizeUnzipped: Int64 = 262_144_000
    public static let concurrentExecutions = 1000
    public static let memorySize = 128...10240
    public static let defaultMemorySize = 128
    public static let timeout = 1...900
    /// `EphemeralStorage.Size`, in MB.
    public static let ephemeralStorageSize = 512...10240
    public static let defaultTimeout = 3
    /// Environment variables, measured as their JSON text.
    public static let environmentBytes = 4096
    public static let layersPerFunction = 5
    public static let descriptionLength = 256
    public static let functionNameLength = 64
    public static let aliasNameLength = 128
    public static let layerNameLength = 140
    /// Page size cap of ListVersionsByFunction / ListFunctions.
    public static let listPageSize = 50
}
