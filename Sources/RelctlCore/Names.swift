/// Where ARNs point: relctl answers as one account in one region (`local` / `000000000000` unless configured).
public struct ArnContext: Sendable, Equatable {
    public var region: String
    public var account: String

    public static let defaultRegion = "local"
    public static let defaultAccount = "000000000000"

    public init(region: String = ArnContext.defaultRegion, account: String = ArnContext.defaultAccount) {
        self.region = region
        self.account = account
    }

    public func functionArn(_ name: String, qualifier: String? = nil) -> String {
        let base = "arn:aws:lambda:\(region):\(account):function:\(name)"
        return qualifier.map { "\(base):\($0)" } ?? base
    }

    /// Refuses a function that a full or partial ARN places outside this region and account, as
    /// AWS does for every operation that names a function: a region that is not one fails the
    /// functionName pattern (ValidationException), another account is refused (AccessDenied: no
    /// resource-based policy can grant it), another region is not reachable (404). `text` is the
    /// name as the caller wrote it, `action` the AWS operation, `caller` who asked.
    public func requireReachable(
        _ function: FunctionReference, named text: String, shape: FunctionReference.NameShape, action: String,
        caller: String
    ) throws(RelctlError) {
        if let region = function.region, region != self.region, !FunctionReference.isRegionName(region) {
            throw .validation(
                value: text, field: "functionName",
                constraint: "Member must satisfy regular expression pattern: \(shape.pattern)")
        }
        if let account = function.account, account != self.account {
            let resource = ArnContext(region: function.region ?? region, account: account)
                .functionArn(function.name, qualifier: function.qualifier?.description)
            throw RelctlError(
                .accessDenied,
                "User: \(caller) is not authorized to perform: lambda:\(action) on resource: \(resource) because no resource-based policy allows the lambda:\(action) action"
            )
        }
        if let region = function.region, region != self.region {
            throw RelctlError(
                .resourceNotFound, "Functions from '\(region)' are not reachable in this region ('\(self.region)')")
        }
    }

    public func layerArn(_ name: String) -> String { "arn:aws:lambda:\(region):\(account):layer:\(name)" }

    public func layerVersionArn(_ name: String, version: Int) -> String { "\(layerArn(name)):\(version)" }
}

/// What follows a function name after `:` — `$LATEST`, a version number or an alias name.
public enum Qualifier: Hashable, Sendable, CustomStringConvertible {
    case latest
    case version(Int)
    case alias(String)

    /// Parses a qualifier with Lambda's rule `(|[a-zA-Z0-9$_-]+)`, max 128: `$LATEST` is case-sensitive.
    public init(parsing text: String) throws(RelctlError) {
        guard !text.isEmpty, text.count <= 128 else {
            throw .validation(
                value: text, field: "qualifier", constraint: "Member must have length less than or equal to 128")
        }
        if text == "$LATEST" {
            self = .latest
        } else if text.allSatisfy(\.isASCIIDigit) {
            guard let number = Int(text), number >= 1 else {
                throw RelctlError(.invalidParameterValue, "Invalid version \(text): versions are numbered from 1.")
            }
            self = .version(number)
        } else if text.allSatisfy({ $0.isNameCharacter || $0 == "$" }) {
            self = .alias(text)
        } else {
            throw .validation(
                value: text, field: "qualifier",
                constraint: "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
        }
    }

    public var description: String {
        switch self {
        case .latest: "$LATEST"
        case .version(let number): String(number)
        case .alias(let name): name
        }
    }
}

/// A function named in any form Lambda accepts: `name`, `123456789012:function:name`,
/// `arn:aws:lambda:region:123456789012:function:name`, each optionally with `:qualifier`.
public struct FunctionReference: Hashable, Sendable {
    public var name: String
    public var qualifier: Qualifier?
    /// The account named in an ARN form, if any.
    public var account: String?
    /// The region named in a full ARN, if any, as written: `ArnContext.requireReachable` judges it.
    public var region: String?

    public init(name: String, qualifier: Qualifier? = nil) {
        self.name = name
        self.qualifier = qualifier
    }

    /// The two shapes AWS's model gives a FunctionName input: `functionName` (CreateFunction, updates,
    /// PublishVersion, aliases, concurrency: 140 characters) and `namespaced` (GetFunction,
    /// GetFunctionConfiguration, DeleteFunction, Invoke, ListVersionsByFunction: 256 characters).
    public enum NameShape: Sendable {
        case functionName
        case namespaced

        public var maxLength: Int { self == .functionName ? 140 : 256 }
        public var pattern: String {
            self == .functionName ? FunctionReference.createPattern : FunctionReference.namespacedPattern
        }
    }

    /// Parses a name, partial or full ARN. Every constraint the text fails is reported, joined as
    /// AWS joins them ("2 validation errors detected: …; …").
    public init(parsing text: String, shape: NameShape = .functionName) throws(RelctlError) {
        var failures: [String] = []
        if text.isEmpty { failures.append("Member must have length greater than or equal to 1") }
        if text.utf8.count > shape.maxLength {
            failures.append("Member must have length less than or equal to \(shape.maxLength)")
        }
        let parts = Self.components(of: text)
        // An empty name is reported for its length alone.
        if parts == nil, !text.isEmpty {
            failures.append("Member must satisfy regular expression pattern: \(shape.pattern)")
        }
        guard failures.isEmpty, let parts else {
            throw .validation(value: text, field: "functionName", constraints: failures)
        }
        // Only CreateFunction enforces the 64-character limit; a longer name elsewhere is simply not found.
        self.name = parts.name
        self.qualifier = try parts.qualifier.map { text throws(RelctlError) in try Qualifier(parsing: text) }
        self.account = parts.account
        self.region = parts.region
    }

