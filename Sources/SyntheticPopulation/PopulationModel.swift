/// The generator's own model of the population: people, households, marriages, adoptions,
/// insurance records and titles, with every date. Events are planned from it, and the expected
/// answers are computed from it (never by reading the events back).
struct PopulationModel {
    struct NameChange {
        var day: CivilDay
        var previous: String
        var new: String
        var reason: StaticString
        /// Published as the superseded `household.name-changed.v1` (no reason code).
        var asVersion1: Bool
    }

    struct Membership {
        var household: Int
        var from: CivilDay
        var relation: Relation
    }

    struct Person {
        var id: String
        var male: Bool
        var birth: CivilDay
        /// Only when it is on or before the "as of" date.
        var death: CivilDay?
        var birthName: String
        var nameChanges: [NameChange] = []
        var region: Int
        var mother: Int?
        var father: Int?
        /// Birth date, or the date of person-registered.
        var registered: CivilDay
        var memberships: [Membership] = []
        var marriages: [Int] = []
        var adoptions: [Int] = []
        var minority: Bool

        func name(at day: CivilDay) -> String {
            nameChanges.last { $0.day <= day }?.new ?? birthName
        }

        func isAlive(at day: CivilDay) -> Bool { day >= birth && (death.map { day < $0 } ?? true) }

        /// The day after the last day this person can take part in anything.
        func end(asOf: CivilDay) -> CivilDay { death ?? asOf + 1 }

        func age(at day: CivilDay) -> Int {
            let b = birth.components, d = day.components
            return d.year - b.year - ((d.month, d.day) < (b.month, b.day) ? 1 : 0)
        }
    }

    struct Household {
        var id: String
        var region: Int
        var head: Int
        var established: CivilDay
        var address: String
    }

    struct Marriage {
        var number: String
        /// spouseA and spouseB as on the certificate.
        var a: Int
        var b: Int
        var day: CivilDay
        var region: Int
        var divorce: CivilDay?
        var divorceByCourt = false
    }

    struct Adoption {
        var number: String
        var child: Int
        var parents: [Int]
        var birthParents: [Int]
        var day: CivilDay
        var region: Int
        var dissolved: CivilDay?
        var dissolvedByCourt = false
    }

    var asOf: CivilDay
    var people: [Person] = []
    var households: [Household] = []
    var marriages: [Marriage] = []
    var adoptions: [Adoption] = []
    var insurance = InsuranceRecords()
    var medical = MedicalRecords()
    var property = PropertyRecords()
    /// Every event, in the order planned; published in order of ``PlannedEvent/publishDay``.
    var events: [PlannedEvent] = []
    var usedIDs: Set<String> = []
    var serials: [String: Int] = [:]

    init(asOf: CivilDay) { self.asOf = asOf }

    mutating func plan(_ event: PlannedEvent.Fact, on day: CivilDay) {
        events.append(PlannedEvent(fact: event, day: day))
    }

    /// The next serial number for a counter (per region and year, per kind of record).
    mutating func nextSerial(_ counter: String) -> Int {
        let next = (serials[counter] ?? 0) + 1
        serials[counter] = next
        return next
    }

    func membership(of person: Int, at day: CivilDay) -> Membership? {
        people[person].memberships.last { $0.from <= day }
    }

    func spouse(of person: Int, at day: CivilDay) -> Int? {
        for index in people[person].marriages.reversed() {
            let m = marriages[index]
            let other = m.a == person ? m.b : m.a
            let end = [m.divorce, people[m.a].death, people[m.b].death].compactMap { $0 }.min()
            if m.day <= day && end.map({ day < $0 }) ?? true { return other }
        }
        return nil
    }
}

/// Relationship to the head of household, as the register records it.
enum Relation: UInt8, Sendable {
    case head, spouse, child, parent, grandchild, sibling, other

    var text: StaticString {
        switch self {
        case .head: "head"
        case .spouse: "spouse"
        case .child: "child"
        case .parent: "parent"
        case .grandchild: "grandchild"
        case .sibling: "sibling"
        case .other: "other"
        }
    }
}
