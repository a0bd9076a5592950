/// `household.name-changed.v1`: Name changed (变更姓名), version 1 - superseded.
///
/// SUPERSEDED by household.name-changed.v2, which adds a required reasonCode; publish v2.
///
/// - Important: superseded by `household.name-changed.v2`; validated events of this type reach
///   projectors upcast, as ``NameChangedV2`` with reason code `unspecified`.
public struct NameChangedV1: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.name-changed.v1"

    /// Citizen ID of the person whose name changed (the ID number does not change).
    public var personId: String
    /// Name before the change; must differ from newName.
    public var previousName: String
    /// Name after the change.
    public var newName: String
    /// Date the new name took effect.
    public var effectiveDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the person whose name changed (the ID number does not change).
    ///   - previousName: Name before the change; must differ from newName.
    ///   - newName: Name after the change.
    ///   - effectiveDate: Date the new name took effect.
    public init(personId: String, previousName: String, newName: String, effectiveDate: CivilDate) {
        self.personId = personId
        self.previousName = previousName
        self.newName = newName
        self.effectiveDate = effectiveDate
    }
}
