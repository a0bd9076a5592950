/// `household.household-established.v1`: Household established (立户).
///
/// The household registry has opened a new household (户) at an address, with the given head of household (户主).
public struct HouseholdEstablished: EventData {
    /// The catalog type this struct models.
    public static let eventType = "household.household-established.v1"

    /// Number of the new household.
    public var householdId: String
    /// Region code of the household's address (county level).
    public var addressRegionCode: String
    /// Registered address (户籍地址) in full.
    public var address: String
    /// Citizen ID of the head of household (户主).
    public var headId: String
    /// Date the household was established.
    public var establishedDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - householdId: Number of the new household.
    ///   - addressRegionCode: Region code of the household's address (county level).
    ///   - address: Registered address (户籍地址) in full.
    ///   - headId: Citizen ID of the head of household (户主).
    ///   - establishedDate: Date the household was established.
    public init(
        householdId: String,
        addressRegionCode: String,
        address: String,
        headId: String,
        establishedDate: CivilDate
    ) {
        self.householdId = householdId
        self.addressRegionCode = addressRegionCode
        self.address = address
        self.headId = headId
        self.establishedDate = establishedDate
    }
}
