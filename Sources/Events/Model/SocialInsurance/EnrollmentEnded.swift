/// `social-insurance.enrollment-ended.v1`: Enrollment ended (停保 / 终止参保).
///
/// A social-insurance agency has ended the person's enrollment in one insurance line in a region: endMonth is the last month covered by that enrollment.
public struct EnrollmentEnded: EventData {
    /// The catalog type this struct models.
    public static let eventType = "social-insurance.enrollment-ended.v1"

    /// Citizen ID of the insured person.
    public var personId: String
    /// Insurance line whose enrollment ends.
    public var insuranceType: InsuranceType
    /// Region code of the insuring agency.
    public var regionCode: String
    /// Last month covered; may be the current or a coming month.
    public var endMonth: CivilMonth
    /// Why the enrollment ended: left-employment (离职), transferred-out (转移到其他统筹地区), retired (退休; pension enrollment ends and benefits begin), deceased (死亡), emigrated (出国定居), duplicate-enrollment (重复参保清理), other.
    public var reasonCode: ReasonCode
    /// Optional explanation for people.
    public var note: String?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the insured person.
    ///   - insuranceType: Insurance line whose enrollment ends.
    ///   - regionCode: Region code of the insuring agency.
    ///   - endMonth: Last month covered; may be the current or a coming month.
    ///   - reasonCode: Why the enrollment ended: left-employment (离职), transferred-out (转移到其他统筹地区), retired (退休; pension enrollment ends and benefits begin), deceased (死亡), emigrated (出国定居), duplicate-enrollment (重复参保清理), other.
    ///   - note: Optional explanation for people.
    public init(
        personId: String,
        insuranceType: InsuranceType,
        regionCode: String,
        endMonth: CivilMonth,
        reasonCode: ReasonCode,
        note: String? = nil
    ) {
        self.personId = personId
        self.insuranceType = insuranceType
        self.regionCode = regionCode
        self.endMonth = endMonth
        self.reasonCode = reasonCode
        self.note = note
    }

    /// Why the enrollment ended: left-employment (离职), transferred-out (转移到其他统筹地区), retired (退休; pension enrollment ends and benefits begin), deceased (死亡), emigrated (出国定居), duplicate-enrollment (重复参保清理), other.
    public enum ReasonCode: String, Sendable, Hashable, Codable, CaseIterable {
        /// `left-employment`.
        case leftEmployment = "left-employment"
        /// `transferred-out`.
        case transferredOut = "transferred-out"
        /// `retired`.
        case retired
        /// `deceased`.
        case deceased
        /// `emigrated`.
        case emigrated
        /// `duplicate-enrollment`.
        case duplicateEnrollment = "duplicate-enrollment"
        /// `other`.
        case other
    }
}
