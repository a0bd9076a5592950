/// Families over three or more generations: founders who moved in, their spouses (some with
/// parents of their own in the system), children, marriages, divorces, remarriages, adoptions,
/// single mothers, name changes, household moves and deaths.
extension PopulationModel {
    static let earliestBirth = CivilDay(year: 1932, month: 1, day: 1)

    /// Plans families until there are at least `count` people.
    mutating func planFamilies(count: Int, rng: inout Xoshiro256StarStar) {
        while people.count < count {
            let region = rng.chance(0.1) ? Region.minorityRegion : rng.int(0...Region.all.count - 2)
            let birth = CivilDay(year: 1935, month: 1, day: 1) + rng.int(0...(27 * 365))
            let registered = birth.adding(years: 18) + rng.int(0...(7 * 365))
            let founder = registerNewcomer(
                male: rng.chance(0.5), birth: birth, day: registered, region: region, rng: &rng)
            planAdulthood(founder, generation: 0, rng: &rng)
        }
    }

    // MARK: People

    /// Creates a person (not yet registered anywhere) with a unique ID, a name, a lifespan and
    /// perhaps a later name change.
    mutating func makePerson(
        male: Bool, birth: CivilDay, region: Int, registered: CivilDay, surname: String? = nil,
        mother: Int? = nil, father: Int? = nil, mustLiveUntil: CivilDay? = nil, rng: inout Xoshiro256StarStar
    ) -> Int {
        var id = ""
        repeat {
            id = GeneratedCitizenID.make(
                region: Region.all[region].code, birth: birth, sequence: rng.int(0...499) * 2 + (male ? 1 : 0))
        } while !usedIDs.insert(id).inserted
        let minority = region == Region.minorityRegion && rng.chance(0.6)
        let name =
            minority
            ? ChineseNames.uyghur(&rng, male: male)
            : (surname ?? ChineseNames.surname(&rng)) + ChineseNames.given(&rng, male: male)
        let lifespan =
            rng.chance(0.015)
            ? Double(rng.int(1...45)) : rng.normal(mean: male ? 77 : 81, deviation: 9, in: 45...101)
        var death = birth + Int(lifespan * 365.25)
        if let floor = mustLiveUntil, death <= floor { death = floor + rng.int(365...(30 * 365)) }
        var person = Person(
            id: id, male: male, birth: birth, death: death <= asOf ? death : nil, birthName: name, region: region,
            mother: mother, father: father, registered: registered, minority: minority)
        let earliest = max(registered + 1, birth.adding(years: 18))
        let latest = min(person.end(asOf: asOf) - 1, asOf)
        if earliest < latest, rng.chance(0.03) {
            let day = earliest + rng.int(0...(latest - earliest))
            let new: String
            let reason: StaticString
            if minority {
                new = ChineseNames.uyghur(&rng, male: male)
                reason = "correction"
            } else if rng.chance(0.3) {
                new = ChineseNames.misspelled(name)
                reason = "correction"
            } else {
                new = ChineseNames.surname(of: name) + ChineseNames.given(&rng, male: male)
                reason = rng.chance(0.8) ? "personal-choice" : "other"
            }
            if new != name {
                person.nameChanges.append(
                    NameChange(day: day, previous: name, new: new, reason: reason, asVersion1: rng.chance(0.25)))
            }
        }
        people.append(person)
        let index = people.count - 1
        for change in person.nameChanges.indices {
            plan(.nameChanged(person: index, change: change), on: person.nameChanges[change].day)
        }
        if let death = person.death { plan(.deathRegistered(index), on: death) }
        return index
    }

