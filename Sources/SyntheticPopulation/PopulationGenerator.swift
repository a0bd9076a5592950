import Events

/// Generates a deterministic synthetic population as the five departments would publish it, and
/// the answers the views should give about it.
///
/// ```swift
/// var configuration = PopulationConfiguration(people: 10_000, seed: 1)
/// configuration.anomalyRate = 0.01
/// let expected = try PopulationGenerator(configuration).generate { event in
///     try files[event.department]?.write(event.line + [0x0A])
/// }
/// ```
public struct PopulationGenerator: Sendable {
    /// The configuration, as given.
    public let configuration: PopulationConfiguration
    let asOf: CivilDay

    /// Checks a configuration.
    /// - Parameter configuration: what to generate.
    /// - Throws: ``PopulationError`` `.invalidConfiguration` for a malformed "as of" date, a negative
    ///   number of people, or an anomaly rate outside 0…1.
    public init(_ configuration: PopulationConfiguration) throws(PopulationError) {
        guard let asOf = CivilDay(parsing: configuration.asOf), asOf.components.year >= 1990,
            asOf.components.year <= 2099
        else {
            throw PopulationError(
                code: .invalidConfiguration,
                reason: "asOf \"\(configuration.asOf)\" is not a date YYYY-MM-DD in 1990…2099")
        }
        guard configuration.people >= 0 else {
            throw PopulationError(code: .invalidConfiguration, reason: "people must not be negative")
        }
        guard (0...1).contains(configuration.anomalyRate) else {
            throw PopulationError(code: .invalidConfiguration, reason: "anomalyRate must be between 0 and 1")
        }
        self.configuration = configuration
        self.asOf = asOf
    }

    /// Generates every event, in the order the departments publish them (by publication day; a
    /// department publishes one record's events in order of their legal effect, except late arrivals).
    /// - Parameter sink: called once per Kafka message, in order.
    /// - Returns: the expected answers for the population.
    /// - Throws: whatever `sink` throws, or ``PopulationError`` `.signing` if an event cannot be signed.
    public func generate(into sink: (GeneratedEvent) throws -> Void) throws -> ExpectedAnswers {
        var (model, anomalies) = plan()
        let expected = model.expectedAnswers(
            seed: configuration.seed, sampleSize: configuration.expectedSampleSize, conflicts: anomalies.conflicts)
        try emit(&model, anomalies, into: sink)
        return expected
    }

    /// The expected answers alone, without writing events (the same as ``generate(into:)`` returns).
    public func expectedAnswers() -> ExpectedAnswers {
        let (model, anomalies) = plan()
        return model.expectedAnswers(
            seed: configuration.seed, sampleSize: configuration.expectedSampleSize, conflicts: anomalies.conflicts)
    }

    // MARK: Planning

    struct AnomalyPlan {
        /// Anomalies of planned events themselves (late arrivals, misspelt names), by event index.
        var labels: [Int: AnomalyKind] = [:]
        /// Extra messages: re-sent events and invalid copies.
        var extras: [(source: Int, kind: AnomalyKind, publishDay: CivilDay)] = []
        var conflicts: [Int: [ExpectedAnswers.NameConflict]] = [:]
    }

    var signsEverything: Bool { GeneratedEvent.Department.all.allSatisfy { configuration.signingKeys[$0] != nil } }

    func plan() -> (PopulationModel, AnomalyPlan) {
        var model = PopulationModel(asOf: asOf)
        var families = Xoshiro256StarStar(seed: configuration.seed, stream: 1)
        model.planFamilies(count: configuration.people, rng: &families)
        var insurance = Xoshiro256StarStar(seed: configuration.seed, stream: 2)
        model.planInsurance(months: configuration.contributionMonths, rng: &insurance)
        var property = Xoshiro256StarStar(seed: configuration.seed, stream: 3)
        model.planProperty(rng: &property)
        let anomalies = planAnomalies(&model)
        return (model, anomalies)
    }

    /// Picks events for anomalies at the configured rate, cycling through the kinds; a kind that
    /// needs a particular event type waits for the next event of that type.
    func planAnomalies(_ model: inout PopulationModel) -> AnomalyPlan {
        var plan = AnomalyPlan()
        guard configuration.anomalyRate > 0 else { return plan }
        var rng = Xoshiro256StarStar(seed: configuration.seed, stream: 4)
        let kinds = AnomalyKind.all.filter { !$0.needsSigning || signsEverything }
        var pending: [AnomalyKind] = []
        var next = 0
        for index in model.events.indices {
            if rng.chance(configuration.anomalyRate) {
                pending.append(kinds[next % kinds.count])
                next += 1
            }
            guard !pending.isEmpty else { continue }
            let event = model.events[index]
            let type = model.kind(of: event)
            let applicable = { (kind: AnomalyKind) -> Bool in
                switch kind {
                case .lateArrival: event.day < model.asOf - 60
                case .nameConflict: type == .insuranceEnrolled || type == .medicalEnrolled
                case .birthDateMismatch, .sexMismatch: type.carriesBirthDateAndSex
                case .futureDate: type.pastDateField != nil
                case .sharesNotSummingToOne: type.carriesShares
                default: true
                }
            }
            guard let position = pending.firstIndex(where: applicable) else { continue }
            let kind = pending.remove(at: position)
            switch kind {
            case .lateArrival:
                model.events[index].publishDay = min(event.day + rng.int(30...400), model.asOf)
                plan.labels[index] = kind
            case .nameConflict:
                let (person, name): (Int, String)
                if case .insuranceEnrolled(let e) = event.fact {
                    person = model.insurance.enrollments[e].person
                    name = ChineseNames.misspelled(model.insurance.enrollments[e].name)
                    model.insurance.enrollments[e].name = name
                } else if case .medicalEnrolled(let e) = event.fact {
                    person = model.medical.enrollments[e].person
                    name = ChineseNames.misspelled(model.medical.enrollments[e].name)
                    model.medical.enrollments[e].name = name
                } else {
                    continue
                }
                plan.labels[index] = kind
                plan.conflicts[person, default: []].append(
                    ExpectedAnswers.NameConflict(department: type.department.name, type: type.type, name: name))
            case .duplicate:
                plan.extras.append((index, kind, event.publishDay + rng.int(0...3)))
            default:
                plan.extras.append((index, kind, event.publishDay))
            }
        }
        return plan
    }
}
