public import Events
public import Kafka

/// Why an event was not published.
public struct DepartmentPublishError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. Extensible: switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case invalid, wrongDepartment, signing, delivery }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The event breaks the contract (see ``DepartmentPublishError/validation``); nothing was sent.
        public static let invalid = Code(.invalid)
        /// The event belongs to another department than the signing key.
        public static let wrongDepartment = Code(.wrongDepartment)
        /// The event could not be signed.
        public static let signing = Code(.signing)
        /// Kafka did not store the event (see ``DepartmentPublishError/kafka``).
        public static let delivery = Code(.delivery)
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// The reason in plain words (the first violations for an invalid event).
    public let reason: String
    /// The validation failure, for `.invalid`.
    public let validation: EventValidationError?
    /// The Kafka failure, for `.delivery`.
    public let kafka: KafkaError?

    init(_ code: Code, _ reason: String, validation: EventValidationError? = nil, kafka: KafkaError? = nil) {
        self.code = code
        self.reason = reason
        self.validation = validation
        self.kafka = kafka
    }

    public var description: String { "DepartmentPublishError(\(code)): \(reason)" }
}