    /// A person who moves into the system from elsewhere: a household of their own and person-registered.
    mutating func registerNewcomer(
        male: Bool, birth: CivilDay, day: CivilDay, region: Int, mustLiveUntil: CivilDay? = nil,
        rng: inout Xoshiro256StarStar
    ) -> Int {
        let idRegion = rng.chance(0.6) ? region : rng.int(0...Region.all.count - 1)
        let person = makePerson(
            male: male, birth: birth, region: idRegion, registered: day, mustLiveUntil: max(day, mustLiveUntil ?? day),
            rng: &rng)
        let household = establishHousehold(head: person, day: day, region: region, rng: &rng)
        var previous = rng.int(0...Region.all.count - 2)
        if previous >= region { previous += 1 }
        people[person].memberships.append(Membership(household: household, from: day, relation: .head))
        plan(
            .personRegistered(person: person, household: household, relation: .head, previousRegion: previous), on: day)
        return person
    }

    mutating func establishHousehold(head: Int, day: CivilDay, region: Int, rng: inout Xoshiro256StarStar) -> Int {
        let r = Region.all[region]
        let serial = nextSerial("H" + r.code)
        var id: [UInt8] = Array(r.code.utf8)
        EventBuffer.appendDigits(100_000 + serial, count: 9, to: &id)
        let street = rng.pick(r.streets) ?? "中山路"
        let address =
            "\(r.name)\(street)\(rng.int(1...300))号院\(rng.int(1...20))号楼\(rng.int(1...6))单元\(rng.int(1...30))0\(rng.int(1...4))室"
        households.append(
            Household(
                id: String(decoding: id, as: UTF8.self), region: region, head: head, established: day, address: address)
        )
        plan(.householdEstablished(households.count - 1), on: day)
        return households.count - 1
    }

    /// Moves a person into a household (out of the current one first), unless already there.
    mutating func move(_ person: Int, to household: Int, as relation: Relation, on day: CivilDay) {
        if let current = membership(of: person, at: day) {
            guard current.household != household else { return }
            plan(.movedOut(person: person, household: current.household, relation: current.relation), on: day)
        }
        people[person].memberships.append(Membership(household: household, from: day, relation: relation))
        plan(.movedIn(person: person, household: household, relation: relation), on: day)
    }

    /// The relationship of a newborn to the head of the household it is registered into.
    func relationOfChild(mother: Int, father: Int?, to household: Int) -> Relation {
        let head = households[household].head
        if head == mother || head == father { return .child }
        let grandparents =
            [people[mother].mother, people[mother].father]
            + (father.map { [people[$0].mother, people[$0].father] } ?? [])
        return grandparents.contains(head) ? .grandchild : .other
    }

    mutating func registerBirth(
        mother: Int, father: Int?, day: CivilDay, male: Bool? = nil, rng: inout Xoshiro256StarStar
    ) -> Int? {
        guard let home = membership(of: mother, at: day) else { return nil }
        let region = households[home.household].region
        let parent = people[father ?? mother]
        let surname = parent.minority ? nil : ChineseNames.surname(of: parent.birthName)
        let child = makePerson(
            male: male ?? rng.chance(0.51), birth: day, region: region, registered: day, surname: surname,
            mother: mother,
            father: father, rng: &rng)
        let relation = relationOfChild(mother: mother, father: father, to: home.household)
        people[child].memberships.append(Membership(household: home.household, from: day, relation: relation))
        plan(.birthRegistered(child: child, household: home.household, relation: relation), on: day)
        return child
    }

    // MARK: Marriages

    mutating func marry(_ p: Int, _ q: Int, on day: CivilDay, rng: inout Xoshiro256StarStar) -> Int {
        let (man, woman) = people[p].male ? (p, q) : (q, p)
        let region = membership(of: man, at: day).map { households[$0.household].region } ?? people[man].region
        let year = day.components.year
        let code = Region.all[region].code
        let number = "J\(code)-\(year)-" + String(1_000_000 + nextSerial("J\(code)\(year)")).dropFirst()
        let (a, b) = rng.chance(0.7) ? (man, woman) : (woman, man)
        marriages.append(Marriage(number: number, a: a, b: b, day: day, region: region))
        let marriage = marriages.count - 1
        people[man].marriages.append(marriage)
        people[woman].marriages.append(marriage)
        plan(.marriageRegistered(marriage), on: day)
        var home = membership(of: man, at: day)?.household ?? 0
        if households[home].head != man {
            home = establishHousehold(head: man, day: day, region: region, rng: &rng)
            move(man, to: home, as: .head, on: day)
        }
        move(woman, to: home, as: .spouse, on: day)
        return marriage
    }

