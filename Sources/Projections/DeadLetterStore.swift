public import Foundation
public import Kafka
public import Postgres

/// The dead letters recorded in `tongban.dead_letter`: what an operator lists, reads and redrives.
///
/// A redrive sends a dead letter's key and value again, byte for byte, to the partition it was read from, once the
/// cause on the hub's side is fixed (a department key registered late, a view that refused a valid fact). The copy
/// gets a new offset there and is verified and applied like any message: its id decides duplicates, so a redrive sent
/// twice changes nothing, and a copy rejected again is a new dead letter at its new offset. The old row stays as
/// history, with `redriven_at` and `redriven_offset`.
///
/// ```swift
/// let store = DeadLetterStore()
/// let letters = try await store.list(.init(reasonContaining: "unknown key"), limit: 50, on: connection)
/// let outcome = try await store.redrive(.init(reasonContaining: "unknown key"), producer: producer, on: connection)
/// print("sent \(outcome.sentCount), the first at \(outcome.sentSample.first?.position.description ?? "-")")
/// ```
public struct DeadLetterStore: Sendable {
    /// Creates the store.
    public init() {}

    /// Where a dead letter was read: `TOPIC:PARTITION:OFFSET` as text.
    public struct Position: Hashable, Sendable, Comparable, LosslessStringConvertible {
        /// The topic and partition.
        public var topicPartition: KafkaTopicPartition
        /// The offset.
        public var offset: Int64

        /// Creates a position.
        /// - Parameters:
        ///   - topicPartition: the topic and partition.
        ///   - offset: the offset.
        public init(_ topicPartition: KafkaTopicPartition, offset: Int64) {
            self.topicPartition = topicPartition
            self.offset = offset
        }

        /// Parses `TOPIC:PARTITION:OFFSET` (a topic name cannot hold a colon).
        /// - Parameter text: the text.
        public init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, let partition = Int32(parts[1]), partition >= 0,
                let offset = Int64(parts[2]), offset >= 0
            else { return nil }
            self.init(KafkaTopicPartition(String(parts[0]), partition), offset: offset)
        }

        /// `TOPIC:PARTITION:OFFSET`.
        public var description: String { "\(topicPartition.topic):\(topicPartition.partition):\(offset)" }

