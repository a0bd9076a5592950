/// The expected answers, computed from the model.
extension PopulationModel {
    func expectedAnswers(seed: UInt64, sampleSize: Int, conflicts: [Int: [ExpectedAnswers.NameConflict]])
        -> ExpectedAnswers
    {
        let checkDays = [asOf, asOf.adding(years: -1), asOf.adding(years: -5), asOf.adding(years: -20)]
        var children = [[Int]](repeating: [], count: people.count)
        for (index, person) in people.enumerated() {
            for parent in Set([person.mother, person.father].compactMap { $0 }) { children[parent].append(index) }
        }
        var holdings = [[Int]](repeating: [], count: people.count)  // ownership indices per person
        for (index, ownership) in property.ownerships.enumerated() {
            for owner in ownership.owners { holdings[owner.person].append(index) }
        }
        var postings = [[Int]](repeating: [], count: people.count)
        for (index, posting) in insurance.postings.enumerated() { postings[posting.person].append(index) }
        var filings = [[Int]](repeating: [], count: people.count)
        for (index, filing) in medical.filings.enumerated() { filings[filing.person].append(index) }
        var medicalOf = [Int?](repeating: nil, count: people.count)
        for (index, enrollment) in medical.enrollments.enumerated() { medicalOf[enrollment.person] = index }
        var encumbrancesOf = [[Int]](repeating: [], count: property.titles.count)
        for (index, e) in property.encumbrances.enumerated() { encumbrancesOf[e.title].append(index) }
        var ownershipsOf = [[Int]](repeating: [], count: property.titles.count)
        for (index, o) in property.ownerships.enumerated() { ownershipsOf[o.title].append(index) }

        // The sample: people spread evenly, plus some with rarer histories.
        var chosen = Set(stride(from: 0, to: people.count, by: max(1, people.count / max(1, sampleSize / 2))))
        let quota = max(1, sampleSize / 12)
        func add(_ candidates: some Sequence<Int>) {
            var added = 0
            for c in candidates where added < quota && chosen.insert(c).inserted { added += 1 }
        }
        add(adoptions.map(\.child))
        add(adoptions.filter { $0.dissolved != nil }.map(\.child))
        add(marriages.filter { $0.divorce != nil }.map(\.a))
        add(people.indices.filter { people[$0].marriages.count > 1 })
        add(people.indices.filter { !people[$0].nameChanges.isEmpty })
        add(people.indices.filter { people[$0].father == nil && people[$0].mother != nil })
        add(property.encumbrances.flatMap(\.owners))
        add(property.ownerships.filter { $0.transferKind != nil }.flatMap { $0.owners.map(\.person) })
        add(insurance.postings.filter { $0.reversal != nil }.map(\.person))
        add(medical.filings.map(\.person))
        add(conflicts.keys.sorted())
        add(people.indices.filter { people[$0].death != nil })

        func titleAt(_ o: Int, _ day: CivilDay) -> Bool {
            let ownership = property.ownerships[o]
            guard ownership.day <= day else { return false }
            let list = ownershipsOf[ownership.title]
            guard let position = list.firstIndex(of: o), position + 1 < list.count else { return true }
            return day < property.ownerships[list[position + 1]].day
        }

        var sample: [ExpectedAnswers.Person] = []
        for index in chosen.sorted() {
            let p = people[index]
            let identity = ExpectedAnswers.Identity(
                name: p.name(at: asOf), formerNames: p.nameChanges.map(\.previous), sex: p.male ? "male" : "female",
                birthDate: p.birth.text, deceased: p.death != nil, dateOfDeath: p.death?.text,
                nameConflicts: conflicts[index] ?? [])
            let marriageList = p.marriages.map { m -> ExpectedAnswers.Marriage in
                let marriage = marriages[m]
                let death = [people[marriage.a].death, people[marriage.b].death].compactMap { $0 }.min()
                let until = [marriage.divorce, death].compactMap { $0 }.min()
                return ExpectedAnswers.Marriage(
                    marriageRecordNumber: marriage.number,
                    spouseId: people[marriage.a == index ? marriage.b : marriage.a].id,
                    from: marriage.day.text, until: until?.text,
                    endedBy: until == nil ? nil : until == marriage.divorce ? "divorce" : "death")
            }
            let parents = [p.mother, p.father].compactMap { $0 }
            let siblings = Set(parents.flatMap { children[$0] }).subtracting([index])
            let grandparents = Set(parents.flatMap { [people[$0].mother, people[$0].father].compactMap { $0 } })
            let kinship = ExpectedAnswers.Kinship(
                motherId: p.mother.map { people[$0].id }, fatherId: p.father.map { people[$0].id },
                adoptions: p.adoptions.map {
                    let a = adoptions[$0]
                    return ExpectedAnswers.Adoption(
                        adoptionRecordNumber: a.number, parentIds: a.parents.map { people[$0].id },
                        birthParentIds: a.birthParents.map { people[$0].id }, from: a.day.text, until: a.dissolved?.text
                    )
                },
                marriages: marriageList,
                spouseOnCheckDates: checkDays.map { day in spouse(of: index, at: day).map { people[$0].id } },
                siblingIds: siblings.map { people[$0].id }.sorted(),
                grandparentIds: grandparents.map { people[$0].id }.sorted())

            var contributions: [ExpectedAnswers.Contributions] = []
            for line in InsuranceRecords.Line.allCases {
                var net: [Int: Int] = [:]
                for q in postings[index] where insurance.postings[q].line == line {
                    net[insurance.postings[q].month, default: 0] += insurance.postings[q].reversal == nil ? 1 : 0
                }
                let paid = net.filter { $0.value > 0 }.keys.sorted()
                guard let first = paid.first, let last = paid.last else { continue }
                let unpaid = (first...last).filter { (net[$0] ?? 0) <= 0 }
                contributions.append(
                    ExpectedAnswers.Contributions(
                        insuranceType: "\(line.text)", monthsPaid: paid.count, firstMonth: CivilDay.monthText(first),
                        lastMonth: CivilDay.monthText(last), unpaidMonths: unpaid.map(CivilDay.monthText),
                        continuous: unpaid.isEmpty))
            }

            let asOfAnswers = checkDays.map { day -> ExpectedAnswers.AsOf in
                let alive = p.isAlive(at: day) && p.registered <= day
                let titles = holdings[index].filter { titleAt($0, day) }.map { o -> ExpectedAnswers.Title in
                    let ownership = property.ownerships[o]
                    let share = ownership.owners.first { $0.person == index }?.share ?? .one
                    return ExpectedAnswers.Title(
                        titleNumber: property.titles[ownership.title].number, share: share.description,
                        coOwnership: "\(ownership.coOwnership)")
                }.sorted { $0.titleNumber < $1.titleNumber }
                let encumbrances = holdings[index].filter { titleAt($0, day) }.flatMap { o in
                    encumbrancesOf[property.ownerships[o].title].compactMap { e -> ExpectedAnswers.Encumbrance? in
                        let enc = property.encumbrances[e]
                        guard enc.day <= day, enc.end.map({ day < $0 }) ?? true, enc.validTo.map({ day <= $0 }) ?? true
                        else {
                            return nil
                        }
                        return ExpectedAnswers.Encumbrance(
                            titleNumber: property.titles[enc.title].number,
                            kind: enc.isMortgage ? "mortgage" : "seizure",
                            recordNumber: enc.number)
                    }
                }.sorted { ($0.titleNumber, $0.recordNumber) < ($1.titleNumber, $1.recordNumber) }
                let scheme = medicalOf[index].flatMap { e -> String? in
                    let enrollment = medical.enrollments[e]
                    return enrollment.start <= day ? (enrollment.employer == nil ? "resident" : "employee") : nil
                }
                let activeFilings = filings[index].filter { f in
                    let filing = medical.filings[f]
                    return filing.validFrom <= day && (filing.validTo.map { day <= $0 } ?? true)
                        && (filing.cancelled.map { day < $0 } ?? true)
                }.map(filingID).sorted()
                return ExpectedAnswers.AsOf(
                    date: day.text, alive: alive,
                    householdId: alive ? membership(of: index, at: day).map { households[$0.household].id } : nil,
                    titles: titles, encumbrances: encumbrances, medicalScheme: scheme, activeFilingIds: activeFilings)
            }
            sample.append(
                ExpectedAnswers.Person(
                    id: p.id, identity: identity, kinship: kinship, contributions: contributions, asOf: asOfAnswers))
        }
        sample.sort { $0.id < $1.id }
        return ExpectedAnswers(
            seed: seed, people: people.count, asOf: asOf.text, checkDates: checkDays.map(\.text),
            contributionsFrom: CivilDay.monthText(insurance.windowStart),
            contributionsTo: CivilDay.monthText(insurance.windowEnd),
            sample: sample)
    }
}
