/// The one error type of relctl: a code that maps to an AWS error type and HTTP status, and a
/// message that says what was wrong and what is allowed.
public struct RelctlError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure. A struct over a private enum so that codes can be added later.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case resourceNotFound = "ResourceNotFoundException"
            case resourceConflict = "ResourceConflictException"
            case invalidParameterValue = "InvalidParameterValueException"
            case validation = "ValidationException"
            case preconditionFailed = "PreconditionFailedException"
            case codeStorageExceeded = "CodeStorageExceededException"
            case requestEntityTooLarge = "RequestEntityTooLargeException"
            case tooManyRequests = "TooManyRequestsException"
            case service = "ServiceException"
            case integrityCheckFailed = "IntegrityCheckFailed"
            case requestTooLarge = "RequestTooLargeException"
            case invalidRequestContent = "InvalidRequestContentException"
            case invalidSignature = "InvalidSignatureException"
            case unrecognizedClient = "UnrecognizedClientException"
            case accessDenied = "AccessDeniedException"
            case provisionedConcurrencyConfigNotFound = "ProvisionedConcurrencyConfigNotFoundException"
            case unsupportedOperation = "UnsupportedOperationException"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let resourceNotFound = Code(.resourceNotFound)
        public static let resourceConflict = Code(.resourceConflict)
        public static let invalidParameterValue = Code(.invalidParameterValue)
        public static let validation = Code(.validation)
        public static let preconditionFailed = Code(.preconditionFailed)
        public static let codeStorageExceeded = Code(.codeStorageExceeded)
        public static let requestEntityTooLarge = Code(.requestEntityTooLarge)
        public static let tooManyRequests = Code(.tooManyRequests)
        public static let service = Code(.service)
        /// `relctl fsck` found a broken invariant (not an AWS error).
        public static let integrityCheckFailed = Code(.integrityCheckFailed)
        /// Invoke's payload limit.
        public static let requestTooLarge = Code(.requestTooLarge)
        /// A request body that is not the JSON the operation takes.
        public static let invalidRequestContent = Code(.invalidRequestContent)
        public static let invalidSignature = Code(.invalidSignature)
        public static let unrecognizedClient = Code(.unrecognizedClient)
        public static let accessDenied = Code(.accessDenied)
        public static let provisionedConcurrencyConfigNotFound = Code(.provisionedConcurrencyConfigNotFound)
        /// An AWS operation relctl does not implement (answered 501, never as "not found").
        public static let unsupportedOperation = Code(.unsupportedOperation)

        /// The AWS error type, as sent in `x-amzn-ErrorType`.
        public var awsErrorType: String { value.rawValue }

        /// The HTTP status AWS answers with for this error type.
        public var httpStatus: Int {
            switch value {
            case .resourceNotFound, .provisionedConcurrencyConfigNotFound: 404
            case .resourceConflict: 409
            case .invalidParameterValue, .validation, .codeStorageExceeded, .invalidRequestContent: 400
            case .preconditionFailed: 412
            case .requestEntityTooLarge, .requestTooLarge: 413
            case .invalidSignature, .unrecognizedClient, .accessDenied: 403
            case .tooManyRequests: 429
            case .service, .integrityCheckFailed: 500
            case .unsupportedOperation: 501
            }
        }

        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.awsErrorType): \(message)" }

    // MARK: - AWS's own messages, in one place

    public static func functionNotFound(_ arn: String) -> RelctlError {
        RelctlError(.resourceNotFound, "Function not found: \(arn)")
    }

    public static let revisionMismatch = RelctlError(
        .preconditionFailed,
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
    )

    public static let codeStorageExceeded = RelctlError(.codeStorageExceeded, "Code storage limit exceeded.")

    public static let unreadableZip = RelctlError(
        .invalidParameterValue,
        "Could not unzip uploaded file. Please check your file, then try to upload again."
    )

    /// AWS's "1 validation error detected" text for a pattern, length or range failure.
    public static func validation(value: String, field: String, constraint: String) -> RelctlError {
        validation(value: value, field: field, constraints: [constraint])
    }

    /// Several failed constraints of one value, joined as AWS joins them: "2 validation errors detected: …; …".
    public static func validation(value: String, field: String, constraints: [String]) -> RelctlError {
        let details = constraints.map { "Value '\(value)' at '\(field)' failed to satisfy constraint: \($0)" }
        let count = details.count == 1 ? "1 validation error detected" : "\(details.count) validation errors detected"
        return RelctlError(.validation, "\(count): \(details.joined(separator: "; "))")
    }
}
