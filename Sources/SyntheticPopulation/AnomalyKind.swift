/// What real feeds contain besides clean events: odd but valid messages (to be applied) and
/// invalid ones (to be dead-lettered), each labelled on the ``GeneratedEvent``.
public struct AnomalyKind: Hashable, Sendable, CustomStringConvertible, Codable {
    /// A stable name, e.g. `bad-check-character`.
    public let name: String
    /// Whether the hub must dead-letter the message (else it must apply it).
    public let isRejected: Bool
    /// Whether the anomaly only exists when events are signed.
    public let needsSigning: Bool

    init(_ name: String, rejected: Bool, signing: Bool = false) {
        self.name = name
        self.isRejected = rejected
        self.needsSigning = signing
    }

    public var description: String { name }

    /// An event sent again: identical bytes, same id (to be applied once).
    public static let duplicate = AnomalyKind("duplicate", rejected: false)
    /// An event published later than its place in time: after later events of its key, or after
    /// other departments' events that refer to what it records (to be applied).
    public static let lateArrival = AnomalyKind("late-arrival", rejected: false)
    /// A valid event whose name differs from the household register (one character spelled as a
    /// homophone); applied, and shown as a conflict in the identity view.
    public static let nameConflict = AnomalyKind("name-conflict", rejected: false)
    /// Bytes that are not JSON (a truncated message).
    public static let unparsableJSON = AnomalyKind("unparsable-json", rejected: true)
    /// A `type` that is not in the catalog.
    public static let unknownType = AnomalyKind("unknown-type", rejected: true)
    /// `data` lacks a required member.
    public static let missingRequiredField = AnomalyKind("missing-required-field", rejected: true)
    /// An envelope attribute breaks its pattern (`time` written with a space instead of `T`).
    public static let patternViolation = AnomalyKind("pattern-violation", rejected: true)
    /// `data` has a member its schema does not allow.
    public static let extraProperty = AnomalyKind("extra-property", rejected: true)
    /// The subject's citizen ID has a wrong check character (everywhere it appears).
    public static let badCheckCharacter = AnomalyKind("bad-check-character", rejected: true)
    /// `birthDate` differs from the birth date in the ID.
    public static let birthDateMismatch = AnomalyKind("birth-date-mismatch", rejected: true)
    /// `sex` disagrees with the ID's sequence digit.
    public static let sexMismatch = AnomalyKind("sex-mismatch", rejected: true)
    /// The effective date (and `time`) lies in the future.
    public static let futureDate = AnomalyKind("future-date", rejected: true)
    /// The owners' shares do not sum to 1.
    public static let sharesNotSummingToOne = AnomalyKind("shares-not-summing-to-one", rejected: true)
    /// The Kafka key differs from `data` at the key pointer.
    public static let kafkaKeyMismatch = AnomalyKind("kafka-key-mismatch", rejected: true)
    /// The envelope `subject` differs from `data` at the subject pointer.
    public static let subjectMismatch = AnomalyKind("subject-mismatch", rejected: true)
    /// No `tbsig`/`tbkid` although the department signs.
    public static let unsigned = AnomalyKind("unsigned", rejected: true, signing: true)
    /// A byte of the signature changed after signing.
    public static let badSignature = AnomalyKind("bad-signature", rejected: true, signing: true)
    /// Signed with a key id the hub does not know.
    public static let unknownKeyID = AnomalyKind("unknown-key-id", rejected: true, signing: true)
    /// Signed with another department's key.
    public static let wrongDepartmentKey = AnomalyKind("wrong-department-key", rejected: true, signing: true)

    /// Every kind, in the order the generator cycles through them.
    public static let all: [AnomalyKind] = [
        .duplicate, .lateArrival, .nameConflict, .unparsableJSON, .unknownType, .missingRequiredField,
        .patternViolation,
        .extraProperty, .badCheckCharacter, .birthDateMismatch, .sexMismatch, .futureDate, .sharesNotSummingToOne,
        .kafkaKeyMismatch, .subjectMismatch, .unsigned, .badSignature, .unknownKeyID, .wrongDepartmentKey,
    ]
}
