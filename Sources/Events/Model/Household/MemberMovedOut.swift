/// `household.member-moved-out.v1`: Member moved out (迁出本户).
///
/// The household registry has recorded a citizen leaving a household: the person's membership of that household ends on effectiveDate (the person usually joins another household the same day, published as household.member-moved-in).
public struct MemberMovedOut: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.member-moved-out.v1"

    /// The household joined or left.
    public var householdId: String
    /// Citizen ID of the member.
    public var personId: String
    /// The member's relationship to the head of that household until effectiveDate.
    public var relationshipToHead: RelationshipToHead
    /// Date the move took effect.
    public var effectiveDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - householdId: The household joined or left.
    ///   - personId: Citizen ID of the member.
    ///   - relationshipToHead: The member's relationship to the head of that household until effectiveDate.
    ///   - effectiveDate: Date the move took effect.
    public init(
        householdId: String,
        personId: String,
        relationshipToHead: RelationshipToHead,
        effectiveDate: CivilDate
    ) {
        self.householdId = householdId
        self.personId = personId
        self.relationshipToHead = relationshipToHead
        self.effectiveDate = effectiveDate
    }
}
