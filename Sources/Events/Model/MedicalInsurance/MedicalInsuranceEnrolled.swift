/// `medical-insurance.enrolled.v1`: Enrolled in basic medical insurance (医保参保).
///
/// A medical-insurance agency (医保) has enrolled the person in basic medical insurance under a scheme in a region from startDate.
public struct MedicalInsuranceEnrolled: EventData {
    /// The catalog type this struct models.
    public static let eventType = "medical-insurance.enrolled.v1"

    /// Citizen ID of the insured person.
    public var personId: String
    /// Name as recorded by the agency (compared with the household register).
    public var name: String
    /// Scheme: employee (职工基本医疗保险) or resident (城乡居民基本医疗保险).
    public var scheme: Scheme
    /// Region code of the insuring agency (参保地).
    public var regionCode: String
    /// First day of cover; may be in the future.
    public var startDate: CivilDate
    /// Employer's unified social credit code for the employee scheme when enrolled through an employer; otherwise left out.
    public var employerId: String?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the insured person.
    ///   - name: Name as recorded by the agency (compared with the household register).
    ///   - scheme: Scheme: employee (职工基本医疗保险) or resident (城乡居民基本医疗保险).
    ///   - regionCode: Region code of the insuring agency (参保地).
    ///   - startDate: First day of cover; may be in the future.
    ///   - employerId: Employer's unified social credit code for the employee scheme when enrolled through an employer; otherwise left out.
    public init(
        personId: String,
        name: String,
        scheme: Scheme,
        regionCode: String,
        startDate: CivilDate,
        employerId: String? = nil
    ) {
        self.personId = personId
        self.name = name
        self.scheme = scheme
        self.regionCode = regionCode
        self.startDate = startDate
        self.employerId = employerId
    }

    /// Scheme: employee (职工基本医疗保险) or resident (城乡居民基本医疗保险).
    public enum Scheme: String, Sendable, Hashable, Codable, CaseIterable {
        /// `employee`.
        case employee
        /// `resident`.
        case resident
    }
}
