import Foundation

// The API's JSON shapes, field for field as botocore's Lambda model names them.

public struct EnvironmentResponse: Codable, Sendable, Equatable {
    public var Variables: [String: String]
    public init(Variables: [String: String]) { self.Variables = Variables }
}

public struct LayerReference: Codable, Sendable, Equatable {
    public var Arn: String
    public var CodeSize: Int64
    public init(Arn: String, CodeSize: Int64) {
        self.Arn = Arn
        self.CodeSize = CodeSize
    }
}

public struct EphemeralStorage: Codable, Sendable, Equatable {
    public var Size: Int
    public init(Size: Int) { self.Size = Size }
}
public struct TracingConfig: Codable, Sendable, Equatable {
    public var Mode: String
    public init(Mode: String) { self.Mode = Mode }
}

/// `LoggingConfig`: where and in which format the function's logs go (levels only with JSON).
public struct LoggingConfig: Codable, Sendable, Equatable {
    public var LogFormat: String?
    public var ApplicationLogLevel: String?
    public var SystemLogLevel: String?
    public var LogGroup: String?
    public init(
        LogFormat: String? = nil, ApplicationLogLevel: String? = nil, SystemLogLevel: String? = nil,
        LogGroup: String? = nil
    ) {
        self.LogFormat = LogFormat
        self.ApplicationLogLevel = ApplicationLogLevel
        self.SystemLogLevel = SystemLogLevel
        self.LogGroup = LogGroup
    }
}

/// `SnapStartResponse`: relctl has no SnapStart, so always what AWS reports for a function without it.
public struct SnapStartResponse: Codable, Sendable, Equatable {
    public var ApplyOn = "None"
    public var OptimizationStatus = "Off"
}

public struct RuntimeVersionConfig: Codable, Sendable, Equatable {
    public var RuntimeVersionArn: String
    public init(RuntimeVersionArn: String) { self.RuntimeVersionArn = RuntimeVersionArn }
}

/// `FunctionConfiguration`: `$LATEST` or one published version.
public struct FunctionConfiguration: Codable, Sendable, Equatable {
    public var FunctionName: String
    public var FunctionArn: String
    public var Runtime: String?
    public var Role: String
    public var Handler: String?
    public var CodeSize: Int64
    public var Description: String
    public var Timeout: Int
    public var MemorySize: Int
    public var LastModified: String
    public var CodeSha256: String
    public var Version: String
    public var Environment: EnvironmentResponse?
    public var RevisionId: String
    public var Layers: [LayerReference]?
    /// The state fields; list items leave them out (nil), as AWS's ListFunctions does.
    public var State: String? = "Active"
    public var StateReason: String?
    public var StateReasonCode: String?
    public var LastUpdateStatus: String? = "Successful"
    public var LastUpdateStatusReason: String?
    public var LastUpdateStatusReasonCode: String?
    public var PackageType: String = "Zip"
    public var Architectures: [String]
    public var EphemeralStorage = RelctlCore.EphemeralStorage(Size: 512)
    public var TracingConfig = RelctlCore.TracingConfig(Mode: "PassThrough")
    public var LoggingConfig: RelctlCore.LoggingConfig?
    /// Omitted from list items, and for a function without a runtime.
    public var RuntimeVersionConfig: RelctlCore.RuntimeVersionConfig?
    public var SnapStart = SnapStartResponse()

    public init(
        FunctionName: String, FunctionArn: String, Runtime: String?, Role: String, Handler: String?, CodeSize: Int64,
        Description: String, Timeout: Int, MemorySize: Int, LastModified: String, CodeSha256: String, Version: String,
        Environment: EnvironmentResponse?, RevisionId: String, Layers: [LayerReference]?, Architectures: [String]
    ) {
        self.FunctionName = FunctionName
        self.FunctionArn = FunctionArn
        self.Runtime = Runtime
        self.Role = Role
        self.Handler = Handler
        self.CodeSize = CodeSize
        self.Description = Description
        self.Timeout = Timeout
        self.MemorySize = MemorySize
        self.LastModified = LastModified
        self.CodeSha256 = CodeSha256
        self.Version = Version
        self.Environment = Environment
        self.RevisionId = RevisionId
        self.Layers = Layers
        self.Architectures = Architectures
    }
}

extension FunctionConfiguration {
    /// The configuration as ListFunctions and ListVersionsByFunction show it: without the state
    /// fields and RuntimeVersionConfig, which AWS leaves out of list items.
    public var listItem: FunctionConfiguration {
        var item = self
        item.State = nil
        item.StateReason = nil
        item.StateReasonCode = nil
        item.LastUpdateStatus = nil
        item.LastUpdateStatusReason = nil
        item.LastUpdateStatusReasonCode = nil
        item.RuntimeVersionConfig = nil
        return item
    }
}

public struct AliasRoutingConfiguration: Codable, Sendable, Equatable {
    public var AdditionalVersionWeights: [String: Double]
    public init(AdditionalVersionWeights: [String: Double]) { self.AdditionalVersionWeights = AdditionalVersionWeights }
}

/// `AliasConfiguration`.
public struct AliasConfiguration: Codable, Sendable, Equatable {
    public var AliasArn: String
    public var Name: String
    public var FunctionVersion: String
    public var Description: String
    /// Omitted when there is no additional version, as AWS does.
    public var RoutingConfig: AliasRoutingConfiguration?
    public var RevisionId: String

