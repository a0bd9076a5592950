/// The catalog file cannot be read: not JSON, or an entry lacks a field.
public struct EventCatalogError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case missingFile, unparsable, invalidEntry }
        private let base: Base
        /// `events/catalog.json` is not embedded.
        public static let missingFile = Code(base: .missingFile)
        /// The file is not valid JSON.
        public static let unparsable = Code(base: .unparsable)
        /// A field is missing or has the wrong kind of value.
        public static let invalidEntry = Code(base: .invalidEntry)
        public var description: String { base.rawValue }
    }

    /// What kind of problem it is.
    public let code: Code
    /// What is wrong, in plain words.
    public let detail: String

    public var description: String { "EventCatalogError(\(code)): \(detail)" }
    public var debugDescription: String { description }
}
