import Events
import Foundation
public import Kafka
public import Postgres

/// Applies batches of validated events to Tongban's views in PostgreSQL, set-based, with the checkpoints.
///
/// One call to ``apply(_:checkpoints:deadLetters:on:beforeCommit:)`` is one transaction:
/// 1. the batch's event ids and fact hashes are looked up in the ledger (`tongban.event`) with one indexed query, and
///    each event is decided: applied, a duplicate (its id was applied with the same content), or rejected (its id
///    was applied with other content); of the applied ones, the first of each fact hash establishes the fact;
/// 2. one binary `COPY` per table writes the ledger rows, then the fact rows of the events that establish facts
///    (the view projectors, `Views/`, turn payloads into rows);
/// 3. rejected ids and the batch's dead letters are recorded, and each partition's checkpoint moves forward with a
///    compare-and-set.
/// Either all of it commits or none of it does, so after a restart the projector resumes exactly where the views
/// end.
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
    /// The schema that holds the tables this store writes: the views' tables, the ledger, the checkpoints, the dead
    /// letters and the rejected offsets. `tongban` (the live views) unless a rebuild writes into a shadow copy (see
    /// ``ShadowRebuild``).
    public let schema: String

    /// The ledger's columns, in row order.
    static let ledger = FactTable(
        name: "event",
        columns: [
            "event_id", "type", "subject", "source", "effective_time", "topic", "partition", "message_offset",
            "content_hash", "envelope", "fact_hash", "establishes",
        ])

    /// Creates a store.
    /// - Parameters:
    ///   - viewGroup: the checkpoint group (one per consumer group; a rebuild uses its own).
    ///   - schema: where its tables are: `tongban`, or a shadow copy's schema (``ShadowRebuild/shadowSchema``). Only
    ///     names of the form `[a-z_][a-z0-9_]*` are accepted: it is written into SQL text.
    public init(viewGroup: String = "tongban.views", schema: String = "tongban") {
        precondition(Self.isPlainIdentifier(schema), "a view store's schema must be a plain lower-case identifier")
        self.viewGroup = viewGroup
        self.schema = schema
    }

    /// Whether `name` is an identifier that needs no quoting: a lower-case letter or underscore, then letters,
    /// digits and underscores (at most 63 bytes).
    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63,
            first == UInt8(ascii: "_") || (97...122).contains(first)
        else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (97...122).contains($0) || (48...57).contains($0) }
    }

    // MARK: - Apply

    /// Applies a batch and advances its checkpoints, in one transaction on `connection`.
    ///
    /// - Parameters:
    ///   - events: validated events with their Kafka positions, in any order (per-key order does not matter
    ///     either: the views derive state from effective dates; among copies of one event or fact, the earliest
    ///     position counts). Recorded events (``StagedEvent/isRecorded``, a rebuild keeping the ledger) take the
    ///     ledger's decision and write only their facts.
    ///   - checkpoints: one advance per partition the batch read from (including partitions whose messages were
    ///     all dead-lettered).
    ///   - deadLetters: messages of the batch that cannot be applied (recorded in `tongban.dead_letter` and
    ///     `tongban.rejected_offset`).
    ///   - connection: a connection outside any transaction.
    ///   - beforeCommit: runs inside the transaction after everything is written and before it commits, with the
    ///     outcome and every dead letter recorded (those given and those for rejected ids; the projector sends them
    ///     to Kafka there, so that a crash can repeat one but never lose one); when it throws, the batch rolls back.
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
        beforeCommit: ((ApplyOutcome, [DeadLetter], PostgresConnection) async throws -> Void)? = nil
    ) async throws -> ApplyOutcome {
        func attempt(probing: Bool) async throws -> ApplyOutcome {
            try await connection.withTransaction { connection in
                if schema == "tongban" {
                    // A swap of a shadow copy takes this exclusively: it waits for the batch in hand, and the next
                    // waits here, before it has touched any table (readers never take it).
                    try await connection.execute("SELECT pg_advisory_xact_lock_shared(\(ShadowRebuild.swapLockKey))")
                }
                let written = try await write(events, probing: probing, on: connection)
                let letters = deadLetters + written.rejectedLetters
                try await recordDeadLetters(letters, on: connection)
                try await self.advance(checkpoints, on: connection)
                try await beforeCommit?(written.outcome, letters, connection)
                return written.outcome
            }
        }
        do {
            // Almost every batch holds only new ids and facts: it is written without looking the ledger up first.
            return try await attempt(probing: false)
        } catch is LedgerConflict {
            return try await attempt(probing: true)
        }
    }

    /// The optimistic attempt met an id or a fact the ledger holds already: the batch is decided against the ledger.
    private struct LedgerConflict: Error {}

    /// What the ledger holds of a batch's ids and facts.
    private func probe(_ batch: ApplyBatch, on connection: PostgresConnection) async throws -> ApplyBatch.Ledger {
        var ledger = ApplyBatch.Ledger()
        let rows = try await connection.query(
            """
            SELECT event_id, content_hash, NULL::uuid FROM \(unescaped: schema).event WHERE event_id = ANY(\(batch.candidateIDs))
            UNION ALL
            SELECT NULL, NULL, fact_hash FROM \(unescaped: schema).event
            WHERE establishes AND fact_hash = ANY(\(batch.candidateFacts))
            """)
        for row in rows {
            if let id = try row.decode(UUID?.self, at: 0) {
                ledger.contents[id] = try row.decode(UUID.self, at: 1)
            } else if let fact = try row.decode(UUID?.self, at: 2) {
                ledger.establishedFacts.insert(fact)
            }
        }
        return ledger
    }

    /// What the ledger recorded for a batch's recorded events (``StagedEvent/isRecorded``: a rebuild that kept the
    /// ledger).
    struct Replay {
        /// Events the ledger holds at their very position, each with its fact hash when it established its facts.
        var applied: [(event: StagedEvent, establishedFact: UUID?)] = []
        /// Events whose id the ledger holds at another position: copies of an applied event.
        var duplicates: [StagedEvent] = []
        /// Events the ledger does not hold (not expected below the end it had when the rebuild began): they are
        /// decided as new ones.
        var missing: [StagedEvent] = []
    }

    /// Reads the ledger's decisions for recorded events, with one indexed query.
    private func replay(_ events: [StagedEvent], on connection: PostgresConnection) async throws -> Replay {
        var replay = Replay()
        guard !events.isEmpty else { return replay }
        let ids = try events.map { staged throws(PostgresError) in try staged.uuid() }
        var recorded: [UUID: (topic: String, partition: Int32, offset: Int64, fact: UUID?)] = [:]
        recorded.reserveCapacity(events.count)
        for row in try await connection.query(
            """
            SELECT event_id, topic, partition, message_offset, CASE WHEN establishes THEN fact_hash END
            FROM \(unescaped: schema).event WHERE event_id = ANY(\(ids))
            """)
        {
            recorded[try row.decode(UUID.self, at: 0)] = (
                try row.decode(String.self, at: 1), try row.decode(Int32.self, at: 2),
                try row.decode(Int64.self, at: 3), try row.decode(UUID?.self, at: 4)
            )
        }
        for (staged, id) in zip(events, ids) {
            guard let row = recorded[id] else {
                replay.missing.append(staged)
                continue
            }
            let position = staged.topicPartition
            if row.topic == position.topic && row.partition == position.partition && row.offset == staged.offset {
                replay.applied.append((staged, row.fact))
            } else {
                replay.duplicates.append(staged)
            }
        }
        return replay
    }

    /// Decides events and writes what they apply, inside the caller's transaction: recorded events from the ledger's
    /// decisions (their facts only), the others as ``write(_:replay:probing:on:)`` does.
    private func write(
        _ events: [StagedEvent], probing: Bool, on connection: PostgresConnection
    ) async throws -> (outcome: ApplyOutcome, rejectedLetters: [DeadLetter]) {
        let (batch, replay) = try await split(events, on: connection)
        return try await write(batch, replay: replay, probing: probing, on: connection)
    }

    /// Splits events into the batch to decide and the recorded events' decisions read from the ledger (recorded events
    /// the ledger does not hold join the batch, staged as new).
    private func split(
        _ events: [StagedEvent], on connection: PostgresConnection
    ) async throws -> (batch: ApplyBatch, replay: Replay) {
        let recorded = events.filter(\.isRecorded)
        let replay = try await replay(recorded, on: connection)
        var fresh = recorded.isEmpty ? events : events.filter { !$0.isRecorded }
        fresh += try replay.missing.map { staged throws(EventSignatureError) in try staged.stagedAsNew() }
        return (try ApplyBatch(fresh), replay)
    }

    /// Decides a batch and writes what it applies (ledger and fact rows), inside the caller's transaction.
    /// - Parameters:
    ///   - batch: the batch.
    ///   - replay: the recorded events' decisions, whose facts are written too.
    ///   - probing: whether to look the batch's ids and facts up in the ledger first; without, every id and fact is
    ///     taken to be new, and ``LedgerConflict`` is thrown when the ledger's unique indexes say otherwise (the
    ///     transaction must then be rolled back).
    ///   - connection: the connection, in a transaction.
    /// - Returns: the outcome, and dead letters for the rejected ids.
    private func write(
        _ batch: ApplyBatch, replay: Replay, probing: Bool, on connection: PostgresConnection
    ) async throws -> (outcome: ApplyOutcome, rejectedLetters: [DeadLetter]) {
        func skipped(_ staged: StagedEvent) -> ApplyOutcome.Skipped {
            ApplyOutcome.Skipped(
                topicPartition: staged.topicPartition, offset: staged.offset,
                eventID: staged.id?.lowercasedText ?? staged.event.id)
        }
        let replayed = replay.duplicates.map(skipped)
        guard !batch.events.isEmpty || !replay.applied.isEmpty else {
            return (ApplyOutcome(applied: 0, duplicates: replayed, rejected: []), [])
        }
        let ledger = probing ? try await probe(batch, on: connection) : ApplyBatch.Ledger()
        let decided = batch.decide(against: ledger)
        // The rows were encoded with the events, on all cores: here they are only gathered.
        var tables = CopyBatch()
        for (index, establishes) in decided.applied {
            let staged = batch.events[index]
            tables.row(
                Self.ledger, encoded: staged.ledgerFields[...], count: Int16(Self.ledger.columns.count - 1),
                establishes)
            if establishes { tables.append(staged.factRows) }
        }
        for (staged, fact) in replay.applied {
            if let fact { tables.append(staged.factRows.withFactHash(fact)) }
        }
        for copy in tables.finish(in: [Self.ledger] + ViewProjectors.tables) {
            let sql =
                "COPY \(copy.table.qualifiedName(in: schema)) (\(copy.table.columns.joined(separator: ", "))) FROM STDIN (FORMAT binary)"
            let failure: PostgresError?
            do {
                _ = try await connection.copyIn(sql, chunks: [copy.data])
                failure = nil
            } catch {
                failure = error
            }
            if let failure {
                let conflict = !probing && copy.table.name == Self.ledger.name && failure.sqlState == "23505"
                if conflict { throw LedgerConflict() }
                throw failure
            }
        }
        let outcome = ApplyOutcome(
            applied: decided.applied.count + replay.applied.count,
            duplicates: decided.duplicates.map { skipped(batch.events[$0]) } + replayed,
            rejected: decided.rejected.map { skipped(batch.events[$0]) })
        let letters = decided.rejected.map { index in
            batch.events[index].deadLetter(
                reason: "event id \(batch.ids[index].lowercasedText) was already applied with different content")
        }
        return (outcome, letters)
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
        var refused: [(event: StagedEvent, reason: String)] = []
        try await connection.execute("BEGIN")
        do {
            // Only events the whole batch applies are candidates: a copy that is a duplicate or a reused id in
            // context must not be found "refused" when its half is tried alone.
            let (whole, replay) = try await split(events, on: connection)
            let events =
                whole.decide(against: try await probe(whole, on: connection)).applied.map { whole.events[$0.index] }
                + replay.applied.filter { $0.establishedFact != nil }.map(\.event)
            var pending: [Range<Int>] = events.isEmpty ? [] : [0..<events.count]
            while let range = pending.popLast() {
                try await connection.execute("SAVEPOINT tongban_probe")
                var failure: (any Error)?
                do {
                    _ = try await write(Array(events[range]), probing: true, on: connection)
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
                INSERT INTO \(unescaped: schema).dead_letter (topic, partition, message_offset, key, value, reason, event_id, \
                event_type)
                VALUES (\(letter.topicPartition.topic), \(letter.topicPartition.partition), \(letter.offset), \
                \(letter.key), \(letter.value), \(letter.reason), \(eventID), \(letter.eventType))
                ON CONFLICT DO NOTHING
                """)
            statements.append(
                """
                INSERT INTO \(unescaped: schema).rejected_offset (topic, partition, message_offset, reason)
                VALUES (\(letter.topicPartition.topic), \(letter.topicPartition.partition), \(letter.offset), \
                \(letter.reason))
                ON CONFLICT DO NOTHING
                """)
        }
        _ = try await connection.pipeline(statements)
    }

    /// The compare-and-set of a batch's checkpoints (README, "Positions live with the data"), one statement for the moves and one for the first
    /// checkpoints of partitions, whatever the number of partitions.
    private func advance(_ advances: [CheckpointAdvance], on connection: PostgresConnection) async throws {
        let moves = advances.filter { $0.expectedNextOffset != nil }
        let firsts = advances.filter { $0.expectedNextOffset == nil }
        var changed = Set<KafkaTopicPartition>()
        func columns(_ list: [CheckpointAdvance]) -> (
            topics: [String], partitions: [Int64], next: [Int64], verified: [Int64], keys: [String], anchors: [String]
        ) {
            // -1 and "" stand for "keep the stored value" (arrays carry no NULLs here).
            (
                list.map(\.topicPartition.topic), list.map { Int64($0.topicPartition.partition) },
                list.map(\.nextOffset), list.map { $0.verifiedThrough ?? -1 }, list.map { $0.verifiedKeys ?? "" },
                list.map { $0.verifiedAnchor ?? "" }
            )
        }
        if !moves.isEmpty {
            let c = columns(moves)
            let expected = moves.map { $0.expectedNextOffset ?? 0 }
            let rows = try await connection.query(
                """
                UPDATE \(unescaped: schema).checkpoint c
                SET next_offset = v.next_offset,
                    verified_through = coalesce(nullif(v.verified_through, -1), c.verified_through),
                    verified_keys = coalesce(nullif(v.verified_keys, ''), c.verified_keys),
                    verified_anchor = coalesce(nullif(v.verified_anchor, ''), c.verified_anchor), updated_at = now()
                FROM unnest(\(c.topics)::text[], \(c.partitions)::int8[], \(expected)::int8[], \(c.next)::int8[],
                    \(c.verified)::int8[], \(c.keys)::text[], \(c.anchors)::text[])
                    AS v(topic, partition, expected, next_offset, verified_through, verified_keys, verified_anchor)
                WHERE c.view_group = \(viewGroup) AND c.topic = v.topic AND c.partition = v.partition
                    AND c.next_offset = v.expected
                RETURNING c.topic, c.partition
                """)
            for row in rows {
                changed.insert(
                    KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1)))
            }
        }
        if !firsts.isEmpty {
            let c = columns(firsts)
            let rows = try await connection.query(
                """
                INSERT INTO \(unescaped: schema).checkpoint (
                    view_group, topic, partition, next_offset, verified_through, verified_keys, verified_anchor)
                SELECT \(viewGroup), v.topic, v.partition, v.next_offset, nullif(v.verified_through, -1),
                    nullif(v.verified_keys, ''), nullif(v.verified_anchor, '')
                FROM unnest(\(c.topics)::text[], \(c.partitions)::int8[], \(c.next)::int8[], \(c.verified)::int8[],
                    \(c.keys)::text[], \(c.anchors)::text[])
                    AS v(topic, partition, next_offset, verified_through, verified_keys, verified_anchor)
                ON CONFLICT DO NOTHING
                RETURNING topic, partition
                """)
            for row in rows {
                changed.insert(
                    KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1)))
            }
        }
        if let stale = advances.first(where: { !changed.contains($0.topicPartition) }) {
            throw PostgresError(
                .checkpointConflict,
                "the checkpoint of \(viewGroup) \(stale.topicPartition) is not at "
                    + "\(stale.expectedNextOffset.map(String.init) ?? "(none)") any more: another writer moved it; "
                    + "the batch was rolled back")
        }
    }

    // MARK: - Contract views

    /// The names of the contract views, the read-only views certificate services may query (`tongban.v_*`, see
    /// `schemas/migrations/README.md`), sorted.
    /// - Parameter connection: any connection.
    /// - Returns: the view names, without the schema.
    /// - Throws: `PostgresError` from the server.
    public static func contractViews(on connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            """
            SELECT table_name FROM information_schema.views
            WHERE table_schema = 'tongban' AND table_name LIKE 'v\\_%' ORDER BY table_name
            """
        ).map { try $0.decode(String.self, at: 0) }
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
            SELECT topic, partition, next_offset, verified_through, ledger_through FROM \(unescaped: schema).checkpoint
            WHERE view_group = \(viewGroup) AND topic = ANY(\(topics))
            """)
        var positions: [KafkaTopicPartition: StoredCheckpoint] = [:]
        for row in rows {
            let key = KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))
            guard wanted.contains(key) else { continue }
            positions[key] = StoredCheckpoint(
                nextOffset: try row.decode(Int64.self, at: 2), verifiedThrough: try row.decode(Int64?.self, at: 3),
                ledgerThrough: try row.decode(Int64.self, at: 4))
        }
        return positions
    }
}
