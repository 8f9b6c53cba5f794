import Foundation
import RelctlCore

/// What a reference to a resource resolves to, supplied by whoever knows the resources' names
/// (the stack model): `Ref X` asks with a nil attribute, `Fn::GetAtt [X, Arn]` with "Arn".
public typealias ResourceAttributeLookup = (_ logicalId: String, _ attribute: String?, _ line: Int?)
    throws(TemplateError) -> TemplateNode

/// Parameters, pseudo parameters, Conditions, Mappings and the intrinsic functions: turns template
/// nodes into plain values (strings, numbers, lists, maps). `nil` is `AWS::NoValue` (the property is removed).
public struct TemplateResolver {
    public enum ParameterValue: Sendable, Equatable {
        case string(String)
        case list([String])

        public var text: String {
            switch self {
            case .string(let text): text
            case .list(let items): items.joined(separator: ",")
            }
        }
    }

    public let stackName: String
    public let arn: ArnContext
    public private(set) var parameters: [String: ParameterValue] = [:]
    let conditionNodes: [String: TemplateNode]
    let mappings: TemplateNode?
    var conditionValues: [String: Bool] = [:]
    /// Logical ids of the template's resources (Ref to one of them asks `resources`).
    let resourceIds: Set<String>
    var resources: ResourceAttributeLookup = { id, _, line throws(TemplateError) in
        throw TemplateError(.unknownReference, "\(id) cannot be referenced here.", line: line)
    }

    static let pseudoParameters = [
        "AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix", "AWS::StackId",
        "AWS::NoValue",
    ]

    /// Reads Parameters (with `overrides`), Conditions and Mappings; evaluates every condition once.
    public init(
        template: TemplateNode, overrides: [String: String], stackName: String, arn: ArnContext
    ) throws(TemplateError) {
        self.stackName = stackName
        self.arn = arn
        self.mappings = template["Mappings"]
        self.resourceIds = Set(template["Resources"]?.entries?.map(\.key) ?? [])
        var conditions: [String: TemplateNode] = [:]
        for entry in template["Conditions"]?.entries ?? [] { conditions[entry.key] = entry.value }
        self.conditionNodes = conditions
        let declared = template["Parameters"]?.entries ?? []
        for name in overrides.keys.sorted() where !declared.contains(where: { $0.key == name }) {
            throw TemplateError(
                .unknownReference,
                "--parameter-overrides names \(name), which the template's Parameters do not declare (declared: \(declared.map(\.key).joined(separator: ", ")))."
            )
        }
        for entry in declared {
            parameters[entry.key] = try Self.parameter(entry.key, entry.value, override: overrides[entry.key])
        }
        for name in conditions.keys.sorted() {
            var visiting: [String] = []
            _ = try condition(name, line: conditions[name]?.line, visiting: &visiting)
        }
    }

    static func parameter(
        _ name: String, _ node: TemplateNode, override: String?
    ) throws(TemplateError) -> ParameterValue {
        let line = node.line
        let type = node["Type"]?.string ?? "String"
        let allowedTypes = ["String", "Number", "CommaDelimitedList", "List<Number>"]
        guard allowedTypes.contains(type) else {
            throw TemplateError(
                .invalidProperty,
                "parameter \(name): Type \(type) is not supported; use \(allowedTypes.joined(separator: ", ")).",
                line: node["Type"]?.line ?? line)
        }
        guard
            let raw = override ?? node["Default"]?.string
                ?? node["Default"]?.items?.compactMap(\.string).joined(separator: ",")
        else {
            throw TemplateError(
                .missingParameter,
                "parameter \(name) has no Default; give it with --parameter-overrides \(name)=VALUE.", line: line)
        }
        let allowed = node["AllowedValues"]?.items?.compactMap(\.string)
        let values =
            type == "CommaDelimitedList" || type == "List<Number>"
            ? raw.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            : [raw]
        for value in values {
            if type == "Number" || type == "List<Number>" {
                guard let number = Double(value) else {
                    throw TemplateError(
                        .parameterNotAllowed, "parameter \(name) is a \(type), got '\(value)'.", line: line)
                }
                if let min = node["MinValue"]?.string.flatMap(Double.init), number < min {
                    throw TemplateError(
                        .parameterNotAllowed, "parameter \(name) must be at least \(min), got \(value).", line: line)
                }
                if let max = node["MaxValue"]?.string.flatMap(Double.init), number > max {
                    throw TemplateError(
                        .parameterNotAllowed, "parameter \(name) must be at most \(max), got \(value).", line: line)
                }
            }
            if let allowed, !allowed.contains(value) {
                throw TemplateError(
                    .parameterNotAllowed,
                    "parameter \(name) does not allow '\(value)'; AllowedValues: \(allowed.joined(separator: ", ")).",
                    line: node["AllowedValues"]?.line ?? line)
            }
        }
        if let pattern = node["AllowedPattern"]?.string, type == "String",
            (try? Regex("^(?:\(pattern))$").wholeMatch(in: raw)) == nil
        {
            throw TemplateError(
                .parameterNotAllowed, "parameter \(name) must match AllowedPattern \(pattern), got '\(raw)'.",
                line: node["AllowedPattern"]?.line ?? line)
        }
        return type == "String" || type == "Number" ? .string(raw) : .list(values)
    }

