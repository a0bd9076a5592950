/// `property.mortgage-released.v1`: Mortgage released (抵押权注销登记).
///
/// The mortgage identified by mortgageRecordNumber no longer encumbers the title from releaseDate.
public struct MortgageReleased: EventData {
    /// The catalog type this struct models.
    public static let eventType = "property.mortgage-released.v1"

    /// Number of the mortgage registration being released.
    public var mortgageRecordNumber: String
    /// Real-estate unit number of the property.
    public var titleNumber: String
    /// Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    public var ownerIds: [String]
    /// Date the release was registered.
    public var releaseDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - mortgageRecordNumber: Number of the mortgage registration being released.
    ///   - titleNumber: Real-estate unit number of the property.
    ///   - ownerIds: Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    ///   - releaseDate: Date the release was registered.
    public init(mortgageRecordNumber: String, titleNumber: String, ownerIds: [String], releaseDate: CivilDate) {
        self.mortgageRecordNumber = mortgageRecordNumber
        self.titleNumber = titleNumber
        self.ownerIds = ownerIds
        self.releaseDate = releaseDate
    }
}
