/// Titles bought by couples (joint, in shares or sole) and by single people, with their later
/// lives: mortgages and releases, sales, gifts, divisions at divorce, inheritance, seizures.
extension PopulationModel {
    mutating func planProperty(rng: inout Xoshiro256StarStar) {
        var children = [[Int]](repeating: [], count: people.count)
        for (index, person) in people.enumerated() {
            for parent in Set([person.mother, person.father].compactMap { $0 }) { children[parent].append(index) }
        }
        for adoption in adoptions { for parent in adoption.parents { children[parent].append(adoption.child) } }
        let earliest = CivilDay(year: 1998, month: 1, day: 1)
        for marriage in marriages.indices {
            let m = marriages[marriage]
            let end = min(
                [m.divorce, people[m.a].death, people[m.b].death].compactMap { $0 }.min() ?? asOf + 1, asOf + 1)
            let day = max(m.day, earliest) + rng.int(0...(8 * 365))
            guard day < end, rng.chance(0.45) else { continue }
            let owners: [(Int, Fraction)]
            let form: StaticString
            switch rng.int(0...19) {
            case 0..<10: (owners, form) = ([(m.a, Fraction(1, 2)), (m.b, Fraction(1, 2))], "joint")
            case 10..<17:
                let shares = rng.pick([(1, 2), (1, 3), (2, 5), (3, 10)]) ?? (1, 2)
                let first = Fraction(shares.0, shares.1)
                owners = [(m.a, first), (m.b, Fraction(shares.1 - shares.0, shares.1))]
                form = "in-shares"
            default: (owners, form) = ([(rng.chance(0.5) ? m.a : m.b, .one)], "sole")
            }
            let region = membership(of: m.a, at: day).map { households[$0.household].region } ?? people[m.a].region
            planTitle(owners: owners, form: form, day: day, region: region, children: children, rng: &rng)
        }
        for person in people.indices where people[person].marriages.isEmpty && rng.chance(0.08) {
            let p = people[person]
            let day = max(p.birth.adding(years: 25), p.registered + 1, earliest) + rng.int(0...(5 * 365))
            guard day < min(p.end(asOf: asOf), asOf + 1) else { continue }
            let region = membership(of: person, at: day).map { households[$0.household].region } ?? p.region
            planTitle(owners: [(person, .one)], form: "sole", day: day, region: region, children: children, rng: &rng)
        }
    }

    private func earliestDeath(_ owners: [(person: Int, share: Fraction)]) -> CivilDay? {
        owners.compactMap { people[$0.person].death }.min()
    }

    private mutating func certificateNumber(region: Int, day: CivilDay, kind: String) -> String {
        let r = Region.all[region]
        let year = day.components.year
        let serial = String(10_000_000 + nextSerial("\(kind)\(r.code)\(year)")).dropFirst()
        return "\(r.abbreviation)(\(year))\(r.district)\(kind)第\(serial)号"
    }

