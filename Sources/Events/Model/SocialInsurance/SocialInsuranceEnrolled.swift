/// `social-insurance.enrolled.v1`: Enrolled in social insurance (参保登记).
///
/// A social-insurance agency (人社) has enrolled the person in one insurance line in a region from startMonth: contributions for that line and region can be posted from that month.
public struct SocialInsuranceEnrolled: EventData {
    /// The catalog type this struct models.
    public static let eventType = "social-insurance.enrolled.v1"

    /// Citizen ID of the insured person.
    public var personId: String
    /// Name as recorded by the agency; the identity view compares it with the household register and lists any disagreement as a conflict.
    public var name: String
    /// Insurance line enrolled in.
    public var insuranceType: InsuranceType
    /// Employer's unified social credit code; leave out for flexible workers and residents enrolling on their own.
    public var employerId: String?
    /// Region code of the insuring agency (参保地).
    public var regionCode: String
    /// First month covered; may be a coming month.
    public var startMonth: CivilMonth

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the insured person.
    ///   - name: Name as recorded by the agency; the identity view compares it with the household register and lists any disagreement as a conflict.
    ///   - insuranceType: Insurance line enrolled in.
    ///   - employerId: Employer's unified social credit code; leave out for flexible workers and residents enrolling on their own.
    ///   - regionCode: Region code of the insuring agency (参保地).
    ///   - startMonth: First month covered; may be a coming month.
    public init(
        personId: String,
        name: String,
        insuranceType: InsuranceType,
        employerId: String? = nil,
        regionCode: String,
        startMonth: CivilMonth
    ) {
        self.personId = personId
        self.name = name
        self.insuranceType = insuranceType
        self.employerId = employerId
        self.regionCode = regionCode
        self.startMonth = startMonth
    }
}
