/// `social-insurance.contribution-posted.v1`: Contribution posted (缴费记账).
///
/// A social-insurance agency has posted one month's contribution for one person and one insurance line to the person's record: the person is covered for that month with the given contribution base and amounts.
public struct ContributionPosted: EventData {
    /// The catalog type this struct models.
    public static let eventType = "social-insurance.contribution-posted.v1"

    /// Identifier of this posting, unique within the agency's department and never reused; contribution-reversed refers to it.
    public var postingId: String
    /// Citizen ID of the insured person.
    public var personId: String
    /// The month the contribution is for (not the month it was paid).
    public var month: CivilMonth
    /// Insurance line.
    public var insuranceType: InsuranceType
    /// Region code of the agency the contribution was paid to (参保地).
    public var regionCode: String
    /// Monthly contribution base (缴费基数) in yuan, e.g.
    public var base: Money
    /// Amount paid by the employer (单位缴纳) in yuan; "0.00" when there is no employer.
    public var employerAmount: Money
    /// Amount paid by the person (个人缴纳) in yuan.
    public var employeeAmount: Money
    /// Employer's unified social credit code; leave out when the person contributes without an employer.
    public var employerId: String?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - postingId: Identifier of this posting, unique within the agency's department and never reused; contribution-reversed refers to it.
    ///   - personId: Citizen ID of the insured person.
    ///   - month: The month the contribution is for (not the month it was paid).
    ///   - insuranceType: Insurance line.
    ///   - regionCode: Region code of the agency the contribution was paid to (参保地).
    ///   - base: Monthly contribution base (缴费基数) in yuan, e.g.
    ///   - employerAmount: Amount paid by the employer (单位缴纳) in yuan; "0.00" when there is no employer.
    ///   - employeeAmount: Amount paid by the person (个人缴纳) in yuan.
    ///   - employerId: Employer's unified social credit code; leave out when the person contributes without an employer.
    public init(
        postingId: String,
        personId: String,
        month: CivilMonth,
        insuranceType: InsuranceType,
        regionCode: String,
        base: Money,
        employerAmount: Money,
        employeeAmount: Money,
        employerId: String? = nil
    ) {
        self.postingId = postingId
        self.personId = personId
        self.month = month
        self.insuranceType = insuranceType
        self.regionCode = regionCode
        self.base = base
        self.employerAmount = employerAmount
        self.employeeAmount = employeeAmount
        self.employerId = employerId
    }
}
