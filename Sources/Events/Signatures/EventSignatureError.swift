/// Why an event's signature is not accepted.
public struct EventSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. Extensible: switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case missingSignature, malformedSignature, unknownKey, keyRetired, keyRevoked
            case departmentMismatch, badSignature, invalidKey, notCanonicalizable
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The event has no `tbsig` or no `tbkid`.
        public static let missingSignature = Code(.missingSignature)
        /// `tbsig` is not 64 bytes of base64url.
        public static let malformedSignature = Code(.malformedSignature)
        /// No key with this `tbkid` is registered.
        public static let unknownKey = Code(.unknownKey)
        /// The key is retired: it verifies old events but is not accepted for new ones.
        public static let keyRetired = Code(.keyRetired)
        /// The key was revoked (compromised).
        public static let keyRevoked = Code(.keyRevoked)
        /// The key belongs to another department than the event.
        public static let departmentMismatch = Code(.departmentMismatch)
        /// The signature does not match the event's canonical bytes: the event was altered, or
        /// signed by another key.
        public static let badSignature = Code(.badSignature)
        /// A key file or JWK is malformed.
        public static let invalidKey = Code(.invalidKey)
        /// The event cannot be put in canonical form (e.g. a non-integer number).
        public static let notCanonicalizable = Code(.notCanonicalizable)
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A plain-words reason, fit for a dead-letter record (it never contains key material).
    public let reason: String

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "EventSignatureError(\(code)): \(reason)" }
}