    mutating func divorce(_ marriage: Int, on day: CivilDay, rng: inout Xoshiro256StarStar) {
        marriages[marriage].divorce = day
        marriages[marriage].divorceByCourt = rng.chance(0.3)
        plan(.divorceRegistered(marriage), on: day)
        let m = marriages[marriage]
        let woman = people[m.a].male ? m.b : m.a
        let region = membership(of: woman, at: day).map { households[$0.household].region } ?? people[woman].region
        let home = establishHousehold(head: woman, day: day, region: region, rng: &rng)
        move(woman, to: home, as: .head, on: day)
    }

    /// A spouse for `person`, married on `day`: a newcomer, or someone born in the system to a
    /// couple of newcomers (so that the couple's children have grandparents on both sides).
    mutating func makeSpouse(for person: Int, on day: CivilDay, rng: inout Xoshiro256StarStar) -> Int? {
        let male = !people[person].male
        let legalAge = male ? 22 : 20
        let latestBirth = day.adding(years: -legalAge) - 1
        let birth = min(latestBirth, people[person].birth + rng.int(-5 * 365...5 * 365))
        guard birth >= Self.earliestBirth else { return nil }
        let region = membership(of: person, at: day).map { households[$0.household].region } ?? people[person].region
        if birth.components.year >= 1958, rng.chance(0.45) {
            let wedding = birth - rng.int(300...1200)
            let fatherBirth = birth.adding(years: -rng.int(27...36))
            let motherBirth = birth.adding(years: -rng.int(25...34))
            let father = registerNewcomer(
                male: true, birth: fatherBirth, day: max(fatherBirth.adding(years: 18), wedding - rng.int(30...2000)),
                region: region, mustLiveUntil: birth, rng: &rng)
            let mother = registerNewcomer(
                male: false, birth: motherBirth, day: max(motherBirth.adding(years: 18), wedding - rng.int(30...2000)),
                region: region, mustLiveUntil: birth, rng: &rng)
            _ = marry(father, mother, on: wedding, rng: &rng)
            guard let child = registerBirth(mother: mother, father: father, day: birth, male: male, rng: &rng),
                people[child].isAlive(at: day)
            else { return nil }
            return child
        }
        let arrival = max(birth.adding(years: 18), day - rng.int(30...3650))
        return registerNewcomer(male: male, birth: birth, day: arrival, region: region, mustLiveUntil: day, rng: &rng)
    }

    // MARK: Lives

