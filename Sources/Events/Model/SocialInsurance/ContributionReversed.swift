/// `social-insurance.contribution-reversed.v1`: Contribution reversed (缴费冲正).
///
/// A social-insurance agency has reversed an earlier posting: the posting named by postingId no longer counts, as if it had never been made (the month is uncovered unless another posting covers it).
public struct ContributionReversed: EventData {
    /// The catalog type this struct models.
    public static let eventType = "social-insurance.contribution-reversed.v1"

    /// postingId of the contribution-posted event being reversed.
    public var postingId: String
    /// Citizen ID of the insured person; must be the person of the reversed posting.
    public var personId: String
    /// Why the posting was reversed: posting-error (记账错误), duplicate (重复记账), wrong-person (错记他人), base-corrected (缴费基数更正; a new posting follows), refund (退费), other.
    public var reasonCode: ReasonCode
    /// Optional explanation for people.
    public var note: String?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - postingId: postingId of the contribution-posted event being reversed.
    ///   - personId: Citizen ID of the insured person; must be the person of the reversed posting.
    ///   - reasonCode: Why the posting was reversed: posting-error (记账错误), duplicate (重复记账), wrong-person (错记他人), base-corrected (缴费基数更正; a new posting follows), refund (退费), other.
    ///   - note: Optional explanation for people.
    public init(postingId: String, personId: String, reasonCode: ReasonCode, note: String? = nil) {
        self.postingId = postingId
        self.personId = personId
        self.reasonCode = reasonCode
        self.note = note
    }

    /// Why the posting was reversed: posting-error (记账错误), duplicate (重复记账), wrong-person (错记他人), base-corrected (缴费基数更正; a new posting follows), refund (退费), other.
    public enum ReasonCode: String, Sendable, Hashable, Codable, CaseIterable {
        /// `posting-error`.
        case postingError = "posting-error"
        /// `duplicate`.
        case duplicate
        /// `wrong-person`.
        case wrongPerson = "wrong-person"
        /// `base-corrected`.
        case baseCorrected = "base-corrected"
        /// `refund`.
        case refund
        /// `other`.
        case other
    }
}
