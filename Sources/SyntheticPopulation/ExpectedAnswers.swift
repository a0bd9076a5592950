/// Ground truth for tests of the views, computed from the generator's own model of the population
/// (never by reading its events back). Encode it with `JSONEncoder` to write `expected.json`.
///
/// Conventions: dates are `YYYY-MM-DD`, months `YYYY-MM`, people are citizen IDs. "As of date D"
/// means at the end of day D: a fact effective on D holds on D, and a fact that ends on D (a
/// divorce, a transfer, a release, a cancellation from D) no longer holds on D. Only events that
/// must be applied count: invalid anomalies change nothing here.
public struct ExpectedAnswers: Codable, Sendable, Equatable {
    /// The configuration's seed.
    public var seed: UInt64
    /// How many people were generated (registered by birth or by person-registered).
    public var people: Int
    /// The "as of" date: nothing is dated later.
    public var asOf: String
    /// The dates the as-of answers in ``Person/asOf`` are given for: "as of", and one, five and
    /// twenty years before it.
    public var checkDates: [String]
    /// The contribution period of ``Person/contributions``: its first month.
    public var contributionsFrom: String
    /// The contribution period's last month (the last month posted by "as of").
    public var contributionsTo: String
    /// The sampled people, ordered by citizen ID.
    public var sample: [Person]

    /// What the views should say about one person.
    public struct Person: Codable, Sendable, Equatable {
        /// Citizen ID.
        public var id: String
        /// The identity view's row.
        public var identity: Identity
        /// Parentage, marriages and relatives.
        public var kinship: Kinship
        /// One entry per insurance type the person ever had a posting for in the period, in
        /// schema enum order.
        public var contributions: [Contributions]
        /// State at each of ``ExpectedAnswers/checkDates``, in that order.
        public var asOf: [AsOf]
    }

    /// Identity as the household registry records it on the "as of" date.
    public struct Identity: Codable, Sendable, Equatable {
        /// The registered name on the "as of" date (after every name change).
        public var name: String
        /// Earlier registered names, oldest first (each name-changed event's previousName).
        public var formerNames: [String]
        /// `male` or `female`.
        public var sex: String
        /// Date of birth.
        public var birthDate: String
        /// Whether a death was registered.
        public var deceased: Bool
        /// The registered date of death, if deceased.
        public var dateOfDeath: String?
        /// Names other departments asserted that differ from the household register's name at
        /// the time they recorded it (the `name-conflict` anomalies), in stream order. Names recorded
        /// before a registered name change are not conflicts and are not listed.
        public var nameConflicts: [NameConflict]
    }

    /// A name another department recorded differently.
    public struct NameConflict: Codable, Sendable, Equatable {
        /// The department that asserted the name, e.g. `social-insurance`.
        public var department: String
        /// The event type that carried it.
        public var type: String
        /// The name it asserted.
        public var name: String
    }

    /// Kinship: parentage by birth and by adoption, marriages, relatives of the second degree.
    public struct Kinship: Codable, Sendable, Equatable {
        /// The mother by birth (birth-registered motherId), if registered.
        public var motherId: String?
        /// The father by birth (birth-registered fatherId); `nil` when the father is unknown or the
        /// person was not born in the system.
        public var fatherId: String?
        /// Adoptions of this person, in order: adoptive parents and the period the adoption held.
        public var adoptions: [Adoption]
        /// Every marriage of this person, in order of registration.
        public var marriages: [Marriage]
        /// The spouse on each of ``ExpectedAnswers/checkDates`` (`nil`: not married that day).
        public var spouseOnCheckDates: [String?]
        /// People sharing at least one parent by birth (half-siblings included), sorted. Adoption
        /// does not make siblings here.
        public var siblingIds: [String]
        /// The parents by birth of the parents by birth, sorted.
        public var grandparentIds: [String]
    }

    /// One adoption of the person.
    public struct Adoption: Codable, Sendable, Equatable {
        /// The adoption registration number.
        public var adoptionRecordNumber: String
        /// The adoptive parents, as registered.
        public var parentIds: [String]
        /// The birth parents named in the registration (empty for a foundling).
        public var birthParentIds: [String]
        /// First day the adoptive parents are the legal parents.
        public var from: String
        /// The dissolution date (first day they no longer are), or `nil` if still in force.
        public var until: String?
    }

    /// One marriage of the person.
    public struct Marriage: Codable, Sendable, Equatable {
        /// The marriage registration number (the Kafka key of its events).
        public var marriageRecordNumber: String
        /// The other spouse.
        public var spouseId: String
        /// Registration date (first married day).
        public var from: String
        /// First day no longer married: the divorce date, or the date of death of either spouse;
        /// `nil` if the marriage lasts past "as of".
        public var until: String?
        /// `divorce`, `death`, or `nil` while it lasts.
        public var endedBy: String?
    }

    /// Contributions of one insurance type over the period from ``ExpectedAnswers/contributionsFrom``
    /// to ``ExpectedAnswers/contributionsTo``.
    public struct Contributions: Codable, Sendable, Equatable {
        /// The insurance type (`pension`, `medical`, `unemployment`, `work-injury`, `maternity`).
        public var insuranceType: String
        /// Months in the period with a net positive contribution after reversals (postings minus
        /// reversed postings > 0), counting each (month, type) once however many postings it has.
        public var monthsPaid: Int
        /// The first paid month in the period.
        public var firstMonth: String
        /// The last paid month in the period.
        public var lastMonth: String
        /// Months from firstMonth through lastMonth that are not paid (gaps between jobs, and
        /// postings reversed in error without a new posting).
        public var unpaidMonths: [String]
        /// Whether contributions were continuous: no unpaid month between firstMonth and lastMonth.
        public var continuous: Bool
    }

    /// The person's state at the end of one check date.
    public struct AsOf: Codable, Sendable, Equatable {
        /// The check date.
        public var date: String
        /// Whether the person was born (or registered) and alive on the date.
        public var alive: Bool
        /// The household the person belonged to (`nil` before registration or after death).
        public var householdId: String?
        /// Titles the person held on the date, sorted by title number.
        public var titles: [Title]
        /// Mortgages and seizures in force on the date on those titles, sorted by title and record number.
        public var encumbrances: [Encumbrance]
        /// The medical-insurance scheme (`employee` or `resident`) if an enrollment's startDate
        /// is on or before the date, else `nil`.
        public var medicalScheme: String?
        /// Cross-region care filings in force: validFrom ≤ date ≤ validTo (if any), and not
        /// cancelled from a cancelledDate on or before the date. Sorted filing ids.
        public var activeFilingIds: [String]
    }

    /// A title held on a date.
    public struct Title: Codable, Sendable, Equatable {
        /// The real-estate unit number.
        public var titleNumber: String
        /// The person's share as registered, e.g. `1/2` (`1/n` for joint ownership).
        public var share: String
        /// `sole`, `joint` or `in-shares`.
        public var coOwnership: String
    }

    /// An encumbrance in force on a date.
    public struct Encumbrance: Codable, Sendable, Equatable {
        /// The burdened title.
        public var titleNumber: String
        /// `mortgage` or `seizure`.
        public var kind: String
        /// The mortgage or seizure record number.
        public var recordNumber: String
    }
}