    /// The value of a named condition (evaluated once; a condition that refers back to itself is an error).
    public mutating func condition(_ name: String, line: Int?) throws(TemplateError) -> Bool {
        var visiting: [String] = []
        return try condition(name, line: line, visiting: &visiting)
    }

    mutating func condition(_ name: String, line: Int?, visiting: inout [String]) throws(TemplateError) -> Bool {
        if let known = conditionValues[name] { return known }
        guard let node = conditionNodes[name] else {
            throw TemplateError(
                .unknownReference,
                "condition \(name) is not declared in Conditions (declared: \(conditionNodes.keys.sorted().joined(separator: ", "))).",
                line: line)
        }
        if visiting.contains(name) {
            throw TemplateError(
                .cyclicReference, "circular condition: \((visiting + [name]).joined(separator: " → ")).",
                line: node.line)
        }
        visiting.append(name)
        let value = try evaluateCondition(node, visiting: &visiting)
        visiting.removeLast()
        conditionValues[name] = value
        return value
    }

    mutating func evaluateCondition(_ node: TemplateNode, visiting: inout [String]) throws(TemplateError) -> Bool {
        guard let (name, argument) = node.intrinsic else {
            if case .bool(let flag) = node.kind { return flag }
            throw TemplateError(
                .invalidIntrinsic, "a condition is Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition.", line: node.line)
        }
        switch name {
        case "Condition":
            guard let other = argument.string else {
                throw TemplateError(.invalidIntrinsic, "Condition takes a condition's name.", line: node.line)
            }
            return try condition(other, line: node.line, visiting: &visiting)
        case "Fn::Equals":
            guard let pair = argument.items, pair.count == 2 else {
                throw TemplateError(.invalidIntrinsic, "Fn::Equals takes a list of two values.", line: node.line)
            }
            let left = try resolve(pair[0], visiting: &visiting)
            let right = try resolve(pair[1], visiting: &visiting)
            return Self.plain(left) == Self.plain(right)
        case "Fn::Not":
            guard let items = argument.items, items.count == 1 else {
                throw TemplateError(.invalidIntrinsic, "Fn::Not takes a list of one condition.", line: node.line)
            }
            return !(try evaluateCondition(items[0], visiting: &visiting))
        case "Fn::And", "Fn::Or":
            guard let items = argument.items, (2...10).contains(items.count) else {
                throw TemplateError(.invalidIntrinsic, "\(name) takes a list of 2 to 10 conditions.", line: node.line)
            }
            var results: [Bool] = []
            for item in items { results.append(try evaluateCondition(item, visiting: &visiting)) }
            return name == "Fn::And" ? !results.contains(false) : results.contains(true)
        default:
            throw TemplateError(
                .invalidIntrinsic,
                "\(name) cannot be used as a condition; use Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition.",
                line: node.line)
        }
    }

    /// Resolves every intrinsic in `node`; nil when it is `AWS::NoValue`.
    public mutating func resolve(_ node: TemplateNode) throws(TemplateError) -> TemplateNode? {
        var visiting: [String] = []
        return try resolve(node, visiting: &visiting)
    }

    mutating func resolve(_ node: TemplateNode, visiting: inout [String]) throws(TemplateError) -> TemplateNode? {
        if let (name, argument) = node.intrinsic {
            return try intrinsic(name, argument, line: node.line, visiting: &visiting)
        }
        switch node.kind {
        case .list(let items):
            var result: [TemplateNode] = []
            for item in items { if let value = try resolve(item, visiting: &visiting) { result.append(value) } }
            return TemplateNode(.list(result), line: node.line)
        case .map(let entries):
            var result: [TemplateNode.Entry] = []
            for entry in entries {
                if let value = try resolve(entry.value, visiting: &visiting) {
                    result.append(TemplateNode.Entry(key: entry.key, value: value))
                }
            }
            return TemplateNode(.map(result), line: node.line)
        default:
            return node
        }
    }

