import Kafka
import Postgres

/// What a projector knows of one assigned partition: where its checkpoint stands, how far everything was
/// verified, how far of that it may trust, and which offsets below that were rejected.
struct PartitionPosition: Sendable, Hashable {
    /// The stored `next_offset` of this view group (`nil`: no checkpoint row yet).
    var expected: Int64?
    /// The highest verified watermark any view group recorded for the partition, whatever key set verified it: a
    /// rebuild is under way while the checkpoint is below it (progress, `view_state()`), not a promise.
    var watermark: Int64
    /// Below this offset every message was verified from offset 0 by this projector's key set, over the very messages
    /// the topic holds now (see ``load(_:store:keySet:on:)``): such messages are not verified again, only their key
    /// id is looked up. 0 when no watermark can be trusted: everything is verified.
    var trustedThrough: Int64 = 0
    /// The message that must be at `trustedThrough - 1` for ``trustedThrough`` to hold: its offset and the SHA-256
    /// (hex) of its value, as recorded with the watermark (checked against Kafka on assignment).
    var anchor: (offset: Int64, sha256: String)?
    /// Offsets in `expected ..< watermark` that were rejected; a rebuild skips them without reading them again.
    var rejected: Set<Int64>
    /// Below this offset the ledger holds every event this partition applied (a rebuild that kept the ledger): such
    /// events are staged as recorded (``StagedEvent/isRecorded``).
    var ledgerThrough: Int64 = 0

    static func == (lhs: PartitionPosition, rhs: PartitionPosition) -> Bool {
        lhs.expected == rhs.expected && lhs.watermark == rhs.watermark && lhs.trustedThrough == rhs.trustedThrough
            && lhs.anchor?.offset == rhs.anchor?.offset && lhs.anchor?.sha256 == rhs.anchor?.sha256
            && lhs.rejected == rhs.rejected && lhs.ledgerThrough == rhs.ledgerThrough
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(expected)
        hasher.combine(watermark)
        hasher.combine(trustedThrough)
        hasher.combine(ledgerThrough)
    }

    /// The checkpoint advance of a batch that read `range` of this partition, ending on a message whose value has
    /// SHA-256 `lastMessageSHA256`.
    ///
    /// The watermark moves only where this projector can vouch for it: when everything from offset 0 to the batch's
    /// end was verified by its own key set (``trustedThrough`` reaches the checkpoint), and the result is not below
    /// the stored watermark (a re-verifying rebuild keeps the old one until it has passed it). It is then recorded
    /// with the key set's fingerprint, and with the batch's last message as its anchor when the watermark ends there.
    /// - Parameters:
    ///   - range: the offsets of the batch's messages of this partition.
    ///   - lastMessageSHA256: SHA-256 (hex) of the value at `range.upperBound`.
    ///   - keySet: the fingerprint of this projector's key set.
    /// - Returns: the advance, and the trusted prefix after it.
    func advance(
        over range: ClosedRange<Int64>, lastMessageSHA256: String?, topicPartition: KafkaTopicPartition, keySet: String
    ) -> (advance: CheckpointAdvance, trustedThrough: Int64) {
        let end = range.upperBound + 1
        let contiguous = trustedThrough >= (expected ?? 0)
        let prefix = contiguous ? max(trustedThrough, end) : trustedThrough
        var advance = CheckpointAdvance(topicPartition, from: expected, to: end)
        if contiguous && prefix >= watermark {
            advance.verifiedThrough = prefix
            advance.verifiedKeys = keySet
            if prefix == end { advance.verifiedAnchor = lastMessageSHA256 }
        }
        return (advance, prefix)
    }

    /// Reads the positions of newly assigned partitions.
    ///
    /// A partition's ``trustedThrough`` is the highest watermark that a view group recorded with the same key set
    /// (`keySet`) and with an anchor; the caller must still check the anchor against Kafka (``anchor``) before
    /// trusting it.
    /// - Parameters:
    ///   - partitions: the partitions.
    ///   - store: the view store (names the view group).
    ///   - keySet: the fingerprint of the projector's key set (`EventKeyRegistry.fingerprint`).
    ///   - connection: any connection.
    /// - Returns: a position for every partition.
    /// - Throws: `PostgresError`.
    static func load(
        _ partitions: [KafkaTopicPartition], store: ViewStore, keySet: String, on connection: PostgresConnection
    ) async throws -> [KafkaTopicPartition: PartitionPosition] {
        guard !partitions.isEmpty else { return [:] }
        let stored = try await store.positions(of: partitions, on: connection)
        let topics = Array(Set(partitions.map(\.topic))).sorted()
        // The watermark is per partition, whatever view group wrote it: a rebuild under a new group trusts the
        // live group's verification, as long as the same key set did it.
        var watermarks: [KafkaTopicPartition: Int64] = [:]
        var trusted: [KafkaTopicPartition: (through: Int64, anchor: String)] = [:]
        for row in try await connection.query(
            """
            SELECT topic, partition, max(verified_through),
                (array_agg(verified_through ORDER BY verified_through DESC)
                    FILTER (WHERE verified_keys = \(keySet) AND verified_anchor IS NOT NULL))[1],
                (array_agg(verified_anchor ORDER BY verified_through DESC)
                    FILTER (WHERE verified_keys = \(keySet) AND verified_anchor IS NOT NULL))[1]
            FROM \(unescaped: store.schema).checkpoint
            WHERE topic = ANY(\(topics)) AND verified_through IS NOT NULL GROUP BY topic, partition
            """)
        {
            let key = KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))
            watermarks[key] = try row.decode(Int64.self, at: 2)
            if let through = try row.decode(Int64?.self, at: 3), let anchor = try row.decode(String?.self, at: 4),
                through > 0
            {
                trusted[key] = (through, anchor)
            }
        }
        var positions: [KafkaTopicPartition: PartitionPosition] = [:]
        var lows: [Int64] = []
        var highs: [Int64] = []
        var rangeTopics: [String] = []
        var rangePartitions: [Int64] = []
        for partition in partitions {
            let expected = stored[partition]?.nextOffset
            let watermark = watermarks[partition] ?? 0
            positions[partition] = PartitionPosition(
                expected: expected, watermark: watermark, trustedThrough: trusted[partition]?.through ?? 0,
                anchor: trusted[partition].map { ($0.through - 1, $0.anchor) }, rejected: [],
                ledgerThrough: stored[partition]?.ledgerThrough ?? 0)
            if watermark > (expected ?? 0) {
                rangeTopics.append(partition.topic)
                rangePartitions.append(Int64(partition.partition))
                lows.append(expected ?? 0)
                highs.append(watermark)
            }
        }
        if !rangeTopics.isEmpty {
            for row in try await connection.query(
                """
                SELECT r.topic, r.partition, r.message_offset FROM \(unescaped: store.schema).rejected_offset r
                JOIN unnest(\(rangeTopics)::text[], \(rangePartitions)::bigint[], \(lows)::bigint[], \
                \(highs)::bigint[]) AS w(topic, partition, low, high)
                    ON r.topic = w.topic AND r.partition = w.partition
                    AND r.message_offset >= w.low AND r.message_offset < w.high
                """)
            {
                let key = KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))
                positions[key]?.rejected.insert(try row.decode(Int64.self, at: 2))
            }
        }
        return positions
    }
}
