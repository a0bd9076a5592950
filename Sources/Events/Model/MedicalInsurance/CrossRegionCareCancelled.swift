/// `medical-insurance.cross-region-care-cancelled.v1`: Cross-region care filing cancelled (取消异地就医备案).
///
/// The filing identified by filingId no longer applies from cancelledDate (inclusive).
public struct CrossRegionCareCancelled: EventData {
    /// The catalog type this struct models.
    public static let eventType = "medical-insurance.cross-region-care-cancelled.v1"

    /// filingId of the cross-region-care-filed event being cancelled.
    public var filingId: String
    /// Citizen ID of the insured person; must be the person of the filing.
    public var personId: String
    /// First day on which the filing no longer applies; may be in the future.
    public var cancelledDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - filingId: filingId of the cross-region-care-filed event being cancelled.
    ///   - personId: Citizen ID of the insured person; must be the person of the filing.
    ///   - cancelledDate: First day on which the filing no longer applies; may be in the future.
    public init(filingId: String, personId: String, cancelledDate: CivilDate) {
        self.filingId = filingId
        self.personId = personId
        self.cancelledDate = cancelledDate
    }
}
