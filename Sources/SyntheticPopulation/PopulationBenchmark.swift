/// Throughput of the generator, for `tongban bench generate`.
public enum PopulationBenchmark {
    /// Generates a population without signing or anomalies and counts the events and bytes.
    /// - Parameters:
    ///   - people: how many people.
    ///   - seed: the seed.
    ///   - sink: optional consumer of each event (e.g. a file writer); by default events are only counted.
    /// - Returns: events and bytes produced, and the wall-clock seconds taken (planning included).
    /// - Throws: whatever `sink` throws.
    public static func run(
        people: Int, seed: UInt64, sink: (GeneratedEvent) throws -> Void = { _ in }
    ) throws -> (events: Int, bytes: Int, seconds: Double) {
        let clock = ContinuousClock()
        var events = 0
        var bytes = 0
        let start = clock.now
        _ = try PopulationGenerator(PopulationConfiguration(people: people, seed: seed)).generate { event in
            events += 1
            bytes += event.line.count + 1
            try sink(event)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return (events, bytes, seconds)
    }
}
