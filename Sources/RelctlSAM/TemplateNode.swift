import Yams

/// A template value with the line it was written on, as parsed (before intrinsics are resolved).
/// Short tags (`!Ref X`, `!Sub …`, `!GetAtt A.B`) are already rewritten to their long forms.
public struct TemplateNode: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        case string(String)
        /// A number as written (`5`, `0.5`), so that `!Sub`/`!Join` print it back unchanged.
        case number(String)
        case bool(Bool)
        case null
        case list([TemplateNode])
        /// Keys in the order written.
        case map([Entry])
    }

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: TemplateNode
        public init(key: String, value: TemplateNode) {
            self.key = key
            self.value = value
        }
    }

    public var kind: Kind
    public var line: Int?

    public init(_ kind: Kind, line: Int? = nil) {
        self.kind = kind
        self.line = line
    }

    public var string: String? {
        switch kind {
        case .string(let text), .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }

    public var entries: [Entry]? {
        if case .map(let entries) = kind { return entries }
        return nil
    }

    public var items: [TemplateNode]? {
        if case .list(let items) = kind { return items }
        return nil
    }

    public subscript(key: String) -> TemplateNode? {
        entries?.first { $0.key == key }?.value
    }

    /// The intrinsic this node is (`Ref`, `Fn::Sub`, `Condition`…): a one-key mapping whose key is one.
    public var intrinsic: (name: String, argument: TemplateNode)? {
        guard let entries, entries.count == 1 else { return nil }
        let key = entries[0].key
        guard key == "Ref" || key == "Condition" || key.hasPrefix("Fn::") else { return nil }
        return (key, entries[0].value)
    }
}

/// Reads a template's text (YAML, or JSON, which the YAML parser reads too) into `TemplateNode`s.
public enum TemplateLoader {
    /// Short tags and the long forms they stand for (`!Condition` is the Condition function of Fn::And/Or/Not).
    static let shortTags: [String: String] = [
        "!Ref": "Ref", "!Condition": "Condition", "!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!Join": "Fn::Join",
        "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
        "!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64",
        "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform",
        "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
    ]

    public static func load(_ text: String) throws(TemplateError) -> TemplateNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw TemplateError(.syntax, "not valid YAML or JSON: \(describe(error))", line: line(of: error))
        } catch {
            throw TemplateError(.syntax, "not valid YAML or JSON: \(error)")
        }
        guard let root else { throw TemplateError(.syntax, "the template is empty.") }
        let node = try convert(root)
        guard node.entries != nil else {
            throw TemplateError(
                .syntax, "a template is a mapping with Resources (and Parameters, Conditions, …).", line: node.line)
        }
        return node
    }

    static func convert(_ node: Node) throws(TemplateError) -> TemplateNode {
        let line = node.mark?.line
        let tag = node.tag.description
        var value: TemplateNode
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain || tag.hasPrefix("!") {
                value = TemplateNode(.string(scalar.string), line: line)
            } else {
                switch tag {
                case "tag:yaml.org,2002:int", "tag:yaml.org,2002:float":
                    value = TemplateNode(.number(scalar.string), line: line)
                case "tag:yaml.org,2002:bool":
                    value = TemplateNode(
                        .bool(
                            Bool(scalar.string.lowercased()) ?? ["yes", "on", "y"].contains(scalar.string.lowercased())),
                        line: line)
                case "tag:yaml.org,2002:null": value = TemplateNode(.null, line: line)
                default: value = TemplateNode(.string(scalar.string), line: line)
                }
            }
        case .sequence(let sequence):
            var items: [TemplateNode] = []
            for item in sequence { items.append(try convert(item)) }
            value = TemplateNode(.list(items), line: line)
        case .mapping(let mapping):
            var entries: [TemplateNode.Entry] = []
            for (key, item) in mapping {
                guard let name = key.scalar?.string else {
                    throw TemplateError(.syntax, "a mapping key must be a plain string.", line: key.mark?.line ?? line)
                }
                if entries.contains(where: { $0.key == name }) {
                    throw TemplateError(.syntax, "duplicate key \(name).", line: key.mark?.line ?? line)
                }
                entries.append(TemplateNode.Entry(key: name, value: try convert(item)))
            }
            value = TemplateNode(.map(entries), line: line)
        case .alias:
            throw TemplateError(.syntax, "YAML aliases (*name) are not supported in templates.", line: line)
        }
        guard tag.hasPrefix("!") else { return value }
        guard let long = shortTags[tag] else {
            throw TemplateError(
                .invalidIntrinsic,
                "unknown tag \(tag); short forms are \(shortTags.keys.sorted().joined(separator: ", ")).", line: line)
        }
        // `!GetAtt Fn.Arn` is the dotted form of `Fn::GetAtt: [Fn, Arn]` (split at the first dot).
        if long == "Fn::GetAtt", case .string(let text) = value.kind {
            guard let dot = text.firstIndex(of: ".") else {
                throw TemplateError(.invalidIntrinsic, "!GetAtt takes LogicalId.Attribute, got '\(text)'.", line: line)
            }
            value = TemplateNode(
                .list([
                    TemplateNode(.string(String(text[..<dot])), line: line),
                    TemplateNode(.string(String(text[text.index(after: dot)...])), line: line),
                ]), line: line)
        }
        return TemplateNode(.map([TemplateNode.Entry(key: long, value: value)]), line: line)
    }

    static func describe(_ error: YamlError) -> String {
        "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }
}
