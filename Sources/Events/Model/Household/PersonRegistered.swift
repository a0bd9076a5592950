/// `household.person-registered.v1`: Person registered (户口迁入登记).
///
/// The household registry has registered a person who was not yet on a register covered by Tongban (moved in from another region, returned from abroad, restored registration): from now on the person is a registered citizen with this ID, name, sex and birth date and a member of the given household.
public struct PersonRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.person-registered.v1"

    /// Citizen ID of the person; its birth-date and sex digits must agree with birthDate and sex.
    public var personId: String
    /// Registered name.
    public var name: String
    /// Sex; must agree with the 17th digit of personId.
    public var sex: Sex
    /// Date of birth; must equal the birth date in personId.
    public var birthDate: CivilDate
    /// Household the person is registered into.
    public var householdId: String
    /// Relationship to the head of that household.
    public var relationshipToHead: RelationshipToHead
    /// Region code of the previous place of registration (迁出地).
    public var previousRegion: String
    /// Date the registration took effect.
    public var effectiveDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the person; its birth-date and sex digits must agree with birthDate and sex.
    ///   - name: Registered name.
    ///   - sex: Sex; must agree with the 17th digit of personId.
    ///   - birthDate: Date of birth; must equal the birth date in personId.
    ///   - householdId: Household the person is registered into.
    ///   - relationshipToHead: Relationship to the head of that household.
    ///   - previousRegion: Region code of the previous place of registration (迁出地).
    ///   - effectiveDate: Date the registration took effect.
    public init(
        personId: String,
        name: String,
        sex: Sex,
        birthDate: CivilDate,
        householdId: String,
        relationshipToHead: RelationshipToHead,
        previousRegion: String,
        effectiveDate: CivilDate
    ) {
        self.personId = personId
        self.name = name
        self.sex = sex
        self.birthDate = birthDate
        self.householdId = householdId
        self.relationshipToHead = relationshipToHead
        self.previousRegion = previousRegion
        self.effectiveDate = effectiveDate
    }
}
