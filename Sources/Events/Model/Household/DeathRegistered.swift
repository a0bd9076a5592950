/// `household.death-registered.v1`: Death registered (死亡注销登记).
///
/// The household registry has registered a person's death and cancelled the registration (注销户口): the person is deceased as of dateOfDeath, and any household membership ends that day.
public struct DeathRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.death-registered.v1"

    /// Citizen ID of the deceased.
    public var personId: String
    /// Date of death as certified; not before the birth date in personId.
    public var dateOfDeath: CivilDate
    /// Optional region code of the place of death.
    public var deathPlace: String?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the deceased.
    ///   - dateOfDeath: Date of death as certified; not before the birth date in personId.
    ///   - deathPlace: Optional region code of the place of death.
    public init(personId: String, dateOfDeath: CivilDate, deathPlace: String? = nil) {
        self.personId = personId
        self.dateOfDeath = dateOfDeath
        self.deathPlace = deathPlace
    }
}