    mutating func intrinsic(
        _ name: String, _ argument: TemplateNode, line: Int?, visiting: inout [String]
    ) throws(TemplateError) -> TemplateNode? {
        func bad(_ usage: String) -> TemplateError { TemplateError(.invalidIntrinsic, "\(name) \(usage).", line: line) }
        func string(_ text: String) -> TemplateNode { TemplateNode(.string(text), line: line) }
        switch name {
        case "Ref":
            guard let target = argument.string else { throw bad("takes the name of a parameter or resource") }
            return try reference(target, line: line)
        case "Fn::GetAtt":
            var parts: [String] = []
            if let items = argument.items, items.count == 2 {
                guard let resource = items[0].string, let attribute = try resolve(items[1], visiting: &visiting)?.string
                else {
                    throw bad("takes [LogicalId, Attribute]")
                }
                parts = [resource, attribute]
            } else if let text = argument.string, let dot = text.firstIndex(of: ".") {
                parts = [String(text[..<dot]), String(text[text.index(after: dot)...])]
            } else {
                throw bad("takes [LogicalId, Attribute] or LogicalId.Attribute")
            }
            // `Fn.Version` / `Fn.Alias` name SAM's generated resources: `[Fn.Version, Version]` is `[Fn, Version.Version]`.
            if let dot = parts[0].firstIndex(of: ".") {
                parts = [String(parts[0][..<dot]), String(parts[0][parts[0].index(after: dot)...]) + "." + parts[1]]
            }
            guard resourceIds.contains(parts[0]) else {
                throw TemplateError(
                    .unknownReference, "Fn::GetAtt names \(parts[0]), which is not a resource of this template.",
                    line: line)
            }
            return try resources(parts[0], parts[1], line)
        case "Fn::Sub":
            var text: String
            var variables: [String: TemplateNode] = [:]
            if let plain = argument.string {
                text = plain
            } else if let items = argument.items, items.count == 2, let plain = items[0].string,
                let map = items[1].entries
            {
                text = plain
                for entry in map {
                    guard let value = try resolve(entry.value, visiting: &visiting) else { continue }
                    variables[entry.key] = value
                }
            } else {
                throw bad("takes a string, or [string, {Name: value, …}]")
            }
            return string(try substitute(text, variables: variables, line: line))
        case "Fn::Join":
            guard let items = argument.items, items.count == 2, let separator = items[0].string else {
                throw bad("takes [separator, [values…]]")
            }
            guard let list = try resolve(items[1], visiting: &visiting)?.items else { throw bad("joins a list") }
            var parts: [String] = []
            for item in list {
                guard let text = item.string else {
                    throw bad("joins strings; one of the values is a \(Self.kindName(item))")
                }
                parts.append(text)
            }
            return string(parts.joined(separator: separator))
        case "Fn::Select":
            guard let items = argument.items, items.count == 2,
                let index = try resolve(items[0], visiting: &visiting)?.string.flatMap({ Int($0) })
            else {
                throw bad("takes [index, list]")
            }
            guard let list = try resolve(items[1], visiting: &visiting)?.items else { throw bad("selects from a list") }
            guard list.indices.contains(index) else { throw bad("index \(index) is outside the list of \(list.count)") }
            return list[index]
        case "Fn::Split":
            guard let items = argument.items, items.count == 2, let separator = items[0].string, !separator.isEmpty,
                let source = try resolve(items[1], visiting: &visiting)?.string
            else {
                throw bad("takes [separator, string]")
            }
            return TemplateNode(.list(source.components(separatedBy: separator).map(string)), line: line)
        case "Fn::If":
            guard let items = argument.items, items.count == 3, let conditionName = items[0].string else {
                throw bad("takes [condition, value if true, value if false]")
            }
            return try resolve(
                try condition(conditionName, line: line, visiting: &visiting) ? items[1] : items[2], visiting: &visiting
            )
        case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
            let node = TemplateNode(.map([TemplateNode.Entry(key: name, value: argument)]), line: line)
            return TemplateNode(.bool(try evaluateCondition(node, visiting: &visiting)), line: line)
        case "Fn::FindInMap":
            guard let items = argument.items, items.count == 3 || items.count == 4 else {
                throw bad("takes [MapName, TopLevelKey, SecondLevelKey]")
            }
            var keys: [String] = []
            for item in items.prefix(3) {
                guard let key = try resolve(item, visiting: &visiting)?.string else { throw bad("takes string keys") }
                keys.append(key)
            }
            guard let map = mappings?[keys[0]] else {
                throw TemplateError(.unknownReference, "Fn::FindInMap: no mapping \(keys[0]) in Mappings.", line: line)
            }
            guard let value = map[keys[1]]?[keys[2]] else {
                if items.count == 4, let fallback = items[3]["DefaultValue"] {
                    return try resolve(fallback, visiting: &visiting)
                }
                throw TemplateError(
                    .unknownReference, "Fn::FindInMap: mapping \(keys[0]) has no \(keys[1]) → \(keys[2]).", line: line)
            }
            return try resolve(value, visiting: &visiting)
        case "Fn::Base64":
            guard let text = try resolve(argument, visiting: &visiting)?.string else { throw bad("takes a string") }
            return string(Self.base64(Array(text.utf8)))
        default:
            throw TemplateError(
                .invalidIntrinsic,
                "\(name) is not supported; relctl resolves Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Select, Fn::Split, Fn::FindInMap, Fn::Base64 and Condition.",
                line: line)
        }
    }

