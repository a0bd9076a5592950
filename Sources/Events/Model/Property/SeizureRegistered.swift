/// `property.seizure-registered.v1`: Seizure registered (查封登记).
///
/// On a court's order the real-estate registry has registered a seizure (查封) of the title: from registrationDate the property cannot be transferred or mortgaged until seizure-lifted for the same seizureRecordNumber.
public struct SeizureRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "property.seizure-registered.v1"

    /// Registry's number for this seizure registration.
    public var seizureRecordNumber: String
    /// Real-estate unit number of the seized property.
    public var titleNumber: String
    /// Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    public var ownerIds: [String]
    /// Court that ordered the seizure.
    public var court: String
    /// Case number of the order (案号), as printed.
    public var caseNumber: String
    /// Date the seizure was registered.
    public var registrationDate: CivilDate
    /// Last day of the seizure period if the order sets one (normally 3 years for real estate, renewable); may be in the future.
    public var validTo: CivilDate?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - seizureRecordNumber: Registry's number for this seizure registration.
    ///   - titleNumber: Real-estate unit number of the seized property.
    ///   - ownerIds: Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    ///   - court: Court that ordered the seizure.
    ///   - caseNumber: Case number of the order (案号), as printed.
    ///   - registrationDate: Date the seizure was registered.
    ///   - validTo: Last day of the seizure period if the order sets one (normally 3 years for real estate, renewable); may be in the future.
    public init(
        seizureRecordNumber: String,
        titleNumber: String,
        ownerIds: [String],
        court: String,
        caseNumber: String,
        registrationDate: CivilDate,
        validTo: CivilDate? = nil
    ) {
        self.seizureRecordNumber = seizureRecordNumber
        self.titleNumber = titleNumber
        self.ownerIds = ownerIds
        self.court = court
        self.caseNumber = caseNumber
        self.registrationDate = registrationDate
        self.validTo = validTo
    }
}
