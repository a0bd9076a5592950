import Events
import Postgres

/// The identity view's facts: registrations, name changes and deaths from the household registry, and every
/// identity attribute any department states (`tongban.identity_assertion`), which `v_identity` and
/// `v_identity_conflict` compare with the register.
enum IdentityProjector: ViewProjector {
    static let registration = FactTable.facts(
        "person_registration",
        [
            "person_id", "name", "sex", "birth_date", "registered_on", "kind", "household_id", "relationship_to_head",
            "birth_place", "mother_id", "father_id", "previous_region",
        ])
    static let nameChange = FactTable.facts(
        "name_change", ["person_id", "previous_name", "new_name", "effective_on", "reason_code", "note"])
    static let death = FactTable.facts("death", ["person_id", "date_of_death", "death_place"])
    static let assertion = FactTable(
        name: "identity_assertion",
        columns: [
            "person_id", "attribute", "value", "department", "event_type", "asserted_at", "asserted_on", "event_id",
            "fact_hash",
        ])

    static let tables = [registration, nameChange, death, assertion]

    static func project(_ source: FactSource, into rows: inout FactRows) {
        var assertions = Assertions()
        switch source.payload {
        case .birthRegistered(let birth):
            rows.fact(
                registration, source, birth.childId, birth.childName, birth.sex.rawValue, birth.birthDate.postgres,
                birth.birthDate.postgres, "birth", birth.householdId, birth.relationshipToHead.rawValue,
                Optional(birth.birthPlace), Optional(birth.motherId), birth.fatherId, String?.none)
            assertions.registered(birth.childId, birth.childName, birth.sex, birth.birthDate, on: birth.birthDate)
        case .personRegistered(let person):
            rows.fact(
                registration, source, person.personId, person.name, person.sex.rawValue, person.birthDate.postgres,
                person.effectiveDate.postgres, "registration", person.householdId, person.relationshipToHead.rawValue,
                String?.none, String?.none, String?.none, Optional(person.previousRegion))
            assertions.registered(person.personId, person.name, person.sex, person.birthDate, on: person.effectiveDate)
        case .nameChanged(let change):
            rows.fact(
                nameChange, source, change.personId, change.previousName, change.newName,
                change.effectiveDate.postgres, change.reasonCode.rawValue, change.note)
            assertions.name(change.personId, change.newName, on: change.effectiveDate.postgres)
        case .deathRegistered(let death):
            rows.fact(Self.death, source, death.personId, death.dateOfDeath.postgres, death.deathPlace)
        case .marriageRegistered(let marriage):
            for spouse in [marriage.spouseA, marriage.spouseB] {
                assertions.name(spouse.id, spouse.name, on: marriage.registrationDate.postgres)
            }
        case .divorceRegistered(let divorce):
            for spouse in [divorce.spouseA, divorce.spouseB] {
                assertions.name(spouse.id, spouse.name, on: divorce.divorceDate.postgres)
            }
        case .socialInsuranceEnrolled(let enrolled):
            // The name as the agency recorded it, on the day it recorded it.
            assertions.name(enrolled.personId, enrolled.name, on: source.beijingDate)
        case .medicalInsuranceEnrolled(let enrolled):
            assertions.name(enrolled.personId, enrolled.name, on: source.beijingDate)
        case .titleRegistered(let title):
            for owner in title.owners {
                assertions.name(owner.personId, owner.name, on: title.registrationDate.postgres)
            }
        case .titleTransferred(let transfer):
            for owner in transfer.newOwners {
                assertions.name(owner.personId, owner.name, on: transfer.transferDate.postgres)
            }
        default:
            break
        }
        for row in assertions.rows {
            rows.row(
                assertion, row.person, row.attribute, row.value, String(source.department), source.type,
                source.effectiveTime, row.on, source.eventID, source.factHash)
        }
    }

    /// The attributes one event states, each (person, attribute) once: the first statement counts.
    struct Assertions {
        var rows: [(person: String, attribute: String, value: String, on: PostgresDate)] = []

        mutating func add(_ person: String, _ attribute: String, _ value: String, on day: PostgresDate) {
            guard !rows.contains(where: { $0.person == person && $0.attribute == attribute }) else { return }
            rows.append((person, attribute, value, day))
        }

        mutating func name(_ person: String, _ name: String, on day: PostgresDate) {
            add(person, "name", name, on: day)
        }

        /// The household registry's record of a person: name, sex and birth date, from the day of registration.
        mutating func registered(
            _ person: String, _ name: String, _ sex: Sex, _ birthDate: CivilDate, on day: CivilDate
        ) {
            add(person, "name", name, on: day.postgres)
            add(person, "sex", sex.rawValue, on: day.postgres)
            add(person, "birth_date", birthDate.description, on: day.postgres)
        }
    }
}
