/// `household.birth-registered.v1`: Birth registered (出生登记).
///
/// The household registry (公安户籍) has registered a child's birth: from now on the child is a registered citizen with the given ID number, name, sex and birth date, is a member of the given household, and the mother (and father, if recorded) are the child's legal parents by birth.
public struct BirthRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.birth-registered.v1"

    /// Citizen ID assigned to the child.
    public var childId: String
    /// Child's registered name.
    public var childName: String
    /// Child's sex; must agree with the 17th digit of childId.
    public var sex: Sex
    /// Date of birth; must equal the birth date in childId.
    public var birthDate: CivilDate
    /// Region code of the place of birth (出生地).
    public var birthPlace: String
    /// Citizen ID of the mother (生母).
    public var motherId: String
    /// Citizen ID of the father; leave the field out when the father is not recorded (unknown father).
    public var fatherId: String?
    /// Household the child is registered into (落户).
    public var householdId: String
    /// The child's relationship to the head of that household, usually 'child' or 'grandchild'.
    public var relationshipToHead: RelationshipToHead

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - childId: Citizen ID assigned to the child.
    ///   - childName: Child's registered name.
    ///   - sex: Child's sex; must agree with the 17th digit of childId.
    ///   - birthDate: Date of birth; must equal the birth date in childId.
    ///   - birthPlace: Region code of the place of birth (出生地).
    ///   - motherId: Citizen ID of the mother (生母).
    ///   - fatherId: Citizen ID of the father; leave the field out when the father is not recorded (unknown father).
    ///   - householdId: Household the child is registered into (落户).
    ///   - relationshipToHead: The child's relationship to the head of that household, usually 'child' or 'grandchild'.
    public init(
        childId: String,
        childName: String,
        sex: Sex,
        birthDate: CivilDate,
        birthPlace: String,
        motherId: String,
        fatherId: String? = nil,
        householdId: String,
        relationshipToHead: RelationshipToHead
    ) {
        self.childId = childId
        self.childName = childName
        self.sex = sex
        self.birthDate = birthDate
        self.birthPlace = birthPlace
        self.motherId = motherId
        self.fatherId = fatherId
        self.householdId = householdId
        self.relationshipToHead = relationshipToHead
    }
}