    private mutating func planTitle(
        owners initial: [(Int, Fraction)], form: StaticString, day start: CivilDay, region: Int, children: [[Int]],
        rng: inout Xoshiro256StarStar
    ) {
        let r = Region.all[region]
        let serial = property.titles.count + 1
        var number = Array(r.code.utf8)
        EventBuffer.appendDigits(rng.int(1...20) * 1000 + rng.int(1...20), count: 6, to: &number)
        number += Array("GB".utf8)
        EventBuffer.appendDigits(serial % 100_000, count: 5, to: &number)
        number.append(UInt8(ascii: "F"))
        EventBuffer.appendDigits(serial / 100_000 * 10_000 + rng.int(1...9999), count: 8, to: &number)
        let parking = rng.chance(0.05)
        let use: StaticString = parking ? "parking" : rng.chance(0.95) ? "residential" : "commercial"
        let area = parking ? rng.int(1200...2500) : rng.int(4500...18_000)
        let address =
            "\(r.name)\(rng.pick(r.streets) ?? "中山路")\(rng.int(1...300))号院\(rng.int(1...30))号楼\(rng.int(1...6))单元\(rng.int(1...33))0\(rng.int(1...4))室"
        property.titles.append(
            PropertyRecords.Title(
                number: String(decoding: number, as: UTF8.self), region: region, address: address,
                area: area * 100 + rng.int(0...99),
                use: use))
        let title = property.titles.count - 1
        var owners: [(person: Int, share: Fraction)] = initial.map { (person: $0.0, share: $0.1) }
        var day = start
        var kind: PropertyRecords.TransferKind? = nil
        var coOwnership = form
        var openMortgage: (index: Int, release: CivilDay)?
        for _ in 0..<6 {
            property.ownerships.append(
                PropertyRecords.Ownership(
                    title: title, day: day, owners: owners, coOwnership: coOwnership,
                    certificate: certificateNumber(region: region, day: day, kind: "不动产权"), transferKind: kind))
            plan(
                kind == nil
                    ? .titleRegistered(property.ownerships.count - 1)
                    : .titleTransferred(property.ownerships.count - 1), on: day)
            if openMortgage == nil, rng.chance(kind == nil ? 0.65 : kind == .sale ? 0.5 : 0) {
                let bank = Region.banks[rng.int(0...Region.banks.count - 1)]
                property.encumbrances.append(
                    PropertyRecords.Encumbrance(
                        title: title, isMortgage: true,
                        number: certificateNumber(region: region, day: day, kind: "不动产证明"),
                        owners: owners.map(\.person), day: day,
                        creditor: bank + String(r.district.dropLast()) + "支行",
                        creditCode: GeneratedCreditCode.make(region: r.code, &rng),
                        amount: area * rng.int(8_000...40_000))
                )
                openMortgage = (property.encumbrances.count - 1, day + rng.int(3 * 365...20 * 365))
                plan(.mortgageRegistered(property.encumbrances.count - 1), on: day)
            }
            // The next change of owners, whichever comes first.
            var candidates: [(CivilDay, PropertyRecords.TransferKind)] = []
            if let death = earliestDeath(owners) { candidates.append((death + rng.int(60...500), .inheritance)) }
            if owners.count == 2,
                let marriage = people[owners[0].person].marriages.first(where: {
                    let m = marriages[$0]
                    return (m.a == owners[1].person || m.b == owners[1].person)
                        && (m.divorce.map { $0 >= day } ?? false)
                }), let divorce = marriages[marriage].divorce
            {
                candidates.append((divorce + rng.int(10...120), .divorceDivision))
            }
            if rng.chance(0.12) { candidates.append((day + rng.int(365...(15 * 365)), .sale)) }
            if owners.count == 1, rng.chance(0.04) { candidates.append((day + rng.int(365...(10 * 365)), .gift)) }
            let next = candidates.filter { $0.0 <= asOf }.min { $0.0 < $1.0 }
            let deathLimit = earliestDeath(owners)
            if let mortgage = openMortgage {
                let limit = [next.map { $0.0 - 1 }, deathLimit.map { $0 - 1 }].compactMap { $0 }.min()
                let release = max(
                    min(mortgage.release, limit ?? mortgage.release), property.encumbrances[mortgage.index].day)
                if release <= asOf {
                    property.encumbrances[mortgage.index].end = release
                    property.encumbrances[mortgage.index].endOwners = owners.map(\.person)
                    plan(.mortgageReleased(mortgage.index), on: release)
                    openMortgage = nil
                }
            }
            guard let (changeDay, changeKind) = next,
                let newOwners = newOwners(after: changeKind, on: changeDay, from: owners, children: children, rng: &rng)
            else {
                planSeizure(title: title, after: day, owners: owners, region: region, rng: &rng)
                return
            }
            owners = newOwners
            coOwnership = owners.count == 1 ? "sole" : "in-shares"
            day = changeDay
            kind = changeKind
        }
    }

