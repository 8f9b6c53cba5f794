/// The one error type of RelctlSAM: what in the template is wrong, where (resource, property,
/// line), and what is allowed.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. A struct over a private enum so that codes can be added later.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case syntax, unsupportedResourceType, unsupportedProperty, missingProperty, invalidProperty
            case invalidIntrinsic, unknownReference, cyclicReference, parameterNotAllowed, missingParameter
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Not YAML/JSON, or not a template's shape.
        public static let syntax = Code(.syntax)
        public static let unsupportedResourceType = Code(.unsupportedResourceType)
        public static let unsupportedProperty = Code(.unsupportedProperty)
        public static let missingProperty = Code(.missingProperty)
        public static let invalidProperty = Code(.invalidProperty)
        public static let invalidIntrinsic = Code(.invalidIntrinsic)
        /// A Ref / GetAtt / Sub / FindInMap / condition naming something the template does not have.
        public static let unknownReference = Code(.unknownReference)
        public static let cyclicReference = Code(.cyclicReference)
        /// A parameter value outside its AllowedValues (or not of its Type).
        public static let parameterNotAllowed = Code(.parameterNotAllowed)
        /// A parameter without a default and without an override.
        public static let missingParameter = Code(.missingParameter)

        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    /// 1-based line in the template, when known.
    public var line: Int?

    public init(_ code: Code, _ message: String, line: Int? = nil) {
        self.code = code
        self.message = message
        self.line = line
    }

    /// `line 12: message` — the text the CLI prints after the template's path.
    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}
