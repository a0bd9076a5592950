/// `household.member-moved-in.v1`: Member moved in (迁入本户).
///
/// The household registry has recorded a registered citizen joining a household (marriage, moving in with family, change of household): the person is a member of that household from effectiveDate with the given relationship to the head.
public struct MemberMovedIn: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.member-moved-in.v1"

    /// The household joined or left.
    public var householdId: String
    /// Citizen ID of the member.
    public var personId: String
    /// The member's relationship to the head of that household from effectiveDate.
    public var relationshipToHead: RelationshipToHead
    /// Date the move took effect.
    public var effectiveDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - householdId: The household joined or left.
    ///   - personId: Citizen ID of the member.
    ///   - relationshipToHead: The member's relationship to the head of that household from effectiveDate.
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
