import Events
import Foundation
public import Kafka
public import Postgres

/// Applies batches of validated events to Tongban's views in PostgreSQL, set-based, with the checkpoints.
///
/// One call to ``apply(_:checkpoints:deadLetters:on:)`` is one transaction: the batch is copied into the
/// connection's staging table (binary COPY), `tongban.apply_stage()` turns every staged event into fact rows
/// with one `INSERT … SELECT` per event type, the dead letters are recorded, and each partition's checkpoint
/// moves forward with a compare-and-set. Either all of it commits or none of it does, so after a restart the
/// projector resumes exactly where the views end.
///
/// ```swift
/// let store = ViewStore(viewGroup: "tongban.views")
/// try await client.withConnection { connection in
///     let stored = try await store.positions(of: partitions, on: connection)
///     // … read from stored[partition]?.nextOffset, validate, verify …
///     try await store.apply(events, checkpoints: advances, on: connection)
/// }
/// ```
/// The facts are idempotent and order-insensitive (see `schemas/migrations/README.md`): applying the same
/// events again, in other batches or another interleaving of partitions, gives the same views.
public struct ViewStore: Sendable {
    /// The checkpoint group this store advances (`tongban.checkpoint.view_group`).
    public let viewGroup: String

    /// The columns `COPY` fills in the staging table, in order.
    static let stageColumns = [
        "event_id", "sent_type", "type", "subject", "source", "effective_time", "data", "envelope", "topic",
        "partition", "message_offset",
    ]

    /// Creates a store.
    /// - Parameter viewGroup: the checkpoint group (one per consumer group; a rebuild uses its own).
    public init(viewGroup: String = "tongban.views") {
        self.viewGroup = viewGroup
    }

    // MARK: - Apply