    /// The parts of `[arn:PARTITION:lambda:REGION:]ACCOUNT:function:]NAME[:QUALIFIER]`, or nil when
    /// the text has no such shape.
    private static func components(
        of text: String
    ) -> (name: String, qualifier: String?, account: String?, region: String?)? {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var account: String?
        var region: String?
        if parts.first == "arn", parts.count >= 3 {
            // arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]. AWS's pattern makes
            // `function:` optional, so `arn:…:ACCOUNT:function` names the function "function".
            guard parts.count >= 6, parts[1].hasPrefix("aws"), parts[2] == "lambda",
                parts.count == 6 || parts[5] == "function"
            else { return nil }
            region = parts[3]
            account = parts[4]
            parts.removeFirst(parts.count == 6 ? 5 : 6)
        } else if parts.count >= 3, parts[1] == "function" {
            account = parts[0]
            parts.removeFirst(2)
        }
        if let account, !(account.count == 12 && account.allSatisfy(\.isASCIIDigit)) { return nil }
        guard parts.count == 1 || parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy(\.isNameCharacter) else {
            return nil
        }
        return (parts[0], parts.count == 2 ? parts[1] : nil, account, region)
    }

    /// The functionName patterns AWS quotes in its ValidationException: CreateFunction's, and the
    /// namespaced one (`.` in names, `$LATEST.PUBLISHED`) of the reads, deletes and Invoke.
    public static let createPattern =
        #"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"#
    public static let namespacedPattern =
        #"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"#

    /// Whether `text` is a region as AWS's functionName pattern spells one:
    /// `(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}`.
    public static func isRegionName(_ text: String) -> Bool {
        var parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        if parts.first == "eusc" { parts.removeFirst() }
        func lowercase(_ part: String) -> Bool { part.allSatisfy { $0.isASCII && $0.isLowercase } }
        guard parts.count == 3 || parts.count == 4,
            parts[0].count == 2, lowercase(parts[0]),
            let digit = parts.last, digit.count == 1, digit.allSatisfy(\.isASCIIDigit),
            let word = parts.dropLast().last, !word.isEmpty, lowercase(word)
        else { return false }
        guard parts.count == 4 else { return true }
        let partition = parts[1]
        return partition == "gov" || (partition.hasPrefix("iso") && partition.count <= 4 && lowercase(partition))
    }

    /// A bare function name: `[a-zA-Z0-9-_]+`, 1–64 characters.
    public static func validateName(_ name: String) throws(RelctlError) {
        guard !name.isEmpty, name.allSatisfy(\.isNameCharacter) else {
            throw .validation(
                value: name, field: "functionName",
                constraint: "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
        }
        guard name.count <= Limits.functionNameLength else {
            throw RelctlError(
                .invalidParameterValue,
                "Value '\(name)' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"
            )
        }
    }
}

public enum AliasName {
    /// Lambda's alias rule: `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, 1–128 characters.
    public static func validate(_ name: String) throws(RelctlError) {
        guard !name.isEmpty, name.count <= Limits.aliasNameLength else {
            throw .validation(value: name, field: "name", constraint: "Member must have length between 1 and 128")
        }
        guard name.allSatisfy(\.isNameCharacter), !name.allSatisfy(\.isASCIIDigit) else {
            throw .validation(
                value: name, field: "name",
                constraint: "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
        }
    }
}

public enum LayerName {
    /// Accepts `name` or `arn:…:layer:name` and returns the bare name.
    public static func parse(_ text: String, context: ArnContext) throws(RelctlError) -> String {
        let pattern =
            "Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
        guard !text.isEmpty, text.count <= Limits.layerNameLength else {
            throw .validation(value: text, field: "layerName", constraint: "Member must have length between 1 and 140")
        }
        if text.hasPrefix("arn:") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 7, parts[2] == "lambda", parts[5] == "layer", parts[6].allSatisfy(\.isNameCharacter),
                !parts[6].isEmpty
            else {
                throw .validation(value: text, field: "layerName", constraint: pattern)
            }
            return parts[6]
        }
        guard text.allSatisfy(\.isNameCharacter) else {
            throw .validation(value: text, field: "layerName", constraint: pattern)
        }
        return text
    }
}

/// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`.
public struct LayerVersionReference: Hashable, Sendable {
    public var region: String
    public var account: String
    public var name: String
    public var version: Int

    public init(parsing arn: String) throws(RelctlError) {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 8, parts[0] == "arn", parts[2] == "lambda", parts[5] == "layer",
            !parts[6].isEmpty, parts[6].allSatisfy(\.isNameCharacter),
            parts[4].count == 12, parts[4].allSatisfy(\.isASCIIDigit),
            let version = Int(parts[7]), version >= 1
        else {
            throw .validation(
                value: arn, field: "layers",
                constraint:
                    "Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+]"
            )
        }
        region = parts[3]
        account = parts[4]
        name = parts[6]
        self.version = version
    }
}

extension Character {
    /// `[a-zA-Z0-9-_]`, the characters of function, alias and layer names.
    @inlinable public var isNameCharacter: Bool {
        isASCII && (isLetter || isNumber || self == "-" || self == "_")
    }

    @inlinable public var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    /// 64 lowercase hex digits: a SHA-256 as blob names and SigV4 payload hashes write it.
    public var isSHA256Hex: Bool {
        utf8.count == 64 && utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
