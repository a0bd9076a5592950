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

    /// What a redrive did.
    public struct Redriven: Sendable {
        /// The dead letters sent again, with the offset of each copy (same topic and partition).
        public var sent: [(position: Position, offset: Int64)] = []
        /// Those Kafka did not take, with why; their rows are unchanged.
        public var failed: [(position: Position, reason: String)] = []
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
    /// Works in chunks, each one transaction: the rows are locked (`FOR UPDATE SKIP LOCKED`, so two redrives at once
    /// never send the same one), sent, and marked once Kafka acknowledged them. A crash between the acknowledgement
    /// and the commit leaves the row unmarked, and a second redrive sends it again; that copy is a duplicate the
    /// projector ignores by its id.
    /// - Parameters:
    ///   - selection: which dead letters.
    ///   - producer: the producer (its `message.max.bytes` must allow the largest message the departments send).
    ///   - connection: a connection to the migrated database, outside any transaction.
    ///   - chunk: dead letters per transaction.
    ///   - progress: called after each chunk with the number handled so far.
    /// - Returns: what was sent, and what Kafka refused.
    /// - Throws: `PostgresError`, or `KafkaError` when the producer cannot work at all (that chunk is not marked).
    public func redrive(
        _ selection: Selection, producer: KafkaProducer, on connection: PostgresConnection, chunk: Int = 500,
        progress: (Int) -> Void = { _ in }
    ) async throws -> Redriven {
        var outcome = Redriven()
        var after: Position?
        while true {
            let letters = try await connection.withTransaction { connection in
                let letters = try await page(
                    selection, after: after, limit: max(1, chunk), withBytes: true, locking: true, on: connection
                ).letters
                guard !letters.isEmpty else { return letters }
                let reports = try await producer.send(
                    letters.map { letter in
                        KafkaProducerMessage(
                            topic: letter.entry.position.topicPartition.topic, key: letter.key, value: letter.value,
                            partition: letter.entry.position.topicPartition.partition,
                            headers: [
                                KafkaHeader(
                                    key: Self.redrivenFromHeader, value: Array(letter.entry.position.description.utf8))
                            ])
                    })
                var sent: [(position: Position, offset: Int64)] = []
                for (letter, report) in zip(letters, reports) {
                    if let error = report.error {
                        outcome.failed.append((letter.entry.position, error.detail))
                    } else {
                        sent.append((letter.entry.position, report.offset))
                    }
                }
                try await markRedriven(sent, on: connection)
                outcome.sent += sent
                return letters
            }
            guard let last = letters.last else { break }
            after = last.entry.position
            progress(outcome.sent.count + outcome.failed.count)
        }
        return outcome
    }

    private func markRedriven(_ sent: [(position: Position, offset: Int64)], on connection: PostgresConnection)
        async throws
    {
        guard !sent.isEmpty else { return }
        let topics = sent.map(\.position.topicPartition.topic)
        let partitions = sent.map { Int64($0.position.topicPartition.partition) }
        let offsets = sent.map(\.position.offset)
        let copies = sent.map(\.offset)
        try await connection.execute(
            """
            UPDATE tongban.dead_letter d SET redriven_at = now(), redriven_offset = u.copy
            FROM unnest(\(topics)::text[], \(partitions)::int8[], \(offsets)::int8[], \(copies)::int8[])
                AS u (topic, partition, message_offset, copy)
            WHERE d.topic = u.topic AND d.partition = u.partition AND d.message_offset = u.message_offset
            """)
    }

    /// The selected dead letters after `after`, in position order, and how many match in all (counted only when not
    /// locking: a window cannot go with `FOR UPDATE`): every query here is this one.
    private func page(
        _ selection: Selection, after: Position?, limit: Int, withBytes: Bool, locking: Bool,
        on connection: PostgresConnection
    ) async throws -> (letters: [Letter], matching: Int) {
        let topics = selection.topics
        let positionTopics = selection.positions.map(\.topicPartition.topic)
        let positionPartitions = selection.positions.map { Int64($0.topicPartition.partition) }
        let positionOffsets = selection.positions.map(\.offset)
        let reason = selection.reasonContaining?.lowercased()
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
                AND (\(reason)::text IS NULL OR strpos(lower(reason), \(reason)::text) > 0)
                AND (\(since)::timestamptz IS NULL OR recorded_at >= \(since)::timestamptz)
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
