public import Events

/// What to generate. The same configuration always gives byte-identical output.
public struct PopulationConfiguration: Sendable {
    /// How many people to create (at least; the last family is completed, so a few more).
    public var people: Int
    /// The seed of every random choice.
    public var seed: UInt64
    /// Nothing is dated after this day (`YYYY-MM-DD`, Beijing time); default `2026-11-01`.
    /// Only the periods the schemas allow to lie ahead (enrollment start months, filing validity,
    /// seizure periods) may end or begin later.
    public var asOf: String = "2026-11-01"
    /// Share of events that get an anomaly (0…1, default 0): re-sent, late, misspelt, or invalid.
    public var anomalyRate: Double = 0
    /// How many months of social-insurance contributions to post, ending with the last month
    /// whose postings are made by `asOf` (default 24).
    public var contributionMonths: Int = 24
    /// Keys to sign each department's events with; empty (the default) leaves events unsigned,
    /// without `tbkid` and `tbsig`. Signing anomalies are generated only when every department has a key.
    public var signingKeys: [GeneratedEvent.Department: DepartmentSigningKey] = [:]
    /// How many people the expected answers describe (default 200; some are chosen because
    /// they were adopted, divorced, renamed, own encumbered property…).
    public var expectedSampleSize: Int = 200

    /// A configuration with the defaults.
    /// - Parameters:
    ///   - people: how many people to create.
    ///   - seed: the seed.
    public init(people: Int, seed: UInt64) {
        self.people = people
        self.seed = seed
    }
}

/// A problem with a ``PopulationConfiguration``, or a failure while signing.
public struct PopulationError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: String
        /// The configuration is not usable (the message says which setting).
        public static let invalidConfiguration = Code(base: "invalidConfiguration")
        /// An event could not be signed.
        public static let signing = Code(base: "signing")
        public var description: String { base }
    }

    /// The kind of problem.
    public let code: Code
    /// What is wrong, in plain words.
    public let reason: String

    public var description: String { "PopulationError(\(code)): \(reason)" }
}
