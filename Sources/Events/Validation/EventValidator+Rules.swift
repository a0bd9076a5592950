internal import Foundation

/// The rules of `schemas/README.md` that JSON Schema cannot express.
extension EventValidator {
    /// Fields whose description allows a future date or month (README rule 3): the periods set by
    /// enrollments and filings, and a seizure's `validTo`.
    static let mayLieInFuture: Set<String> = [
        "startMonth", "endMonth", "startDate", "validFrom", "validTo", "cancelledDate",
    ]

    /// Rules on single values, found through the named definitions the schemas applied to them
    /// (README rules 1, 3, 6, 8 and the restriction of supplementary-plane name characters to Han).
    func checkValues(
        _ annotations: [SchemaEvaluation.Annotation], now: Date, skew: Duration, into rules: inout RuleViolations
    ) {
        let today = RFC3339.beijingDate(now)
        let latestInstant = now.addingTimeInterval(Double(skew.components.seconds))
        for annotation in annotations {
            let pointer = annotation.pointer
            let value = annotation.value
            // The member name, for the rule that some dates may lie in the future.
            var field: Substring { pointer.lastIndex(of: "/").map { pointer[pointer.index(after: $0)...] } ?? "" }
            switch annotation.name {
            case "citizenId":
                if let problem = CitizenID.problem(with: value) {
                    rules.add(.invalidCitizenID, pointer, "citizenId", value, problem)
                }
            case "date":
                guard let date = CivilDate(value) else {
                    rules.add(.invalidDate, pointer, "realDate", value, "is not a real calendar date")
                    continue
                }
                if date > today, !Self.mayLieInFuture.contains(String(field)) {
                    rules.add(.futureDate, pointer, "notFuture", value, "is after today (\(today), Beijing time)")
                }
            case "month":
                if let month = CivilMonth(value), month > CivilMonth(today),
                    !Self.mayLieInFuture.contains(String(field))
                {
                    rules.add(
                        .futureDate, pointer, "notFuture", value,
                        "is after the current month (\(CivilMonth(today)), Beijing time)")
                }
            case "dateTime":
                guard let instant = RFC3339.parse(value)?.date else {
                    rules.add(.invalidDate, pointer, "realDate", value, "is not a real date and time")
                    continue
                }
                if instant > latestInstant {
                    rules.add(
                        .futureDate, pointer, "notFuture", value,
                        "is more than \(skew.components.seconds) seconds ahead of the hub's clock")
                }
            case "personName":
                if let scalar = value.unicodeScalars.first(where: { $0.value > 0xFFFF && !Self.isHanSupplementary($0) })
                {
                    rules.add(
                        .invalidName, pointer, "hanOnly", value,
                        "contains U+\(String(scalar.value, radix: 16, uppercase: true)), which is not a Han character")
                }
            case "socialCreditCode":
                if let problem = SocialCreditCode.problem(with: value) {
                    rules.add(.invalidCreditCode, pointer, "creditCodeCheck", value, problem)
                }
            case "squareMeters":
                if (Area(value)?.hundredths ?? 0) <= 0 {
                    rules.add(.invalidAmount, pointer, "positiveArea", value, "must be greater than zero")
                }
            case "money":
                if (Money(value)?.fen ?? -1) < 0 {
                    rules.add(.invalidAmount, pointer, "nonNegativeAmount", value, "must not be negative")
                }
            default:
                break
            }
        }
    }

    /// A supplementary-plane Han ideograph (CJK Extension B and later, compatibility supplement).
    static func isHanSupplementary(_ scalar: Unicode.Scalar) -> Bool {
        (0x20000...0x3FFFF).contains(scalar.value) && scalar.properties.isIdeographic
    }

    /// README rule 10: departments, `dataschema`, `subject` and the Kafka key. Returns the record key.
    func checkEnvelope(
        _ envelope: EventEnvelope, entry: EventCatalog.Entry, data: JSONValue, key: [UInt8]?,
        into rules: inout RuleViolations
    ) -> String? {
        if envelope.sourceDepartment != entry.department {
            rules.add(
                .departmentMismatch, "/source", "department", envelope.source,
                "names another department than type \(entry.type) (\(entry.department))")
        }
        if let keyDepartment = envelope.keyDepartment, keyDepartment != entry.department {
            rules.add(
                .departmentMismatch, "/tbkid", "department", envelope.tbkid,
                "is a key of department \(keyDepartment), but type \(entry.type) is of \(entry.department)")
        }
        if let schema = envelope.dataSchema, schema != entry.schemaID {
            rules.add(
                .schemaMismatch, "/dataschema", "dataschema", schema,
                "is not the schema of \(entry.type) (\(entry.schemaID))")
        }
        let subject = data.value(at: entry.subjectPointer)?.stringValue
        if subject != envelope.subject {
            rules.add(
                .subjectMismatch, "/subject", "subject", envelope.subject,
                "does not equal data\(entry.subjectPointer) (\(subject.map(EventViolation.masked) ?? "missing"))")
        }
        let recordKey = data.value(at: entry.keyPointer)?.stringValue
        if let key, recordKey.map({ Array($0.utf8) == key }) != true {
            rules.add(
                .keyMismatch, "/data" + entry.keyPointer, "kafkaKey", recordKey,
                "differs from the Kafka key \(EventViolation.masked(String(decoding: key, as: UTF8.self)))")
        }
        return recordKey
    }