    /// Marriages, children, divorces and remarriages of one person, recursively for the children.
    mutating func planAdulthood(_ person: Int, generation: Int, rng: inout Xoshiro256StarStar) {
        guard generation < 4 else { return }
        let p = people[person]
        let end = min(p.end(asOf: asOf), asOf + 1)
        var day = max(p.birth.adding(years: p.male ? 22 : 20), p.registered + 30) + rng.int(0...(10 * 365))
        var married = false
        for union in 0..<3 {
            guard day < end, rng.chance(union == 0 ? 0.85 : 0.45) else { break }
            guard let spouse = makeSpouse(for: person, on: day, rng: &rng) else { break }
            married = true
            let marriage = marry(person, spouse, on: day, rng: &rng)
            let together = min(end, min(people[spouse].end(asOf: asOf), asOf + 1))
            var divorceDay: CivilDay?
            if rng.chance(0.12), together - day > 800 {
                divorceDay = day + rng.int(365...min(together - day - 1, 20 * 365))
            }
            let unionEnd = divorceDay ?? together
            let woman = p.male ? spouse : person
            let husband = p.male ? person : spouse
            let fertileUntil = min(unionEnd, people[woman].birth.adding(years: 42))
            let cohort = people[woman].birth.components.year
            let weights =
                cohort < 1955 ? [5, 15, 35, 30, 15] : cohort < 1976 ? [10, 50, 35, 5, 0] : [20, 45, 30, 5, 0]
            let wanted = union == 0 ? rng.weighted(weights) : rng.weighted([50, 40, 10, 0, 0])
            var birthDay = day + rng.int(280...1000)
            var born = 0
            while born < wanted, birthDay < fertileUntil {
                if let child = registerBirth(mother: woman, father: husband, day: birthDay, rng: &rng) {
                    born += 1
                    planAdulthood(child, generation: generation + 1, rng: &rng)
                }
                birthDay = birthDay + rng.int(400...2200)
            }
            if born == 0, rng.chance(0.25) {
                adopt(by: marriage, from: day + rng.int(365...3000), until: unionEnd, generation: generation, rng: &rng)
            }
            if let divorceDay {
                divorce(marriage, on: divorceDay, rng: &rng)
                day = divorceDay + rng.int(180...3000)
            } else if together < end {
                day = together + rng.int(365...3000)
            } else {
                break
            }
        }
        if !married, !p.male, rng.chance(0.06) {
            let birthDay = p.birth.adding(years: 22) + rng.int(0...(16 * 365))
            if birthDay < end, let child = registerBirth(mother: person, father: nil, day: birthDay, rng: &rng) {
                planAdulthood(child, generation: generation + 1, rng: &rng)
            }
        }
    }

    /// An adoption by a married couple: a child born to a single mother, or a foundling registered
    /// straight into the adoptive household; sometimes dissolved later.
    mutating func adopt(
        by marriage: Int, from day: CivilDay, until end: CivilDay, generation: Int, rng: inout Xoshiro256StarStar
    ) {
        guard day < end, day <= asOf else { return }
        let m = marriages[marriage]
        let parents = [m.a, m.b]
        guard let home = membership(of: m.a, at: day)?.household else { return }
        let region = households[home].region
        let birth = max(day - rng.int(30...(8 * 365)), day.adding(years: -8))
        var birthParents: [Int] = []
        let child: Int
        if rng.chance(0.6) {
            let mother = registerNewcomer(
                male: false, birth: birth.adding(years: -rng.int(20...30)), day: birth - rng.int(30...600),
                region: region,
                mustLiveUntil: birth, rng: &rng)
            guard let born = registerBirth(mother: mother, father: nil, day: birth, rng: &rng),
                people[born].isAlive(at: day)
            else { return }
            child = born
            birthParents = [mother]
        } else {
            child = makePerson(
                male: rng.chance(0.5), birth: birth, region: region, registered: day, mustLiveUntil: day, rng: &rng)
            var previous = rng.int(0...Region.all.count - 2)
            if previous >= region { previous += 1 }
            people[child].memberships.append(Membership(household: home, from: day, relation: .child))
            plan(.personRegistered(person: child, household: home, relation: .child, previousRegion: previous), on: day)
        }
        let code = Region.all[region].code
        let year = day.components.year
        let number = "S\(code)-\(year)-" + String(1_000_000 + nextSerial("S\(code)\(year)")).dropFirst()
        adoptions.append(
            Adoption(
                number: number, child: child, parents: parents, birthParents: birthParents, day: day, region: region))
        let adoption = adoptions.count - 1
        people[child].adoptions.append(adoption)
        plan(.adoptionRegistered(adoption), on: day)
        move(child, to: home, as: .child, on: day)
        let childEnd = min(people[child].end(asOf: asOf), asOf + 1)
        if rng.chance(0.3) {
            let dissolved = day + rng.int(365...(15 * 365))
            if dissolved < childEnd {
                adoptions[adoption].dissolved = dissolved
                adoptions[adoption].dissolvedByCourt = rng.chance(0.4)
                plan(.adoptionDissolved(adoption), on: dissolved)
            }
        }
        planAdulthood(child, generation: generation + 1, rng: &rng)
    }
}
