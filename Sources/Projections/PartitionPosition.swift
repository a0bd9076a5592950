import Kafka
import Postgres

/// What a projector knows of one assigned partition: where its checkpoint stands, how far everything was
/// verified, and which offsets below that were rejected.
struct PartitionPosition: Sendable, Hashable {
    /// The stored `next_offset` of this view group (`nil`: no checkpoint row yet).
    var expected: Int64?
    /// Every offset below this one was verified by some view group (the partition's verified watermark).
    var watermark: Int64
    /// Offsets in `expected ..< watermark` that were rejected; a rebuild skips them without reading them again.
    var rejected: Set<Int64>
    /// Below this offset the ledger holds every event this partition applied (a rebuild that kept the ledger): such
    /// events are staged as recorded (``StagedEvent/isRecorded``).
    var ledgerThrough: Int64 = 0

    /// Reads the positions of newly assigned partitions.
    /// - Parameters:
    ///   - partitions: the partitions.
    ///   - store: the view store (names the view group).
    ///   - connection: any connection.
    /// - Returns: a position for every partition.
    /// - Throws: `PostgresError`.
    static func load(
        _ partitions: [KafkaTopicPartition], store: ViewStore, on connection: PostgresConnection
    ) async throws -> [KafkaTopicPartition: PartitionPosition] {
        guard !partitions.isEmpty else { return [:] }
        let stored = try await store.positions(of: partitions, on: connection)
        let topics = Array(Set(partitions.map(\.topic))).sorted()
        // The watermark is per partition, whatever view group wrote it: a rebuild under a new group trusts the
        // live group's verification.
        var watermarks: [KafkaTopicPartition: Int64] = [:]
        for row in try await connection.query(
            """
            SELECT topic, partition, max(verified_through) FROM tongban.checkpoint
            WHERE topic = ANY(\(topics)) AND verified_through IS NOT NULL GROUP BY topic, partition
            """)
        {
            let key = KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))
            watermarks[key] = try row.decode(Int64.self, at: 2)
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
                expected: expected, watermark: watermark, rejected: [],
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
                SELECT r.topic, r.partition, r.message_offset FROM tongban.rejected_offset r
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
