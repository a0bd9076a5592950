import Events
import Foundation
import Kafka
import Postgres
import Projections
import SyntheticPopulation
import Testing
import TongbanTesting

/// A generated population, validated as the hub would, with the Kafka positions it would have had.
struct ValidatedPopulation: Sendable {
    /// Events to apply, in publication order, each with a synthetic position (3 partitions per topic,
    /// partition chosen by the key, offsets in publication order).
    var events: [StagedEvent]
    /// The Kafka key of each event (same order).
    var keys: [String]
    /// How many generated messages the validator rejected (they belong to the dead-letter path).
    var rejected: Int
    /// Rejected messages that the generator says must be applied (should be 0).
    var wronglyRejected: Int
    /// Accepted messages that the generator says must be rejected (should be 0).
    var wronglyAccepted: Int
    var expected: ExpectedAnswers
}

enum ProjectionFixtures {
    static let partitionsPerTopic: UInt64 = 3
    static let validator: EventValidator = try! EventValidator()

    /// Populations are generated and validated once per test process.
    static let small: ValidatedPopulation = try! make(people: 300, seed: 11, anomalyRate: 0.02)
    static let answers1: ValidatedPopulation = try! make(people: 600, seed: 21, anomalyRate: 0.02)
    static let answers2: ValidatedPopulation = try! make(people: 500, seed: 22, anomalyRate: 0.03)

    static func make(people: Int, seed: UInt64, anomalyRate: Double) throws -> ValidatedPopulation {
        var configuration = PopulationConfiguration(people: people, seed: seed)
        configuration.anomalyRate = anomalyRate
        var generated: [GeneratedEvent] = []
        let expected = try PopulationGenerator(configuration).generate { generated.append($0) }
        var population = ValidatedPopulation(
            events: [], keys: [], rejected: 0, wronglyRejected: 0, wronglyAccepted: 0, expected: expected)
        var nextOffset: [KafkaTopicPartition: Int64] = [:]
        let options = EventValidator.Options(requireSignature: false)
        for message in generated {
            let partition = KafkaTopicPartition(message.topic, Int32(fnv1a(message.key) % partitionsPerTopic))
            let offset = nextOffset[partition, default: 0]
            nextOffset[partition] = offset + 1
            do {
                let event = try validator.validate(message.line, key: Array(message.key.utf8), options: options)
                population.events.append(try StagedEvent(event, at: partition, offset: offset))
                population.keys.append(message.key)
                if !message.shouldBeApplied { population.wronglyAccepted += 1 }
            } catch {
                population.rejected += 1
                if message.shouldBeApplied { population.wronglyRejected += 1 }
            }
        }
        return population
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    /// Makes the views refuse the rows of a fact table whose column (as text) is one of some values, as a view that
    /// cannot take a fact would: a trigger raises an exception (SQLSTATE P0001).
    /// - Parameters:
    ///   - table: a table of the `tongban` schema.
    ///   - column: its column.
    ///   - values: the refused values, as the column reads as text.
    ///   - atCommit: whether the refusal comes only when the transaction commits (a deferred constraint trigger), as
    ///     a check over a whole transaction would: no statement fails, so no single event is found refused alone.
    ///   - connection: a connection to the migrated test database.
    static func refuse(
        _ table: String, where column: String, isOneOf values: [String], atCommit: Bool = false,
        on connection: PostgresConnection
    ) async throws {
        let trigger =
            atCommit
            ? "CREATE CONSTRAINT TRIGGER refuse_value AFTER INSERT ON tongban.\(PostgresQuery.quoteIdentifier(table)) "
                + "DEFERRABLE INITIALLY DEFERRED"
            : "CREATE TRIGGER refuse_value BEFORE INSERT ON tongban.\(PostgresQuery.quoteIdentifier(table))"
        _ = try await connection.executeScript(
            """
            CREATE TABLE public.refused_value (value text PRIMARY KEY);
            CREATE FUNCTION public.refuse_value() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM public.refused_value r WHERE r.value = NEW.\(PostgresQuery.quoteIdentifier(column))::text
                ) THEN
                    RAISE EXCEPTION 'this test refuses the row';
                END IF;
                RETURN NEW;
            END
            $$;
            \(trigger)
                FOR EACH ROW EXECUTE FUNCTION public.refuse_value();
            """)
        for value in values {
            try await connection.execute("INSERT INTO public.refused_value VALUES (\(value))")
        }
    }

    /// Applies the migrations to a test database.
    static func migrate(_ client: PostgresClient) async throws {
        try await TongbanMigrations.migrate(client, logger: TestPostgres.logger)
    }

    /// Applies events in batches of the given size (no checkpoints).
    static func apply(
        _ events: [StagedEvent], batchSize: Int, store: ViewStore, client: PostgresClient
    ) async throws {
        try await client.withConnection { connection in
            var start = 0
            while start < events.count {
                let end = min(events.count, start + batchSize)
                try await store.apply(Array(events[start..<end]), checkpoints: [], on: connection)
                start = end
            }
        }
    }

    /// Empties every table of the `tongban` schema (facts, ledger, checkpoints), keeping the schema.
    static func reset(_ client: PostgresClient) async throws {
        let rows = try await client.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'tongban' ORDER BY tablename")
        let tables = try rows.map { "tongban." + PostgresQuery.quoteIdentifier(try $0.decode(String.self, at: 0)) }
        _ = try await client.withConnection { connection in
            try await connection.executeScript("TRUNCATE " + tables.joined(separator: ", "))
        }
    }

    /// Every index of the `tongban` schema with its definition, and the storage options of its tables.
    static func indexesAndOptions(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            """
            SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'tongban'
            UNION ALL
            SELECT 'options ' || c.relname || ' ' || c.reloptions::text FROM pg_class c
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.reloptions IS NOT NULL
            ORDER BY 1
            """
        ).map { try $0.decode(String.self, at: 0) }
    }

    /// The names of the contract views (`tongban.v_*`), sorted.
    static func contractViews(_ client: PostgresClient) async throws -> [String] {
        try await client.withConnection { try await ViewStore.contractViews(on: $0) }
    }

    /// A canonical dump of every contract view: each view's rows as text, sorted.
    static func dump(_ client: PostgresClient) async throws -> [String: String] {
        try await ProjectionScenario.dump(client)
    }

    /// Interleaves events as Kafka could deliver them: each (topic, key) keeps its order, everything else
    /// is shuffled with a seeded generator.
    static func interleave(_ population: ValidatedPopulation, seed: UInt64) -> [StagedEvent] {
        var queues: [String: [StagedEvent]] = [:]
        var order: [String] = []
        for (event, key) in zip(population.events, population.keys) {
            let name = event.topicPartition.topic + "|" + key
            if queues[name] == nil { order.append(name) }
            queues[name, default: []].append(event)
        }
        var rng = SplitMix(seed: seed)
        var live = order.map { queues[$0]![...] }
        var result: [StagedEvent] = []
        result.reserveCapacity(population.events.count)
        while !live.isEmpty {
            let index = Int(rng.next() % UInt64(live.count))
            result.append(live[index].removeFirst())
            if live[index].isEmpty { live.swapAt(index, live.count - 1); live.removeLast() }
        }
        return result
    }
}

/// A small seeded generator for shuffles.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
