import Events
import Postgres

/// The household view's facts: households as established, and every change of membership (births and
/// registrations join a household too).
enum HouseholdProjector: ViewProjector {
    static let household = FactTable.facts(
        "household", ["household_id", "address_region_code", "address", "head_id", "established_on"])
    static let membership = FactTable.facts(
        "membership_change",
        ["person_id", "household_id", "direction", "relationship_to_head", "effective_on", "cause"])

    static let tables = [household, membership]

    static func project(_ source: FactSource, into rows: inout FactRows) {
        switch source.payload {
        case .householdEstablished(let established):
            rows.fact(
                household, source, established.householdId, established.addressRegionCode, established.address,
                established.headId, established.establishedDate.postgres)
        case .birthRegistered(let birth):
            rows.fact(
                membership, source, birth.childId, birth.householdId, "in", birth.relationshipToHead.rawValue,
                birth.birthDate.postgres, "birth")
        case .personRegistered(let person):
            rows.fact(
                membership, source, person.personId, person.householdId, "in", person.relationshipToHead.rawValue,
                person.effectiveDate.postgres, "registration")
        case .memberMovedIn(let move):
            rows.fact(
                membership, source, move.personId, move.householdId, "in", move.relationshipToHead.rawValue,
                move.effectiveDate.postgres, "move")
        case .memberMovedOut(let move):
            rows.fact(
                membership, source, move.personId, move.householdId, "out", move.relationshipToHead.rawValue,
                move.effectiveDate.postgres, "move")
        default:
            break
        }
    }
}