    /// Applies a batch and advances its checkpoints, in one transaction on `connection`.
    ///
    /// - Parameters:
    ///   - events: validated events with their Kafka positions, in any order (per-key order does not matter
    ///     either: the views derive state from effective dates).
    ///   - checkpoints: one advance per partition the batch read from (including partitions whose messages were
    ///     all dead-lettered).
    ///   - deadLetters: messages of the batch that cannot be applied (recorded in `tongban.dead_letter` and
    ///     `tongban.rejected_offset`).
    ///   - connection: a connection outside any transaction.
    ///   - beforeCommit: runs inside the transaction after everything is written and before it commits, with the
    ///     outcome (the projector sends dead letters to Kafka there, so that a crash can repeat one but never lose
    ///     one); when it throws, the batch rolls back.
    /// - Returns: how many events were applied, and which were skipped as duplicates or rejected because their
    ///   id was already applied with different content (those are recorded as dead letters too).
    /// - Throws: `PostgresError` `.checkpointConflict` when a checkpoint was not at `expectedNextOffset` (another
    ///   writer moved it; nothing of the batch is kept), `.query` when an event id is not a UUID, or the
    ///   connection's errors. Every failure rolls the whole batch back.
    @discardableResult
    public func apply(
        _ events: [StagedEvent],
        checkpoints: [CheckpointAdvance],
        deadLetters: [DeadLetter] = [],
        on connection: PostgresConnection,
        beforeCommit: ((ApplyOutcome, PostgresConnection) async throws -> Void)? = nil
    ) async throws -> ApplyOutcome {
        let rows = try events.map(stageRow)
        return try await connection.withTransaction { connection in
            var outcome = ApplyOutcome(applied: 0, duplicates: [], rejected: [])
            if !rows.isEmpty {
                let skipped = try await stageAndApply(rows, on: connection)
                for row in skipped {
                    let entry = ApplyOutcome.Skipped(
                        topicPartition: KafkaTopicPartition(
                            try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1)),
                        offset: try row.decode(Int64.self, at: 2),
                        eventID: try row.decode(UUID.self, at: 3).uuidString.lowercased())
                    if try row.decode(String.self, at: 4) == "rejected" {
                        outcome.rejected.append(entry)
                    } else {
                        outcome.duplicates.append(entry)
                    }
                }
                outcome.applied = rows.count - skipped.count
            }
            try await recordDeadLetters(deadLetters, on: connection)
            for advance in checkpoints {
                try await self.advance(advance, on: connection)
            }
            try await beforeCommit?(outcome, connection)
            return outcome
        }
    }

    /// Copies rows into the connection's stage and runs `tongban.apply_stage()`, inside the caller's transaction.
    /// - Returns: the staged events that were not applied (topic, partition, offset, event id, outcome).
    private func stageAndApply(_ rows: [StageRow], on connection: PostgresConnection) async throws -> PostgresRows {
        try await connection.execute("SELECT tongban.prepare_stage()")
        _ = try await connection.copyInBinary(table: "pg_temp.tongban_stage", columns: Self.stageColumns) { writer in
            for row in rows {
                writer.appendRow(
                    row.eventID, row.sentType, row.type, row.subject, row.source, row.time, row.data, row.envelope,
                    row.topic, row.partition, row.offset)
            }
        }
        return try await connection.query(
            "SELECT topic, partition, message_offset, event_id, outcome FROM tongban.apply_stage()")
    }

    // MARK: - Refused events

    /// Whether a failed apply means the views refuse some event's facts (a data error, or an exception raised by
    /// the database, that will come back every time) rather than a passing failure worth retrying as it is.
    ///
    /// A unique violation is not a refusal: two apply connections inserting the same event id at once meet one,
    /// and the retry finds the id applied.
    public static func isRefusal(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError, let state = error.sqlState, state != "23505" else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23") || state == "P0001"
    }

    /// Finds the events whose facts the views refuse, so that they can go to the dead letters instead of stopping
    /// their partitions: halves of the batch are applied under savepoints in a transaction that is always rolled
    /// back, down to single events.
    /// - Parameters:
    ///   - events: the events of a batch whose apply failed with a refusal (``isRefusal(_:)``).
    ///   - connection: a connection outside any transaction.
    /// - Returns: each refused event with the reason (the SQLSTATE and its name, never values). Empty when no single
    ///   event fails alone: the failure came from events together, or has passed.
    /// - Throws: `PostgresError` for any failure that is not a refusal (the connection was lost, …).
    public func refusedEvents(
        _ events: [StagedEvent], on connection: PostgresConnection
    ) async throws -> [(event: StagedEvent, reason: String)] {
        let rows = try events.map(stageRow)
        var refused: [(event: StagedEvent, reason: String)] = []
        try await connection.execute("BEGIN")
        do {
            var pending: [Range<Int>] = rows.isEmpty ? [] : [0..<rows.count]
            while let range = pending.popLast() {
                try await connection.execute("SAVEPOINT tongban_probe")
                var failure: (any Error)?
                do {
                    _ = try await stageAndApply(Array(rows[range]), on: connection)
                } catch {
                    failure = error
                }
                try await connection.execute("ROLLBACK TO SAVEPOINT tongban_probe")
                guard let failure else { continue }
                guard Self.isRefusal(failure) else { throw failure }
                if range.count == 1 {
                    let error = failure as? PostgresError
                    refused.append(
                        (
                            events[range.lowerBound],
                            "the views refused the event: \(error?.message ?? "statement failed") (SQLSTATE "
                                + "\(error?.sqlState ?? "?"))"
                        ))
                } else {
                    let middle = range.lowerBound + range.count / 2
                    pending.append(middle..<range.upperBound)
                    pending.append(range.lowerBound..<middle)
                }
            }
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
        try await connection.execute("ROLLBACK")
        return refused
    }

    /// Records dead letters (and their offsets in `tongban.rejected_offset`); a letter already recorded for the
    /// same position is kept as it is.
    ///
    /// `apply(_:checkpoints:deadLetters:on:)` calls this inside its transaction; call it directly only inside a
    /// transaction of your own that also advances the checkpoint past these offsets.
    /// - Parameters:
    ///   - deadLetters: the messages.
    ///   - connection: the connection (inside the caller's transaction).
    /// - Throws: `PostgresError` from the server.
    public func recordDeadLetters(_ deadLetters: [DeadLetter], on connection: PostgresConnection) async throws {
        guard !deadLetters.isEmpty else { return }
        var statements: [PostgresQuery] = []
        for letter in deadLetters {
            let eventID = letter.eventID.flatMap(UUID.init(uuidString:))
            statements.append(
                """
                INSERT INTO tongban.dead_letter (topic, partition, message_offset, key, value, reason, event_id, \
                event_type)
                VALUES (\(letter.topicPartition.topic), \(letter.topicPartition.partition), \(letter.offset), \
                \(letter.key), \(letter.value), \(letter.reason), \(eventID), \(letter.eventType))
                ON CONFLICT DO NOTHING
                """)
            statements.append(
                """
                INSERT INTO tongban.rejected_offset (topic, partition, message_offset, reason)
                VALUES (\(letter.topicPartition.topic), \(letter.topicPartition.partition), \(letter.offset), \
                \(letter.reason))
                ON CONFLICT DO NOTHING
                """)
        }
        _ = try await connection.pipeline(statements)
    }

    /// The compare-and-set of one checkpoint (STYLE §4).
    private func advance(_ advance: CheckpointAdvance, on connection: PostgresConnection) async throws {
        let topic = advance.topicPartition.topic
        let partition = advance.topicPartition.partition
        let changed: Int
        if let expected = advance.expectedNextOffset {
            changed = try await connection.execute(
                """
                UPDATE tongban.checkpoint
                SET next_offset = \(advance.nextOffset),
                    verified_through = coalesce(\(advance.verifiedThrough), verified_through), updated_at = now()
                WHERE view_group = \(viewGroup) AND topic = \(topic) AND partition = \(partition)
                    AND next_offset = \(expected)
                """)
        } else {
            changed = try await connection.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES (\(viewGroup), \(topic), \(partition), \(advance.nextOffset), \(advance.verifiedThrough))
                ON CONFLICT DO NOTHING
                """)
        }
        guard changed == 1 else {
            throw PostgresError(
                .checkpointConflict,
                "the checkpoint of \(viewGroup) \(advance.topicPartition) is not at "
                    + "\(advance.expectedNextOffset.map(String.init) ?? "(none)") any more: another writer moved it; "
                    + "the batch was rolled back")
        }
    }

    // MARK: - Positions

    /// Reads the stored checkpoints of some partitions, to seek there on assignment.
    /// - Parameters:
    ///   - partitions: the partitions assigned to this instance.
    ///   - connection: any connection.
    /// - Returns: the checkpoint of each partition that has one (absent: start from the earliest offset).
    /// - Throws: `PostgresError` from the server.
    public func positions(
        of partitions: [KafkaTopicPartition], on connection: PostgresConnection
    ) async throws -> [KafkaTopicPartition: StoredCheckpoint] {
        let wanted = Set(partitions)
        let topics = Array(Set(partitions.map(\.topic))).sorted()
        let rows = try await connection.query(
            """
            SELECT topic, partition, next_offset, verified_through FROM tongban.checkpoint
            WHERE view_group = \(viewGroup) AND topic = ANY(\(topics))
            """)
        var positions: [KafkaTopicPartition: StoredCheckpoint] = [:]
        for row in rows {
            let key = KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))
            guard wanted.contains(key) else { continue }
            positions[key] = StoredCheckpoint(
                nextOffset: try row.decode(Int64.self, at: 2), verifiedThrough: try row.decode(Int64?.self, at: 3))
        }
        return positions
    }

    // MARK: - Staging rows

    /// One row of the staging table.
    struct StageRow: Sendable {
        var eventID: UUID
        var sentType: String
        var type: String
        var subject: String
        var source: String
        var time: Date
        var data: PostgresJSONB
        var envelope: PostgresJSONB
        var topic: String
        var partition: Int32
        var offset: Int64
    }

    /// The staging row of an event: `data` upcast to the current version of its type, and the envelope as read.
    func stageRow(_ staged: StagedEvent) throws(PostgresError) -> StageRow {
        let event = staged.event
        guard let id = UUID(uuidString: event.id) else {
            throw PostgresError(.query, "event id \(event.id) is not a UUID; validate events before applying them")
        }
        return StageRow(
            eventID: id, sentType: event.type, type: event.payload.eventType, subject: event.subject,
            source: event.envelope.source, time: event.time,
            data: PostgresJSONB(String(decoding: event.data.serialized, as: UTF8.self)),
            envelope: PostgresJSONB(String(decoding: staged.message ?? event.json.serialized, as: UTF8.self)),
            topic: staged.topicPartition.topic, partition: staged.topicPartition.partition, offset: staged.offset)
    }
}
