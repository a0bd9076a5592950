import Events
import Postgres

/// The kinship view's facts: marriages and divorces, adoptions and their dissolution. Parentage by birth comes from
/// the registrations (`IdentityProjector`'s `person_registration`), which `v_parentage` reads.
enum KinshipProjector: ViewProjector {
    static let marriage = FactTable.facts(
        "marriage",
        [
            "marriage_record_number", "spouse_a_id", "spouse_a_name", "spouse_b_id", "spouse_b_name", "registered_on",
            "registry_region",
        ])
    static let divorce = FactTable.facts(
        "divorce",
        [
            "marriage_record_number", "spouse_a_id", "spouse_b_id", "divorced_on", "kind", "registry_region",
            "court_case_number",
        ])
    static let adoption = FactTable.facts(
        "adoption",
        [
            "adoption_record_number", "child_id", "adoptive_parent_ids", "birth_parent_ids", "effective_on",
            "registry_region",
        ])
    static let dissolution = FactTable.facts(
        "adoption_dissolution", ["adoption_record_number", "child_id", "dissolved_on", "kind"])

    static let tables = [marriage, divorce, adoption, dissolution]

    static func project(_ source: FactSource, into rows: inout FactRows) {
        switch source.payload {
        case .marriageRegistered(let event):
            rows.fact(
                marriage, source, event.marriageRecordNumber, event.spouseA.id, event.spouseA.name, event.spouseB.id,
                event.spouseB.name, event.registrationDate.postgres, event.registryRegion)
        case .divorceRegistered(let event):
            rows.fact(
                divorce, source, event.marriageRecordNumber, event.spouseA.id, event.spouseB.id,
                event.divorceDate.postgres, event.kind.rawValue, event.registryRegion, event.courtCaseNumber)
        case .adoptionRegistered(let event):
            // No birth parents (a foundling) is an empty list.
            rows.fact(
                adoption, source, event.adoptionRecordNumber, event.childId,
                PostgresTextArray(event.adoptiveParentIds), PostgresTextArray(event.birthParentIds ?? []),
                event.effectiveDate.postgres, event.registryRegion)
        case .adoptionDissolved(let event):
            rows.fact(
                dissolution, source, event.adoptionRecordNumber, event.childId, event.dissolvedDate.postgres,
                event.kind.rawValue)
        default:
            break
        }
    }
}