    /// `Ref NAME`: a parameter, a pseudo parameter, or a resource (SAM's `Fn.Alias` / `Fn.Version` too).
    func reference(_ target: String, line: Int?) throws(TemplateError) -> TemplateNode? {
        if let value = parameters[target] {
            switch value {
            case .string(let text): return TemplateNode(.string(text), line: line)
            case .list(let items):
                return TemplateNode(.list(items.map { TemplateNode(.string($0), line: line) }), line: line)
            }
        }
        switch target {
        case "AWS::NoValue": return nil
        case "AWS::StackName": return TemplateNode(.string(stackName), line: line)
        case "AWS::Region": return TemplateNode(.string(arn.region), line: line)
        case "AWS::AccountId": return TemplateNode(.string(arn.account), line: line)
        case "AWS::Partition": return TemplateNode(.string("aws"), line: line)
        case "AWS::URLSuffix": return TemplateNode(.string("amazonaws.com"), line: line)
        case "AWS::StackId":
            return TemplateNode(
                .string("arn:aws:cloudformation:\(arn.region):\(arn.account):stack/\(stackName)/relctl"), line: line)
        default: break
        }
        if resourceIds.contains(target) { return try resources(target, nil, line) }
        if let dot = target.firstIndex(of: "."), resourceIds.contains(String(target[..<dot])) {
            return try resources(String(target[..<dot]), String(target[target.index(after: dot)...]) + ".Ref", line)
        }
        throw TemplateError(
            .unknownReference, "Ref \(target): no parameter, pseudo parameter or resource of that name.", line: line)
    }

    /// Fn::Sub's `${Name}`, `${Resource.Attribute}`, and `${!Literal}` (kept as `${Literal}`).
    func substitute(_ text: String, variables: [String: TemplateNode], line: Int?) throws(TemplateError) -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw TemplateError(
                    .invalidIntrinsic, "Fn::Sub: '${' without a closing '}' in \"\(text)\".", line: line)
            }
            let name = String(rest[start.upperBound..<end])
            rest = rest[rest.index(after: end)...]
            if name.hasPrefix("!") {
                result += "${" + name.dropFirst() + "}"
                continue
            }
            let value: TemplateNode?
            if let variable = variables[name] {
                value = variable
            } else if parameters[name] != nil || Self.pseudoParameters.contains(name) {
                value = try reference(name, line: line)
            } else if resourceIds.contains(name) {
                value = try resources(name, nil, line)
            } else if let dot = name.firstIndex(of: "."), resourceIds.contains(String(name[..<dot])) {
                value = try resources(String(name[..<dot]), String(name[name.index(after: dot)...]), line)
            } else {
                throw TemplateError(
                    .unknownReference, "Fn::Sub: ${\(name)} is not a parameter, resource or variable of this template.",
                    line: line)
            }
            guard let text = value?.string else {
                throw TemplateError(
                    .invalidIntrinsic, "Fn::Sub: ${\(name)} is not a string (a list cannot be substituted).", line: line
                )
            }
            result += text
        }
        return result + rest
    }

    static func plain(_ node: TemplateNode?) -> String {
        guard let node else { return "" }
        if let text = node.string { return text }
        return node.items?.map { plain($0) }.joined(separator: ",") ?? ""
    }

    static func kindName(_ node: TemplateNode) -> String {
        switch node.kind {
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        case .list: "list"
        case .map: "mapping"
        }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value =
                (UInt32(chunk[0]) << 16) | (UInt32(chunk.count > 1 ? chunk[1] : 0) << 8)
                | UInt32(chunk.count > 2 ? chunk[2] : 0)
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[Int((value >> (18 - 6 * position)) & 63)] : "=")
            }
            index += 3
        }
        return out
    }
}
