import Events
import Postgres

/// The medical-insurance view's facts: enrollments, e-voucher activations, cross-region care filings and their
/// cancellations.
enum MedicalInsuranceProjector: ViewProjector {
    static let enrollment = FactTable.facts(
        "mi_enrollment", ["person_id", "name", "scheme", "region_code", "start_date", "employer_id"])
    static let voucher = FactTable.facts("mi_voucher", ["person_id", "voucher_id", "activated_at"])
    static let filing = FactTable.facts(
        "mi_filing", ["filing_id", "person_id", "from_region", "to_region", "category", "valid_from", "valid_to"])
    static let cancellation = FactTable.facts(
        "mi_filing_cancellation", ["filing_id", "person_id", "cancelled_from"])

    static let tables = [enrollment, voucher, filing, cancellation]

    static func project(_ source: FactSource, into rows: inout FactRows) {
        switch source.payload {
        case .medicalInsuranceEnrolled(let enrolled):
            rows.fact(
                enrollment, source, enrolled.personId, enrolled.name, enrolled.scheme.rawValue, enrolled.regionCode,
                enrolled.startDate.postgres, enrolled.employerId)
        case .eVoucherActivated(let activated):
            rows.fact(voucher, source, activated.personId, activated.voucherId, activated.activatedAt)
        case .crossRegionCareFiled(let filed):
            rows.fact(
                filing, source, filed.filingId, filed.personId, filed.fromRegion, filed.toRegion,
                filed.category.rawValue, filed.validFrom.postgres, filed.validTo?.postgres)
        case .crossRegionCareCancelled(let cancelled):
            rows.fact(
                cancellation, source, cancelled.filingId, cancelled.personId, cancelled.cancelledDate.postgres)
        default:
            break
        }
    }
}
