public import Kafka

/// Moves one partition's checkpoint forward, with a compare-and-set on the position the writer last read.
///
/// `ViewStore.apply` runs `UPDATE tongban.checkpoint SET next_offset = nextOffset … WHERE … AND next_offset =
/// expectedNextOffset`; when no row matches (another instance moved it, or the row is missing) the whole batch
/// rolls back with `PostgresError.Code.checkpointConflict`.
public struct CheckpointAdvance: Sendable, Hashable {
    /// The partition.
    public var topicPartition: KafkaTopicPartition
    /// The `next_offset` this writer read (from `ViewStore.positions` or its previous commit); `nil` when the
    /// partition has no checkpoint yet (the row is then inserted, and fails if someone else inserted it first).
    public var expectedNextOffset: Int64?
    /// The offset to resume from after this batch: the last offset applied (or skipped) + 1.
    public var nextOffset: Int64
    /// Every offset below this one has been verified; `nil` keeps the stored value.
    public var verifiedThrough: Int64?
    /// The fingerprint of the key set that verified everything below ``verifiedThrough``
    /// (`EventKeyRegistry.fingerprint`); `nil` keeps the stored one. Written only with ``verifiedThrough``.
    public var verifiedKeys: String?
    /// SHA-256 (hex) of the message value at ``verifiedThrough`` − 1, when that moved; `nil` keeps the stored one.
    public var verifiedAnchor: String?

    /// Creates an advance.
    /// - Parameters:
    ///   - topicPartition: the partition.
    ///   - expectedNextOffset: the stored `next_offset` this writer expects, `nil` for a first checkpoint.
    ///   - nextOffset: the new `next_offset`.
    ///   - verifiedThrough: the new verified watermark, or `nil` to keep the stored one.
    ///   - verifiedKeys: the fingerprint of the key set that verified it, or `nil` to keep the stored one.
    ///   - verifiedAnchor: SHA-256 (hex) of the message at `verifiedThrough - 1`, or `nil` to keep the stored one.
    public init(
        _ topicPartition: KafkaTopicPartition, from expectedNextOffset: Int64?, to nextOffset: Int64,
        verifiedThrough: Int64? = nil, verifiedKeys: String? = nil, verifiedAnchor: String? = nil
    ) {
        self.topicPartition = topicPartition
        self.expectedNextOffset = expectedNextOffset
        self.nextOffset = nextOffset
        self.verifiedThrough = verifiedThrough
        self.verifiedKeys = verifiedKeys
        self.verifiedAnchor = verifiedAnchor
    }
}

/// A partition's stored checkpoint, as `ViewStore.positions` reads it.
public struct StoredCheckpoint: Sendable, Hashable {
    /// The offset to resume from.
    public var nextOffset: Int64
    /// Every offset below this one was verified (`nil`: nothing recorded).
    public var verifiedThrough: Int64?
    /// During a rebuild that kept the ledger, every event applied below this offset is in the ledger (see
    /// `ViewStore.resetForRebuild(keepingLedger:on:)`; it matters only while ``nextOffset`` is below it).
    public var ledgerThrough: Int64

    /// Creates a stored checkpoint.
    /// - Parameters:
    ///   - nextOffset: the offset to resume from.
    ///   - verifiedThrough: the verified watermark.
    ///   - ledgerThrough: where the kept ledger ends, during a rebuild that kept it.
    public init(nextOffset: Int64, verifiedThrough: Int64?, ledgerThrough: Int64 = 0) {
        self.nextOffset = nextOffset
        self.verifiedThrough = verifiedThrough
        self.ledgerThrough = ledgerThrough
    }
}
