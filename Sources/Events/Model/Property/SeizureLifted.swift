/// `property.seizure-lifted.v1`: Seizure lifted (解除查封登记).
///
/// The seizure identified by seizureRecordNumber no longer applies from liftedDate.
public struct SeizureLifted: EventData {
    /// The catalog type this struct models.
    public static let eventType = "property.seizure-lifted.v1"

    /// Number of the seizure registration being lifted.
    public var seizureRecordNumber: String
    /// Real-estate unit number of the property.
    public var titleNumber: String
    /// Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    public var ownerIds: [String]
    /// Date the seizure was lifted.
    public var liftedDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - seizureRecordNumber: Number of the seizure registration being lifted.
    ///   - titleNumber: Real-estate unit number of the property.
    ///   - ownerIds: Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    ///   - liftedDate: Date the seizure was lifted.
    public init(seizureRecordNumber: String, titleNumber: String, ownerIds: [String], liftedDate: CivilDate) {
        self.seizureRecordNumber = seizureRecordNumber
        self.titleNumber = titleNumber
        self.ownerIds = ownerIds
        self.liftedDate = liftedDate
    }
}