    /// The owners after a transfer, or `nil` when no transfer can be registered.
    private func newOwners(
        after kind: PropertyRecords.TransferKind, on day: CivilDay, from owners: [(person: Int, share: Fraction)],
        children: [[Int]],
        rng: inout Xoshiro256StarStar
    ) -> [(person: Int, share: Fraction)]? {
        let alive = { (person: Int) in self.people[person].isAlive(at: day) && self.people[person].registered < day }
        switch kind {
        case .sale:
            guard owners.allSatisfy({ alive($0.person) }) else { return nil }
            for _ in 0..<20 {
                let buyer = rng.int(0...people.count - 1)
                if alive(buyer), people[buyer].age(at: day) >= 22, !owners.contains(where: { $0.person == buyer }) {
                    return [(buyer, .one)]
                }
            }
            return nil
        case .gift:
            guard let owner = owners.first, alive(owner.person),
                let child = children[owner.person].first(where: { alive($0) && people[$0].age(at: day) >= 18 })
            else { return nil }
            return [(child, .one)]
        case .divorceDivision:
            guard owners.allSatisfy({ alive($0.person) }) else { return nil }
            return [(owners[rng.int(0...1)].person, .one)]
        case .inheritance:  // inheritance: each dead owner's share goes in equal parts to the living heirs
            var result = owners.filter { alive($0.person) }
            for dead in owners where !alive(dead.person) {
                let death = people[dead.person].death ?? day
                var heirs = children[dead.person].filter(alive)
                if let spouse = spouse(of: dead.person, at: death - 1), alive(spouse) { heirs.append(spouse) }
                if heirs.isEmpty {
                    heirs = [people[dead.person].mother, people[dead.person].father].compactMap { $0 }.filter(alive)
                }
                if heirs.isEmpty { heirs = result.map(\.person) }
                guard !heirs.isEmpty else { return nil }
                for heir in heirs {
                    if let index = result.firstIndex(where: { $0.person == heir }) {
                        result[index].share = result[index].share + dead.share / heirs.count
                    } else {
                        result.append((heir, dead.share / heirs.count))
                    }
                }
            }
            return result.isEmpty ? nil : result
        }
    }

    /// Sometimes a court seizes the title after its last change, while its owners live.
    private mutating func planSeizure(
        title: Int, after day: CivilDay, owners: [(person: Int, share: Fraction)], region: Int,
        rng: inout Xoshiro256StarStar
    ) {
        guard rng.chance(0.04) else { return }
        let limit = min(earliestDeath(owners) ?? asOf + 1, asOf + 1)
        let seized = day + rng.int(30...(6 * 365))
        guard seized < limit, owners.allSatisfy({ people[$0.person].isAlive(at: seized) }) else { return }
        let r = Region.all[region]
        let year = seized.components.year
        var seizure = PropertyRecords.Encumbrance(
            title: title, isMortgage: false,
            number: "CF\(r.code)-\(year)-" + String(1_000_000 + nextSerial("CF\(r.code)\(year)")).dropFirst(),
            owners: owners.map(\.person), day: seized)
        seizure.creditor = r.court
        seizure.caseNumber = "(\(year))\(r.abbreviation)\(r.code.dropFirst(2))执\(rng.int(100...9999))号"
        seizure.validTo = seized.adding(years: 3) - 1
        let lifted = seized + rng.int(30...900)
        if rng.chance(0.5) || limit <= asOf, lifted < limit {
            seizure.end = lifted
            seizure.endOwners = seizure.owners
        }
        property.encumbrances.append(seizure)
        plan(.seizureRegistered(property.encumbrances.count - 1), on: seized)
        if let lifted = seizure.end { plan(.seizureLifted(property.encumbrances.count - 1), on: lifted) }
    }
}