    public init(
        AliasArn: String, Name: String, FunctionVersion: String, Description: String,
        RoutingConfig: AliasRoutingConfiguration?, RevisionId: String
    ) {
        self.AliasArn = AliasArn
        self.Name = Name
        self.FunctionVersion = FunctionVersion
        self.Description = Description
        self.RoutingConfig = RoutingConfig
        self.RevisionId = RevisionId
    }
}

public struct LayerVersionContent: Codable, Sendable, Equatable {
    public var CodeSha256: String
    public var CodeSize: Int64
    /// A presigned URL for the content, set by the server (absent elsewhere).
    public var Location: String?
    public init(CodeSha256: String, CodeSize: Int64, Location: String? = nil) {
        self.CodeSha256 = CodeSha256
        self.CodeSize = CodeSize
        self.Location = Location
    }
}

/// `PublishLayerVersion` / `GetLayerVersion`'s answer.
public struct LayerVersion: Codable, Sendable, Equatable {
    public var Content: LayerVersionContent
    public var LayerArn: String
    public var LayerVersionArn: String
    public var Description: String
    public var CreatedDate: String
    public var Version: Int
    public var CompatibleRuntimes: [String]
    public var CompatibleArchitectures: [String]
    public var LicenseInfo: String?

    public init(
        Content: LayerVersionContent, LayerArn: String, LayerVersionArn: String, Description: String,
        CreatedDate: String, Version: Int, CompatibleRuntimes: [String], CompatibleArchitectures: [String],
        LicenseInfo: String?
    ) {
        self.Content = Content
        self.LayerArn = LayerArn
        self.LayerVersionArn = LayerVersionArn
        self.Description = Description
        self.CreatedDate = CreatedDate
        self.Version = Version
        self.CompatibleRuntimes = CompatibleRuntimes
        self.CompatibleArchitectures = CompatibleArchitectures
        self.LicenseInfo = LicenseInfo
    }
}

/// One entry of `ListLayers`.
public struct LayerSummary: Codable, Sendable, Equatable {
    public var LayerName: String
    public var LayerArn: String
    public var LatestMatchingVersion: LayerVersion
    public init(LayerName: String, LayerArn: String, LatestMatchingVersion: LayerVersion) {
        self.LayerName = LayerName
        self.LayerArn = LayerArn
        self.LatestMatchingVersion = LatestMatchingVersion
    }
}

/// `GetAccountSettings`.
public struct AccountSettings: Codable, Sendable, Equatable {
    public struct Limit: Codable, Sendable, Equatable {
        public var TotalCodeSize: Int64
        public var CodeSizeUnzipped: Int64 = Limits.codeSizeUnzipped
        public var CodeSizeZipped: Int64 = Limits.codeSizeZipped
        public var ConcurrentExecutions: Int = Limits.concurrentExecutions
        public var UnreservedConcurrentExecutions: Int
        public init(TotalCodeSize: Int64, UnreservedConcurrentExecutions: Int) {
            self.TotalCodeSize = TotalCodeSize
            self.UnreservedConcurrentExecutions = UnreservedConcurrentExecutions
        }
    }
    public struct Usage: Codable, Sendable, Equatable {
        public var TotalCodeSize: Int64
        public var FunctionCount: Int
        public init(TotalCodeSize: Int64, FunctionCount: Int) {
            self.TotalCodeSize = TotalCodeSize
            self.FunctionCount = FunctionCount
        }
    }
    public var AccountLimit: Limit
    public var AccountUsage: Usage

    public init(AccountLimit: Limit, AccountUsage: Usage) {
        self.AccountLimit = AccountLimit
        self.AccountUsage = AccountUsage
    }
}

/// Lambda's timestamp text: `2019-09-26T20:28:40.438+0000`, always UTC.
public enum LambdaTimestamp {
    public static func string(from date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = millis / 1000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let year = Int(parts.tm_year) + 1900
        if millis >= 0, year <= 9999 {
            // The usual case, written byte by byte (every audit row, event and alias move carries one).
            return String(unsafeUninitializedCapacity: 28) { buffer in
                var out = 0
                func put(_ value: Int, _ width: Int) {
                    var rest = value
                    for index in stride(from: out + width - 1, through: out, by: -1) {
                        buffer[index] = UInt8(48 + rest % 10)
                        rest /= 10
                    }
                    out += width
                }
                func put(_ character: Unicode.Scalar) {
                    buffer[out] = UInt8(ascii: character)
                    out += 1
                }
                put(year, 4)
                put("-")
                put(Int(parts.tm_mon) + 1, 2)
                put("-")
                put(Int(parts.tm_mday), 2)
                put("T")
                put(Int(parts.tm_hour), 2)
                put(":")
                put(Int(parts.tm_min), 2)
                put(":")
                put(Int(parts.tm_sec), 2)
                put(".")
                put(Int(millis % 1000), 3)
                for character in "+0000".unicodeScalars { put(character) }
                return out
            }
        }
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis % 1000), 3))+0000"
    }

    public static func date(from text: String) -> Date? {
        // yyyy-MM-ddTHH:mm:ss.SSS+0000
        let u = Array(text.utf8)
        guard u.count == 28 else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: u[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            let millis = number(20..<23)
        else { return nil }
        // One addition from the whole seconds, so every millisecond round-trips exactly.
        let seconds = secondsSince1970(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        return Date(timeIntervalSince1970: seconds + Double(millis) / 1000)
    }

    /// Seconds since 1970 of a UTC calendar date and time (shared by every timestamp format relctl parses).
    public static func secondsSince1970(
        year: Int32, month: Int32, day: Int32, hour: Int32, minute: Int32, second: Int32
    ) -> Double {
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Double(timegm(&parts))
    }
}
