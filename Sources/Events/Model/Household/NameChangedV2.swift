/// `household.name-changed.v2`: Name changed (变更姓名), version 2.
///
/// The household registry has changed a registered person's name from previousName to newName with effect from effectiveDate, for the reason given.
public struct NameChangedV2: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.name-changed.v2"

    /// Citizen ID of the person whose name changed (the ID number does not change).
    public var personId: String
    /// Name before the change; must differ from newName.
    public var previousName: String
    /// Name after the change.
    public var newName: String
    /// Date the new name took effect.
    public var effectiveDate: CivilDate
    /// Why the name changed: marriage (婚姻), divorce (离婚), adoption or dissolved adoption (收养), personal-choice (本人申请), correction of a registration error (更正), other (其他).
    public var reasonCode: ReasonCode
    /// Optional free-text explanation for people, e.g.
    public var note: String?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the person whose name changed (the ID number does not change).
    ///   - previousName: Name before the change; must differ from newName.
    ///   - newName: Name after the change.
    ///   - effectiveDate: Date the new name took effect.
    ///   - reasonCode: Why the name changed: marriage (婚姻), divorce (离婚), adoption or dissolved adoption (收养), personal-choice (本人申请), correction of a registration error (更正), other (其他).
    ///   - note: Optional free-text explanation for people, e.g.
    public init(
        personId: String,
        previousName: String,
        newName: String,
        effectiveDate: CivilDate,
        reasonCode: ReasonCode,
        note: String? = nil
    ) {
        self.personId = personId
        self.previousName = previousName
        self.newName = newName
        self.effectiveDate = effectiveDate
        self.reasonCode = reasonCode
        self.note = note
    }

    /// Why the name changed: marriage (婚姻), divorce (离婚), adoption or dissolved adoption (收养), personal-choice (本人申请), correction of a registration error (更正), other (其他).
    public enum ReasonCode: String, Sendable, Hashable, Codable, CaseIterable {
        /// `marriage`.
        case marriage
        /// `divorce`.
        case divorce
        /// `adoption`.
        case adoption
        /// `personal-choice`.
        case personalChoice = "personal-choice"
        /// `correction`.
        case correction
        /// `other`.
        case other
        /// `unspecified`: set only by the hub when upcasting an older version; never published.
        case unspecified
    }
}
