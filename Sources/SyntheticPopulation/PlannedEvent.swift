/// One event the generator will publish: which fact (by index into the model), when it took
/// legal effect, and when the department publishes it.
struct PlannedEvent {
    enum Fact {
        case personRegistered(person: Int, household: Int, relation: Relation, previousRegion: Int)
        case birthRegistered(child: Int, household: Int, relation: Relation)
        case householdEstablished(Int)
        case movedIn(person: Int, household: Int, relation: Relation)
        case movedOut(person: Int, household: Int, relation: Relation)
        case nameChanged(person: Int, change: Int)
        case deathRegistered(Int)
        case marriageRegistered(Int)
        case divorceRegistered(Int)
        case adoptionRegistered(Int)
        case adoptionDissolved(Int)
        case insuranceEnrolled(Int)
        case contributionPosted(Int)
        case contributionReversed(Int)
        case enrollmentEnded(Int)
        case medicalEnrolled(Int)
        case voucherActivated(Int)
        case careFiled(Int)
        case careCancelled(Int)
        case titleRegistered(Int)
        case titleTransferred(Int)
        case mortgageRegistered(Int)
        case mortgageReleased(Int)
        case seizureRegistered(Int)
        case seizureLifted(Int)
    }

    var fact: Fact
    /// When the fact took legal effect (the envelope's `time`).
    var day: CivilDay
    /// When the department publishes it: `day`, or later for a late arrival.
    var publishDay: CivilDay

    init(fact: Fact, day: CivilDay) {
        self.fact = fact
        self.day = day
        self.publishDay = day
    }
}