    /// README rules 2, 4, 5, 7 and 9: agreement and order across the fields of one fact.
    func checkFacts(_ payload: EventPayload, original data: JSONValue, into rules: inout RuleViolations) {
        switch payload {
        case .birthRegistered(let fact):
            checkIdentity(fact.childId, "childId", birthDate: fact.birthDate, sex: fact.sex, into: &rules)
            checkDistinct(
                [
                    ("/data/childId", fact.childId), ("/data/motherId", fact.motherId),
                    ("/data/fatherId", fact.fatherId),
                ],
                into: &rules)
        case .personRegistered(let fact):
            checkIdentity(fact.personId, "personId", birthDate: fact.birthDate, sex: fact.sex, into: &rules)
        case .deathRegistered(let fact):
            if let birth = CitizenID.birthDate(of: fact.personId), fact.dateOfDeath < birth {
                rules.add(
                    .inconsistentFields, "/data/dateOfDeath", "dateOrder", fact.dateOfDeath.description,
                    "is before the birth date \(birth) in personId")
            }
        case .nameChanged(let fact):
            if fact.newName == fact.previousName {
                rules.add(
                    .inconsistentFields, "/data/newName", "nameChanged", fact.newName, "is the same as previousName")
            }
        case .marriageRegistered(let fact):
            checkDistinct([("/data/spouseA/id", fact.spouseA.id), ("/data/spouseB/id", fact.spouseB.id)], into: &rules)
        case .divorceRegistered(let fact):
            checkDistinct([("/data/spouseA/id", fact.spouseA.id), ("/data/spouseB/id", fact.spouseB.id)], into: &rules)
        case .adoptionRegistered(let fact):
            for (index, parent) in fact.adoptiveParentIds.enumerated() where parent == fact.childId {
                rules.add(
                    .duplicatePerson, "/data/adoptiveParentIds/\(index)", "distinctPeople", parent,
                    "is the child being adopted")
            }
        case .crossRegionCareFiled(let fact):
            if let validTo = fact.validTo, validTo < fact.validFrom {
                rules.add(
                    .inconsistentFields, "/data/validTo", "dateOrder", validTo.description,
                    "is before validFrom (\(fact.validFrom))")
            }
        case .titleRegistered(let fact):
            checkOwners(fact.owners, at: "/data/owners", form: fact.coOwnership, into: &rules)
        case .titleTransferred(let fact):
            checkOwners(fact.newOwners, at: "/data/newOwners", form: fact.coOwnership, into: &rules)
        default:
            break
        }
    }

    /// README rule 2: the birth date and sex embedded in the ID agree with the fact's own fields.
    private func checkIdentity(
        _ id: String, _ idField: String, birthDate: CivilDate, sex: Sex, into rules: inout RuleViolations
    ) {
        if let embedded = CitizenID.birthDate(of: id), embedded != birthDate {
            rules.add(
                .inconsistentFields, "/data/birthDate", "birthDateMatchesId", birthDate.description,
                "does not match the birth date \(embedded) in \(idField)")
        }
        if let male = CitizenID.isMale(id), male != (sex == .male) {
            rules.add(
                .inconsistentFields, "/data/sex", "sexMatchesId", sex.rawValue,
                "does not match the 17th digit of \(idField) (\(male ? "odd, male" : "even, female"))")
        }
    }

    /// README rule 5: the people named are all different.
    private func checkDistinct(_ people: [(pointer: String, id: String?)], into rules: inout RuleViolations) {
        for (index, person) in people.enumerated() {
            guard let id = person.id else { continue }
            if let earlier = people[..<index].first(where: { $0.id == id }) {
                let name = earlier.pointer.split(separator: "/").dropFirst().joined(separator: "/")
                rules.add(.duplicatePerson, person.pointer, "distinctPeople", id, "is the same person as \(name)")
            }
        }
    }

    /// README rules 5 and 7: owners listed once; shares exact, in lowest terms, summing to 1, fitting the form.
    private func checkOwners(_ owners: [Owner], at pointer: String, form: CoOwnership, into rules: inout RuleViolations)
    {
        var seen: Set<String> = []
        for (index, owner) in owners.enumerated() {
            if !seen.insert(owner.personId).inserted {
                rules.add(
                    .duplicatePerson, "\(pointer)/\(index)/personId", "distinctOwners", owner.personId,
                    "is listed more than once among the owners")
            }
            let share = owner.share
            if !share.isInLowestTerms {
                let divisor = Share.gcd(share.numerator, share.denominator)
                rules.add(
                    .invalidShares, "\(pointer)/\(index)/share", "lowestTerms", share.description,
                    "is not in lowest terms (write \(share.numerator / divisor)/\(share.denominator / divisor))")
            }
            if share.numerator > share.denominator {
                rules.add(
                    .invalidShares, "\(pointer)/\(index)/share", "shareAtMostOne", share.description, "is more than 1")
            }
            if form == .joint, share.numerator * owners.count != share.denominator {
                rules.add(
                    .invalidShares, "\(pointer)/\(index)/share", "jointEqualShares", share.description,
                    "must be 1/\(owners.count): joint owners hold equal shares")
            }
        }
        if let total = Share.sum(owners.map(\.share)), total != (1, 1) {
            rules.add(
                .invalidShares, pointer, "sharesSumToOne", nil,
                "shares sum to \(total.numerator)/\(total.denominator), not 1")
        }
        if form == .sole, owners.count != 1 || owners.first?.share != Share(numerator: 1, denominator: 1) {
            rules.add(
                .invalidShares, pointer, "soleOwner", nil,
                "coOwnership is sole, which needs exactly one owner with share 1/1 (found \(owners.count) owners)")
        }
    }
}
