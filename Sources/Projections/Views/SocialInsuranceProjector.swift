import Events
import Postgres

/// The social-insurance view's facts: enrollments and their end, contributions posted and reversed.
enum SocialInsuranceProjector: ViewProjector {
    static let enrollment = FactTable.facts(
        "si_enrollment", ["person_id", "name", "insurance_type", "employer_id", "region_code", "start_month"])
    static let enrollmentEnd = FactTable.facts(
        "si_enrollment_end", ["person_id", "insurance_type", "region_code", "end_month", "reason_code", "note"])
    static let contribution = FactTable.facts(
        "contribution",
        [
            "posting_id", "person_id", "month", "insurance_type", "region_code", "base", "employer_amount",
            "employee_amount", "employer_id",
        ])
    static let reversal = FactTable.facts(
        "contribution_reversal", ["posting_id", "person_id", "reason_code", "note"])

    static let tables = [enrollment, enrollmentEnd, contribution, reversal]

    static func project(_ source: FactSource, into rows: inout FactRows) {
        switch source.payload {
        case .contributionPosted(let posted):
            rows.fact(
                contribution, source, posted.postingId, posted.personId, posted.month.firstDay,
                posted.insuranceType.rawValue, posted.regionCode, posted.base.postgres, posted.employerAmount.postgres,
                posted.employeeAmount.postgres, posted.employerId)
        case .contributionReversed(let reversed):
            rows.fact(
                reversal, source, reversed.postingId, reversed.personId, reversed.reasonCode.rawValue, reversed.note)
        case .socialInsuranceEnrolled(let enrolled):
            rows.fact(
                enrollment, source, enrolled.personId, enrolled.name, enrolled.insuranceType.rawValue,
                enrolled.employerId, enrolled.regionCode, enrolled.startMonth.firstDay)
        case .enrollmentEnded(let ended):
            rows.fact(
                enrollmentEnd, source, ended.personId, ended.insuranceType.rawValue, ended.regionCode,
                ended.endMonth.firstDay, ended.reasonCode.rawValue, ended.note)
        default:
            break
        }
    }
}