        public static func < (lhs: Position, rhs: Position) -> Bool {
            lhs.topicPartition != rhs.topicPartition ? lhs.topicPartition < rhs.topicPartition : lhs.offset < rhs.offset
        }
    }

    /// A recorded dead letter, without its bytes.
    public struct Entry: Hashable, Sendable {
        /// Where it was read.
        public var position: Position
        /// Why it was rejected.
        public var reason: String
        /// The envelope id, when the message had a readable one.
        public var eventID: UUID?
        /// The envelope type, when readable.
        public var eventType: String?
        /// When it was recorded.
        public var recordedAt: Date
        /// When it was last redriven, if it was.
        public var redrivenAt: Date?
        /// Where its last redriven copy went, in the same topic and partition.
        public var redrivenOffset: Int64?
        /// When this message is itself a redriven copy that was rejected again: the offset of the dead letter it
        /// copies, in the same topic and partition.
        public var copyOf: Int64?
        /// The length of its Kafka key, `nil` when it had none.
        public var keyBytes: Int?
        /// The length of its Kafka value.
        public var valueBytes: Int
    }

    /// A recorded dead letter with its bytes, as received.
    public struct Letter: Hashable, Sendable {
        /// What the list shows of it.
        public var entry: Entry
        /// The Kafka key.
        public var key: [UInt8]?
        /// The Kafka value.
        public var value: [UInt8]
    }

    /// Which dead letters: those that match every criterion given.
    public struct Selection: Hashable, Sendable {
        /// These positions only (empty: any).
        public var positions: [Position]
        /// These topics only (empty: any).
        public var topics: [String]
        /// Whose reason contains this text, ignoring case.
        public var reasonContaining: String?
        /// Recorded at or after this time.
        public var since: Date?
        /// Whether dead letters already redriven are included.
        public var includingRedriven: Bool

        /// Creates a selection; with no criterion it is every dead letter not yet redriven.
        /// - Parameters:
        ///   - positions: these positions only (empty: any).
        ///   - topics: these topics only (empty: any).
        ///   - reasonContaining: whose reason contains this text, ignoring case.
        ///   - since: recorded at or after this time.
        ///   - includingRedriven: whether dead letters already redriven are included.
        public init(
            positions: [Position] = [], topics: [String] = [], reasonContaining: String? = nil, since: Date? = nil,
            includingRedriven: Bool = false
        ) {
            self.positions = positions
            self.topics = topics
            self.reasonContaining = reasonContaining
            self.since = since
            self.includingRedriven = includingRedriven
        }

        /// Whether no criterion narrows it (positions, topics, reason or time).
        public var isEverything: Bool { positions.isEmpty && topics.isEmpty && reasonContaining == nil && since == nil }
    }

    /// What a redrive did: how many dead letters were sent and how many Kafka refused, with the first positions of
    /// each kind (at most ``sampleLimit`` of each, so that the result of a redrive of millions stays small).
    public struct Redriven: Sendable {
        /// The most positions of each kind a result keeps unless told otherwise.
        public static let defaultSampleLimit = 100

        /// The most positions of each kind kept in ``sentSample`` and ``failedSample``; the rest are only counted.
        public let sampleLimit: Int
        /// How many dead letters were sent again.
        public private(set) var sentCount = 0
        /// The first ``sampleLimit`` dead letters sent again, in the order sent, with the offset of each copy in the
        /// same topic and partition (`nil` when Kafka did not say: only without acknowledgements).
        public private(set) var sentSample: [(position: Position, offset: Int64?)] = []
        /// How many dead letters Kafka did not take; their rows are unchanged.
        public private(set) var failedCount = 0
        /// The first ``sampleLimit`` dead letters Kafka did not take, with why and whether trying again may help.
        public private(set) var failedSample: [(position: Position, error: KafkaError)] = []
        /// Whether trying again may help every dead letter Kafka did not take, those left out of ``failedSample``
        /// too (`true` when it refused none).
        public private(set) var failuresAreRetriable = true
        /// Whether it stopped early because Kafka took nothing of a whole chunk (unreachable?): the rest were not
        /// tried.
        public var stoppedEarly = false
        /// Whether its task was cancelled: it stopped after the chunk in hand, and the rest were not tried.
        public var cancelled = false

        /// An empty result.
        /// - Parameter sampleLimit: the most positions of each kind to keep (at least 0).
        public init(sampleLimit: Int = Redriven.defaultSampleLimit) {
            self.sampleLimit = max(0, sampleLimit)
        }

        /// How many sent dead letters ``sentSample`` leaves out.
        public var sentLeftOut: Int { sentCount - sentSample.count }
        /// How many refused dead letters ``failedSample`` leaves out.
        public var failedLeftOut: Int { failedCount - failedSample.count }

        /// Counts a chunk's outcome, keeping positions while the samples have room.
        /// - Parameters:
        ///   - sent: the dead letters sent, with the offsets of their copies.
        ///   - failed: the dead letters Kafka did not take, with why.
        mutating func record(
            sent: [(position: Position, offset: Int64?)], failed: [(position: Position, error: KafkaError)]
        ) {
            sentCount += sent.count
            sentSample += sent.prefix(max(0, sampleLimit - sentSample.count))
            failedCount += failed.count
            failedSample += failed.prefix(max(0, sampleLimit - failedSample.count))
            if !failed.allSatisfy(\.error.isRetriable) { failuresAreRetriable = false }
        }
    }

    /// A redrive stopped by an error (PostgreSQL, or a producer that cannot work); what it did until then stands.
    public struct RedriveInterrupted: Error, CustomStringConvertible {
        /// What was done before the error (the chunk in hand may have been sent without being marked).
        public var done: Redriven
        /// The error.
        public var error: any Error
        public var description: String { "\(error)" }
    }

    /// The header a redriven copy carries: the position of the dead letter it copies (`TOPIC:PARTITION:OFFSET`).
    public static let redrivenFromHeader = "tongban-redriven-from"

    /// The dead letters a selection matches, in position order, without their bytes.
    /// - Parameters:
    ///   - selection: which dead letters.
    ///   - limit: the most to return.
    ///   - connection: a connection to the migrated database.
    /// - Returns: the first `limit` entries, and how many match in all.
    /// - Throws: `PostgresError`.
    public func list(
        _ selection: Selection, limit: Int, on connection: PostgresConnection
    ) async throws -> (entries: [Entry], matching: Int) {
        let page = try await page(
            selection, after: nil, limit: max(0, limit), withBytes: false, locking: false, on: connection)
        return (page.letters.map(\.entry), page.matching)
    }

    /// One dead letter with its bytes.
    /// - Parameters:
    ///   - position: where it was read.
    ///   - connection: a connection to the migrated database.
    /// - Returns: the dead letter, or `nil` when none was recorded there.
    /// - Throws: `PostgresError`.
    public func letter(at position: Position, on connection: PostgresConnection) async throws -> Letter? {
        try await page(
            Selection(positions: [position], includingRedriven: true), after: nil, limit: 1, withBytes: true,
            locking: false, on: connection
        ).letters.first
    }

    /// Sends the selected dead letters again, unchanged, each to the partition it was read from, and records where
    /// each copy went.
    ///
    /// Only dead letters recorded before the redrive starts are candidates: a copy the projectors reject again while
    /// it runs is a new dead letter that the same selection would match, and must not be sent again by this run.
    /// Works in chunks (at most `chunk` dead letters and about `chunkBytes`), each one transaction: the rows are
    /// locked (`FOR UPDATE SKIP LOCKED`: a row another redrive holds is left to it), sent, and marked once Kafka
    /// acknowledged them. A crash or lost connection between the acknowledgement and the commit leaves the row
    /// unmarked, and a later redrive sends it again: that copy is a duplicate the projector ignores by its id.
    /// - Parameters:
    ///   - selection: which dead letters.
    ///   - producer: the producer (its `message.max.bytes` must allow the largest message the departments send).
    ///   - connection: a connection to the migrated database, outside any transaction.
    ///   - chunk: the most dead letters per transaction.
    ///   - chunkBytes: about the most bytes of keys and values per transaction (a larger dead letter goes alone).
    ///   - sampleLimit: the most positions of each kind (sent, refused) the result keeps; all are counted.
    ///   - progress: called after each chunk with what was done so far. Cancelling the task stops the redrive after
    ///     the chunk in hand, which is finished and committed (``Redriven/cancelled``).
    /// - Returns: how many were sent and how many Kafka refused, with the first positions of each.
    /// - Throws: ``RedriveInterrupted``, with what was done, on a PostgreSQL error or a producer that cannot work.
    public func redrive(
        _ selection: Selection, producer: KafkaProducer, on connection: PostgresConnection, chunk: Int = 500,
        chunkBytes: Int = 16 << 20, sampleLimit: Int = Redriven.defaultSampleLimit,
        progress: (Redriven) async -> Void = { _ in }
    ) async throws(RedriveInterrupted) -> Redriven {
        var outcome = Redriven(sampleLimit: sampleLimit)
        do {
            // The server's clock, in UTC whatever the session's DateStyle and TimeZone, to the microsecond: the bound
            // is exactly what recorded_at compares with.
            let started = try await connection.query(
                "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"
            )[0].decode(String.self, at: 0)
            var after: Position?
            while !Task.isCancelled {
                let from = after
                // Shielded from cancellation: a chunk whose copies were sent is marked and committed.
                let chunkOutcome = try await Task {
                    try await connection.withTransaction { connection in
                        try await redriveChunk(
                            selection, after: from, until: started, chunk: chunk, chunkBytes: chunkBytes,
                            producer: producer, on: connection)
                    }
                }.value
                guard let last = chunkOutcome.last else { return outcome }
                after = last
                outcome.record(sent: chunkOutcome.sent, failed: chunkOutcome.failed)
                await progress(outcome)
                // Kafka took nothing, and only for reasons that pass (unreachable, timed out): the rest would wait
                // out the same timeouts. Failures of particular messages (too large, not allowed) do not stop it.
                if chunkOutcome.sent.isEmpty && !chunkOutcome.failed.isEmpty
                    && chunkOutcome.failed.allSatisfy(\.error.isRetriable)
                {
                    outcome.stoppedEarly = true
                    return outcome
                }
            }
            outcome.cancelled = true
        } catch {
            throw RedriveInterrupted(done: outcome, error: error)
        }
        return outcome
    }

    /// One chunk of a redrive, inside its transaction: the dead letters sent and refused, and the last position
    /// handled (`nil` when none was left).
    private func redriveChunk(
        _ selection: Selection, after: Position?, until: String, chunk: Int, chunkBytes: Int, producer: KafkaProducer,
        on connection: PostgresConnection
    ) async throws -> (
        sent: [(position: Position, offset: Int64?)], failed: [(position: Position, error: KafkaError)],
        last: Position?
    ) {
        // The sizes first, without locking; then lock and read the bytes of as many as fit (a row another redrive
        // holds, or that another redrive marked meanwhile, is left out: the cursor moves past it all the same).
        let candidates = try await page(
            selection, after: after, until: until, limit: max(1, chunk), withBytes: false, locking: false,
            on: connection
        ).letters.map(\.entry)
        var taken: [Position] = []
        var bytes = 0
        for entry in candidates {
            let size = entry.valueBytes + (entry.keyBytes ?? 0)
            if !taken.isEmpty && bytes + size > chunkBytes { break }
            taken.append(entry.position)
            bytes += size
        }
        guard let last = taken.last else { return ([], [], nil) }
        var narrowed = selection
        narrowed.positions = taken
        let letters = try await page(
            narrowed, after: nil, until: until, limit: taken.count, withBytes: true, locking: true, on: connection
        ).letters
        let reports = try await producer.send(
            letters.map { letter in
                KafkaProducerMessage(
                    topic: letter.entry.position.topicPartition.topic, key: letter.key, value: letter.value,
                    partition: letter.entry.position.topicPartition.partition,
                    headers: [
                        KafkaHeader(key: Self.redrivenFromHeader, value: Array(letter.entry.position.description.utf8))
                    ])
            })
        var sent: [(position: Position, offset: Int64?)] = []
        var failed: [(position: Position, error: KafkaError)] = []
        for (letter, report) in zip(letters, reports) {
            if let error = report.error {
                failed.append((letter.entry.position, error))
            } else {
                sent.append((letter.entry.position, report.offset >= 0 ? report.offset : nil))
            }
        }
        try await markRedriven(sent, on: connection)
        return (sent, failed, last)
    }

    private func markRedriven(_ sent: [(position: Position, offset: Int64?)], on connection: PostgresConnection)
        async throws
    {
        guard !sent.isEmpty else { return }
        let topics = sent.map(\.position.topicPartition.topic)
        let partitions = sent.map { Int64($0.position.topicPartition.partition) }
        let offsets = sent.map(\.position.offset)
        // -1 stands for "not known" (arrays carry no NULLs here).
        let copies = sent.map { $0.offset ?? -1 }
        try await connection.execute(
            """
            UPDATE tongban.dead_letter d SET redriven_at = now(), redriven_offset = nullif(u.copy, -1)
            FROM unnest(\(topics)::text[], \(partitions)::int8[], \(offsets)::int8[], \(copies)::int8[])
                AS u (topic, partition, message_offset, copy)
            WHERE d.topic = u.topic AND d.partition = u.partition AND d.message_offset = u.message_offset
            """)
    }

    /// The selected dead letters after `after` (recorded before `until`, a timestamp as the server writes it), in
    /// position order, and how many match in all (counted only when not
    /// locking: a window cannot go with `FOR UPDATE`): every query here is this one.
    private func page(
        _ selection: Selection, after: Position?, until: String? = nil, limit: Int, withBytes: Bool, locking: Bool,
        on connection: PostgresConnection
    ) async throws -> (letters: [Letter], matching: Int) {
        let topics = selection.topics
        let positionTopics = selection.positions.map(\.topicPartition.topic)
        let positionPartitions = selection.positions.map { Int64($0.topicPartition.partition) }
        let positionOffsets = selection.positions.map(\.offset)
        let reason = selection.reasonContaining
        let since = selection.since
        let redriven = selection.includingRedriven
        // Keyset paging: "" sorts before every topic name.
        let afterTopic = after?.topicPartition.topic ?? ""
        let afterPartition = Int64(after?.topicPartition.partition ?? -1)
        let afterOffset = after?.offset ?? -1
        let rows = try await connection.query(
            """
            SELECT topic, partition, message_offset, reason, event_id, event_type, recorded_at, redriven_at,
                redriven_offset, length(key), length(value), CASE WHEN \(withBytes) THEN key END,
                CASE WHEN \(withBytes) THEN value END, \(unescaped: locking ? "0" : "count(*) OVER ()"),
                (SELECT max(o.message_offset) FROM tongban.dead_letter o
                    WHERE o.topic = d.topic AND o.partition = d.partition AND o.redriven_offset = d.message_offset)
            FROM tongban.dead_letter d
            WHERE (cardinality(\(topics)::text[]) = 0 OR topic = ANY (\(topics)::text[]))
                AND (cardinality(\(positionTopics)::text[]) = 0
                    OR (topic, partition, message_offset) IN (
                        SELECT * FROM unnest(\(positionTopics)::text[], \(positionPartitions)::int8[], \
            \(positionOffsets)::int8[])))
                AND (\(reason)::text IS NULL OR strpos(lower(reason), lower(\(reason)::text)) > 0)
                AND (\(since)::timestamptz IS NULL OR recorded_at >= \(since)::timestamptz)
                AND (\(until)::timestamptz IS NULL OR recorded_at < \(until)::timestamptz)
                AND (\(redriven) OR redriven_at IS NULL)
                AND (topic, partition, message_offset) > (\(afterTopic)::text, \(afterPartition)::int8, \
            \(afterOffset)::int8)
            ORDER BY topic, partition, message_offset
            LIMIT \(Int64(limit))::int8
            \(unescaped: locking ? "FOR UPDATE SKIP LOCKED" : "")
            """)
        let letters = try rows.map { row in
            Letter(
                entry: Entry(
                    position: Position(
                        KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1)),
                        offset: try row.decode(Int64.self, at: 2)),
                    reason: try row.decode(String.self, at: 3), eventID: try row.decode(UUID?.self, at: 4),
                    eventType: try row.decode(String?.self, at: 5), recordedAt: try row.decode(Date.self, at: 6),
                    redrivenAt: try row.decode(Date?.self, at: 7), redrivenOffset: try row.decode(Int64?.self, at: 8),
                    copyOf: try row.decode(Int64?.self, at: 14),
                    keyBytes: try row.decode(Int?.self, at: 9), valueBytes: try row.decode(Int.self, at: 10)),
                key: try row.decode([UInt8]?.self, at: 11), value: try row.decode([UInt8]?.self, at: 12) ?? [])
        }
        return (letters, try rows.first?.decode(Int.self, at: 13) ?? 0)
    }
}
