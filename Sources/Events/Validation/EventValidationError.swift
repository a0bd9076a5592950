/// Why an event was rejected: a category, every violation found, and a one-line reason for dead letters.
public struct EventValidationError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The category of the first violation.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unparsable, unknownType, schemaViolation, invalidCitizenID, invalidDate, futureDate
            case inconsistentFields, duplicatePerson, invalidAmount, invalidShares, invalidCreditCode, invalidName
            case keyMismatch, subjectMismatch, departmentMismatch, schemaMismatch
        }
        private let base: Base
        /// Not JSON, duplicate member names, or too deeply nested.
        public static let unparsable = Code(base: .unparsable)
        /// `type` is not in the catalog.
        public static let unknownType = Code(base: .unknownType)
        /// The envelope or `data` breaks its JSON Schema.
        public static let schemaViolation = Code(base: .schemaViolation)
        /// A citizen ID has a wrong check character or an impossible birth date.
        public static let invalidCitizenID = Code(base: .invalidCitizenID)
        /// A date or date-time is not a real calendar date.
        public static let invalidDate = Code(base: .invalidDate)
        /// A date of a fact that already happened lies in the future (or `time` is too far ahead).
        public static let futureDate = Code(base: .futureDate)
        /// Fields of one event disagree (birth date or sex vs. ID, order of dates, unchanged name).
        public static let inconsistentFields = Code(base: .inconsistentFields)
        /// One person appears twice where people must differ (mother and child, two spouses, owners).
        public static let duplicatePerson = Code(base: .duplicatePerson)
        /// An amount is negative or an area is not greater than zero.
        public static let invalidAmount = Code(base: .invalidAmount)
        /// Title shares do not sum to 1, are not in lowest terms, or do not fit the form of ownership.
        public static let invalidShares = Code(base: .invalidShares)
        /// A unified social credit code has a wrong check character.
        public static let invalidCreditCode = Code(base: .invalidCreditCode)
        /// A name uses a supplementary-plane character that is not a Han ideograph.
        public static let invalidName = Code(base: .invalidName)
        /// The Kafka key differs from `data` at the type's key pointer.
        public static let keyMismatch = Code(base: .keyMismatch)
        /// `subject` differs from `data` at the type's subject pointer.
        public static let subjectMismatch = Code(base: .subjectMismatch)
        /// The departments in `source`, `type` and `tbkid` differ.
        public static let departmentMismatch = Code(base: .departmentMismatch)
        /// `dataschema` is not the `$id` of the type's schema.
        public static let schemaMismatch = Code(base: .schemaMismatch)

        public var description: String { base.rawValue }
    }

    /// The category of the first violation.
    public let code: Code
    /// Every violation found, in the order checked (never empty).
    public let violations: [EventViolation]
    /// The event `id`, when it could be read.
    public let eventID: String?
    /// The event `type`, when it could be read.
    public let eventType: String?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the category of the first violation.
    ///   - violations: every violation found; must not be empty.
    ///   - eventID: the event id, if known.
    ///   - eventType: the event type, if known.
    public init(code: Code, violations: [EventViolation], eventID: String? = nil, eventType: String? = nil) {
        self.code = code
        self.violations = violations
        self.eventID = eventID
        self.eventType = eventType
    }

    /// The reason in plain words on one line, for a dead-letter record, e.g.
    /// `data/childId: check character is 9, expected X (110105***********9)`.
    public var reason: String {
        guard let first = violations.first else { return "\(code)" }
        return first.description + (violations.count > 1 ? " (and \(violations.count - 1) more)" : "")
    }

    /// Redacted: the code only (citizen data stays out of `description`).
    public var description: String { "EventValidationError(\(code))" }

    /// The code and every violation (values masked).
    public var debugDescription: String {
        "\(code): " + violations.map(\.description).joined(separator: "; ")
    }
}
