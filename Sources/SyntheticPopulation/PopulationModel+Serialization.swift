/// Writes planned events as compact JSON envelopes, straight into bytes.
extension PopulationModel {
    /// What the serializer tells the caller about the event it wrote.
    struct WrittenEvent {
        var kind: EventKind
        /// The Kafka key (the value at the catalog's key pointer).
        var key: String
        /// The envelope subject (the value at the catalog's subject pointer).
        var subject: String
    }

    /// The filing id of a cross-region care filing, `MI-<region>-<year>-<serial>`.
    func filingID(_ f: Int) -> String {
        let filing = medical.filings[f]
        var bytes = Array("MI-\(Region.all[filing.from].code)-".utf8)
        EventBuffer.appendDigits(filing.registered.components.year, count: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        EventBuffer.appendDigits(filing.serial, count: 7, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private func regionCode(_ region: Int) -> String { Region.all[region].code }

    private func homeRegion(of person: Int, at day: CivilDay) -> Int {
        membership(of: person, at: day).map { households[$0.household].region } ?? people[person].region
    }

    private func begin(
        _ kind: EventKind, region: Int, subject: String, day: CivilDay, second: Int = 0, id: (UInt64, UInt64),
        into b: inout EventBuffer
    ) {
        b.raw(#"{"specversion":"1.0","id":"#)
        b.uuid(id.0, id.1)
        b.raw(#","source":"/departments/"#)
        b.raw(kind.department.name)
        b.raw("/")
        b.raw(regionCode(region))
        b.raw(#"","type":""#)
        b.raw(kind.type)
        b.raw(#"","subject":""#)
        b.raw(subject)
        b.raw(#"","time":"#)
        b.dateTime(day, second: second)
        b.raw(#","datacontenttype":"application/json","data":{"#)
    }

    private func person(_ name: StaticString, _ person: Int, at day: CivilDay, into b: inout EventBuffer) {
        b.key(name)
        b.raw("{")
        b.field("id", people[person].id, first: true)
        b.field("name", people[person].name(at: day))
        b.raw("}")
    }

    private func ids(_ name: StaticString, _ persons: [Int], into b: inout EventBuffer) {
        b.key(name)
        b.raw("[")
        for (i, p) in persons.enumerated() {
            if i > 0 { b.raw(",") }
            b.string(people[p].id)
        }
        b.raw("]")
    }

    private func owners(_ name: StaticString, _ ownership: PropertyRecords.Ownership, into b: inout EventBuffer) {
        b.key(name)
        b.raw("[")
        for (i, owner) in ownership.owners.enumerated() {
            if i > 0 { b.raw(",") }
            b.raw("{")
            b.field("personId", people[owner.person].id, first: true)
            b.field("name", people[owner.person].name(at: ownership.day))
            b.field("share", owner.share.description)
            b.raw("}")
        }
        b.raw("]")
    }

    /// Writes one event's envelope (unsigned) into `b`.
    /// - Parameters:
    ///   - event: the planned event.
    ///   - id: 128 bits for the envelope id.
    func write(_ event: PlannedEvent, id: (UInt64, UInt64), into b: inout EventBuffer) -> WrittenEvent {
        let day = event.day
        switch event.fact {
        case .personRegistered(let p, let household, let relation, let previous):
            let person = people[p]
            begin(
                .personRegistered, region: households[household].region, subject: person.id, day: day, id: id, into: &b)
            b.field("personId", person.id, first: true)
            b.field("name", person.name(at: day))
            b.field("sex", person.male ? "male" : "female")
            b.field("birthDate", date: person.birth)
            b.field("householdId", households[household].id)
            b.field("relationshipToHead", relation.text)
            b.field("previousRegion", regionCode(previous))
            b.field("effectiveDate", date: day)
            b.raw("}}")
            return WrittenEvent(kind: .personRegistered, key: person.id, subject: person.id)
        case .birthRegistered(let c, let household, let relation):
            let child = people[c]
            let region = households[household].region
            begin(.birthRegistered, region: region, subject: child.id, day: day, id: id, into: &b)
            b.field("childId", child.id, first: true)
            b.field("childName", child.birthName)
            b.field("sex", child.male ? "male" : "female")
            b.field("birthDate", date: child.birth)
            b.field("birthPlace", regionCode(region))
            if let mother = child.mother { b.field("motherId", people[mother].id) }
            if let father = child.father { b.field("fatherId", people[father].id) }
            b.field("householdId", households[household].id)
            b.field("relationshipToHead", relation.text)
            b.raw("}}")
            return WrittenEvent(kind: .birthRegistered, key: child.id, subject: child.id)
        case .householdEstablished(let h):
            let household = households[h]
            let head = people[household.head].id
            begin(.householdEstablished, region: household.region, subject: head, day: day, id: id, into: &b)
            b.field("householdId", household.id, first: true)
            b.field("addressRegionCode", regionCode(household.region))
            b.field("address", household.address)
            b.field("headId", head)
            b.field("establishedDate", date: day)
            b.raw("}}")
            return WrittenEvent(kind: .householdEstablished, key: household.id, subject: head)
        case .movedIn(let p, let household, let relation), .movedOut(let p, let household, let relation):
            let kind: EventKind
            if case .movedIn = event.fact { kind = .memberMovedIn } else { kind = .memberMovedOut }
            let id0 = people[p].id
            begin(kind, region: households[household].region, subject: id0, day: day, id: id, into: &b)
            b.field("householdId", households[household].id, first: true)
            b.field("personId", id0)
            b.field("relationshipToHead", relation.text)
            b.field("effectiveDate", date: day)
            b.raw("}}")
            return WrittenEvent(kind: kind, key: id0, subject: id0)
        case .nameChanged(let p, let c):
            let change = people[p].nameChanges[c]
            let kind: EventKind = change.asVersion1 ? .nameChangedV1 : .nameChangedV2
            let id0 = people[p].id
            begin(kind, region: homeRegion(of: p, at: day), subject: id0, day: day, id: id, into: &b)
            b.field("personId", id0, first: true)
            b.field("previousName", change.previous)
            b.field("newName", change.new)
            b.field("effectiveDate", date: day)
            if !change.asVersion1 { b.field("reasonCode", change.reason) }
            b.raw("}}")
            return WrittenEvent(kind: kind, key: id0, subject: id0)
        case .deathRegistered(let p):
            let id0 = people[p].id
            let region = homeRegion(of: p, at: day)
            begin(.deathRegistered, region: region, subject: id0, day: day, id: id, into: &b)
            b.field("personId", id0, first: true)
            b.field("dateOfDeath", date: day)
            b.field("deathPlace", regionCode(region))
            b.raw("}}")
            return WrittenEvent(kind: .deathRegistered, key: id0, subject: id0)
        case .marriageRegistered(let m), .divorceRegistered(let m):
            let marriage = marriages[m]
            let divorce: Bool
            if case .divorceRegistered = event.fact { divorce = true } else { divorce = false }
            let kind: EventKind = divorce ? .divorceRegistered : .marriageRegistered
            let subject = people[marriage.a].id
            begin(kind, region: marriage.region, subject: subject, day: day, id: id, into: &b)
            b.field("marriageRecordNumber", marriage.number, first: true)
            person("spouseA", marriage.a, at: day, into: &b)
            person("spouseB", marriage.b, at: day, into: &b)
            if divorce {
                b.field("divorceDate", date: day)
                if marriage.divorceByCourt {
                    b.field("kind", "court")
                    let r = Region.all[marriage.region]
                    b.field(
                        "courtCaseNumber",
                        "(\(day.components.year))\(r.abbreviation)\(r.code.dropFirst(2))民初\(m % 9000 + 1000)号")
                } else {
                    b.field("kind", "registry")
                    b.field("registryRegion", regionCode(marriage.region))
                }
            } else {
                b.field("registrationDate", date: day)
                b.field("registryRegion", regionCode(marriage.region))
            }
            b.raw("}}")
            return WrittenEvent(kind: kind, key: marriage.number, subject: subject)
        case .adoptionRegistered(let a):
            let adoption = adoptions[a]
            let child = people[adoption.child].id
            begin(.adoptionRegistered, region: adoption.region, subject: child, day: day, id: id, into: &b)
            b.field("adoptionRecordNumber", adoption.number, first: true)
            b.field("childId", child)
            ids("adoptiveParentIds", adoption.parents, into: &b)
            if !adoption.birthParents.isEmpty { ids("birthParentIds", adoption.birthParents, into: &b) }
            b.field("effectiveDate", date: day)
            b.field("registryRegion", regionCode(adoption.region))
            b.raw("}}")
            return WrittenEvent(kind: .adoptionRegistered, key: child, subject: child)
        case .adoptionDissolved(let a):
            let adoption = adoptions[a]
            let child = people[adoption.child].id
            begin(.adoptionDissolved, region: adoption.region, subject: child, day: day, id: id, into: &b)
            b.field("adoptionRecordNumber", adoption.number, first: true)
            b.field("childId", child)
            b.field("dissolvedDate", date: day)
            b.field("kind", adoption.dissolvedByCourt ? "court" : "registry")
            b.raw("}}")
            return WrittenEvent(kind: .adoptionDissolved, key: child, subject: child)
        case .insuranceEnrolled(let e), .enrollmentEnded(let e):
            let enrollment = insurance.enrollments[e]
            let ended: Bool
            if case .enrollmentEnded = event.fact { ended = true } else { ended = false }
            let kind: EventKind = ended ? .enrollmentEnded : .insuranceEnrolled
            let id0 = people[enrollment.person].id
            begin(kind, region: enrollment.region, subject: id0, day: day, id: id, into: &b)
            b.field("personId", id0, first: true)
            if ended {
                b.field("insuranceType", enrollment.line.text)
                b.field("regionCode", regionCode(enrollment.region))
                b.field("endMonth", month: enrollment.endMonth ?? enrollment.startMonth)
                b.field("reasonCode", enrollment.endReason)
            } else {
                b.field("name", enrollment.name)
                b.field("insuranceType", enrollment.line.text)
                if let employer = enrollment.employer { b.field("employerId", insurance.employers[employer]) }
                b.field("regionCode", regionCode(enrollment.region))
                b.field("startMonth", month: enrollment.startMonth)
            }
            b.raw("}}")
            return WrittenEvent(kind: kind, key: id0, subject: id0)
        case .contributionPosted(let p), .contributionReversed(let p):
            let posting = insurance.postings[p]
            let reversed: Bool
            if case .contributionReversed = event.fact { reversed = true } else { reversed = false }
            let kind: EventKind = reversed ? .contributionReversed : .contributionPosted
            let id0 = people[posting.person].id
            begin(kind, region: posting.region, subject: id0, day: day, id: id, into: &b)
            b.key("postingId", first: true)
            b.raw(#""SI-"#)
            b.raw(regionCode(posting.region))
            b.raw("-")
            EventBuffer.appendDigits(posting.month / 12, count: 4, to: &b.bytes)
            EventBuffer.appendDigits(posting.month % 12 + 1, count: 2, to: &b.bytes)
            b.raw("-")
            EventBuffer.appendDigits(posting.serial, count: 9, to: &b.bytes)
            b.raw(#"""#)
            b.field("personId", id0)
            if reversed {
                b.field("reasonCode", posting.reversalReason)
            } else {
                b.field("month", month: posting.month)
                b.field("insuranceType", posting.line.text)
                b.field("regionCode", regionCode(posting.region))
                b.field("base", cents: posting.base)
                b.field("employerAmount", cents: posting.employerAmount)
                b.field("employeeAmount", cents: posting.employeeAmount)
                if let employer = posting.employer { b.field("employerId", insurance.employers[employer]) }
            }
            b.raw("}}")
            return WrittenEvent(kind: kind, key: id0, subject: id0)
        case .medicalEnrolled(let e):
            let enrollment = medical.enrollments[e]
            let id0 = people[enrollment.person].id
            begin(.medicalEnrolled, region: enrollment.region, subject: id0, day: day, id: id, into: &b)
            b.field("personId", id0, first: true)
            b.field("name", enrollment.name)
            b.field("scheme", enrollment.employer == nil ? "resident" : "employee")
            b.field("regionCode", regionCode(enrollment.region))
            b.field("startDate", date: enrollment.start)
            if let employer = enrollment.employer { b.field("employerId", insurance.employers[employer]) }
            b.raw("}}")
            return WrittenEvent(kind: .medicalEnrolled, key: id0, subject: id0)
        case .voucherActivated(let v):
            let voucher = medical.vouchers[v]
            let id0 = people[voucher.person].id
            begin(
                .voucherActivated, region: voucher.region, subject: id0, day: day, second: voucher.second, id: id,
                into: &b)
            b.field("personId", id0, first: true)
            b.key("voucherId")
            b.raw(#""EV"#)
            b.raw(regionCode(voucher.region))
            b.raw("A")
            EventBuffer.appendDigits(voucher.serial, count: 11, to: &b.bytes)
            b.raw(#"""#)
            b.key("activatedAt")
            b.dateTime(day, second: voucher.second)
            b.raw("}}")
            return WrittenEvent(kind: .voucherActivated, key: id0, subject: id0)
        case .careFiled(let f), .careCancelled(let f):
            let filing = medical.filings[f]
            let cancelled: Bool
            if case .careCancelled = event.fact { cancelled = true } else { cancelled = false }
            let kind: EventKind = cancelled ? .careCancelled : .careFiled
            let id0 = people[filing.person].id
            begin(kind, region: filing.from, subject: id0, day: day, id: id, into: &b)
            b.field("filingId", filingID(f), first: true)
            b.field("personId", id0)
            if cancelled {
                b.field("cancelledDate", date: filing.cancelled ?? day)
            } else {
                b.field("fromRegion", regionCode(filing.from))
                b.field("toRegion", regionCode(filing.to))
                b.field("category", filing.category)
                b.field("validFrom", date: filing.validFrom)
                if let validTo = filing.validTo { b.field("validTo", date: validTo) }
            }
            b.raw("}}")
            return WrittenEvent(kind: kind, key: id0, subject: id0)
        case .titleRegistered(let o), .titleTransferred(let o):
            let ownership = property.ownerships[o]
            let title = property.titles[ownership.title]
            let kind: EventKind = ownership.transferKind == nil ? .titleRegistered : .titleTransferred
            let subject = people[ownership.owners[0].person].id
            begin(kind, region: title.region, subject: subject, day: day, id: id, into: &b)
            b.field("titleNumber", title.number, first: true)
            b.field("certificateNumber", ownership.certificate)
            if let transfer = ownership.transferKind {
                b.field("coOwnership", ownership.coOwnership)
                owners("newOwners", ownership, into: &b)
                b.field("transferDate", date: day)
                b.field("kind", transfer.text)
            } else {
                b.field("propertyRegion", regionCode(title.region))
                b.field("address", title.address)
                b.field("areaSquareMeters", cents: title.area)
                b.field("use", title.use)
                b.field("coOwnership", ownership.coOwnership)
                owners("owners", ownership, into: &b)
                b.field("registrationDate", date: day)
            }
            b.raw("}}")
            return WrittenEvent(kind: kind, key: title.number, subject: subject)
        case .mortgageRegistered(let e), .mortgageReleased(let e), .seizureRegistered(let e), .seizureLifted(let e):
            let encumbrance = property.encumbrances[e]
            let title = property.titles[encumbrance.title]
            let kind: EventKind
            switch event.fact {
            case .mortgageRegistered: kind = .mortgageRegistered
            case .mortgageReleased: kind = .mortgageReleased
            case .seizureRegistered: kind = .seizureRegistered
            default: kind = .seizureLifted
            }
            let ending = kind == .mortgageReleased || kind == .seizureLifted
            let ownerList = ending ? encumbrance.endOwners : encumbrance.owners
            let subject = people[ownerList[0]].id
            begin(kind, region: title.region, subject: subject, day: day, id: id, into: &b)
            b.field(
                encumbrance.isMortgage ? "mortgageRecordNumber" : "seizureRecordNumber", encumbrance.number, first: true
            )
            b.field("titleNumber", title.number)
            ids("ownerIds", ownerList, into: &b)
            switch kind {
            case .mortgageRegistered:
                b.key("creditor")
                b.raw("{")
                b.field("name", encumbrance.creditor, first: true)
                b.field("creditCode", encumbrance.creditCode)
                b.raw("}")
                b.field("amount", cents: encumbrance.amount)
                b.field("registrationDate", date: day)
            case .mortgageReleased: b.field("releaseDate", date: day)
            case .seizureRegistered:
                b.field("court", encumbrance.creditor)
                b.field("caseNumber", encumbrance.caseNumber)
                b.field("registrationDate", date: day)
                if let validTo = encumbrance.validTo { b.field("validTo", date: validTo) }
            default: b.field("liftedDate", date: day)
            }
            b.raw("}}")
            return WrittenEvent(kind: kind, key: title.number, subject: subject)
        }
    }
}

extension PopulationModel {
    /// The type of a planned event, without writing it.
    func kind(of event: PlannedEvent) -> EventKind {
        switch event.fact {
        case .personRegistered: .personRegistered
        case .birthRegistered: .birthRegistered
        case .householdEstablished: .householdEstablished
        case .movedIn: .memberMovedIn
        case .movedOut: .memberMovedOut
        case .nameChanged(let p, let c): people[p].nameChanges[c].asVersion1 ? .nameChangedV1 : .nameChangedV2
        case .deathRegistered: .deathRegistered
        case .marriageRegistered: .marriageRegistered
        case .divorceRegistered: .divorceRegistered
        case .adoptionRegistered: .adoptionRegistered
        case .adoptionDissolved: .adoptionDissolved
        case .insuranceEnrolled: .insuranceEnrolled
        case .contributionPosted: .contributionPosted
        case .contributionReversed: .contributionReversed
        case .enrollmentEnded: .enrollmentEnded
        case .medicalEnrolled: .medicalEnrolled
        case .voucherActivated: .voucherActivated
        case .careFiled: .careFiled
        case .careCancelled: .careCancelled
        case .titleRegistered: .titleRegistered
        case .titleTransferred: .titleTransferred
        case .mortgageRegistered: .mortgageRegistered
        case .mortgageReleased: .mortgageReleased
        case .seizureRegistered: .seizureRegistered
        case .seizureLifted: .seizureLifted
        }
    }
}
