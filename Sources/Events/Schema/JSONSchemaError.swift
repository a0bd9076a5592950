/// A schema that cannot be compiled: malformed keyword, unresolvable `$ref` or bad `pattern`.
public struct JSONSchemaError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidSchema, unresolvableReference, invalidPattern
        }
        private let base: Base
        /// A keyword has a value of the wrong kind, or a document has no `$id`.
        public static let invalidSchema = Code(base: .invalidSchema)
        /// A `$ref` names no known schema or location.
        public static let unresolvableReference = Code(base: .unresolvableReference)
        /// A `pattern` is not a valid ECMA-262 regular expression.
        public static let invalidPattern = Code(base: .invalidPattern)
        public var description: String { base.rawValue }
    }

    /// What kind of problem it is.
    public let code: Code
    /// Where: the schema URI and JSON pointer of the keyword.
    public let location: String
    /// What is wrong, in plain words.
    public let detail: String

    public var description: String { "JSONSchemaError(\(code)) at \(location): \(detail)" }
    public var debugDescription: String { description }
}
