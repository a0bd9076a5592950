/// `medical-insurance.cross-region-care-filed.v1`: Cross-region care filed (异地就医备案).
///
/// The insuring agency has accepted a cross-region care filing: from validFrom (until validTo, or until cancelled when open-ended) the person's medical costs in toRegion are settled directly against the insurance of fromRegion.
public struct CrossRegionCareFiled: EventData {
    /// The catalog type this struct models.
    public static let eventType = "medical-insurance.cross-region-care-filed.v1"

    /// Identifier of this filing; cross-region-care-cancelled refers to it.
    public var filingId: String
    /// Citizen ID of the insured person.
    public var personId: String
    /// Region code of the insuring region (参保地).
    public var fromRegion: String
    /// Region code where care is received (就医地); differs from fromRegion.
    public var toRegion: String
    /// Category of filing: retired-relocated (异地安置退休人员), long-term-resident (异地长期居住), temporary-work (常驻异地工作 / 异地工作), referral (转诊转院), emergency (急诊抢救 / 临时外出就医).
    public var category: Category
    /// First day the filing applies; may be in the future.
    public var validFrom: CivilDate
    /// Last day the filing applies, not before validFrom; may be in the future.
    public var validTo: CivilDate?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - filingId: Identifier of this filing; cross-region-care-cancelled refers to it.
    ///   - personId: Citizen ID of the insured person.
    ///   - fromRegion: Region code of the insuring region (参保地).
    ///   - toRegion: Region code where care is received (就医地); differs from fromRegion.
    ///   - category: Category of filing: retired-relocated (异地安置退休人员), long-term-resident (异地长期居住), temporary-work (常驻异地工作 / 异地工作), referral (转诊转院), emergency (急诊抢救 / 临时外出就医).
    ///   - validFrom: First day the filing applies; may be in the future.
    ///   - validTo: Last day the filing applies, not before validFrom; may be in the future.
    public init(
        filingId: String,
        personId: String,
        fromRegion: String,
        toRegion: String,
        category: Category,
        validFrom: CivilDate,
        validTo: CivilDate? = nil
    ) {
        self.filingId = filingId
        self.personId = personId
        self.fromRegion = fromRegion
        self.toRegion = toRegion
        self.category = category
        self.validFrom = validFrom
        self.validTo = validTo
    }

    /// Category of filing: retired-relocated (异地安置退休人员), long-term-resident (异地长期居住), temporary-work (常驻异地工作 / 异地工作), referral (转诊转院), emergency (急诊抢救 / 临时外出就医).
    public enum Category: String, Sendable, Hashable, Codable, CaseIterable {
        /// `retired-relocated`.
        case retiredRelocated = "retired-relocated"
        /// `long-term-resident`.
        case longTermResident = "long-term-resident"
        /// `temporary-work`.
        case temporaryWork = "temporary-work"
        /// `referral`.
        case referral
        /// `emergency`.
        case emergency
    }
}
