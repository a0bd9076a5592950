/// Where a department's writes landed in the streams: for each partition written to, the offset of the last message
/// published there. A question or issuance that passes it (`Tongban-Min-Position`) waits until the views include it,
/// so a department can register a birth and, in its next call, ask about it (read-your-writes).
///
/// The text form is the one `schemas/openapi.yaml` defines for the `MinPosition` parameter: `topic/partition/offset`
/// entries joined by `,`, e.g. `tongban.household/2/1041,tongban.civil-affairs/0/87`, one entry per partition, sorted
/// by topic and partition.
///
/// ```swift
/// let token = try PositionToken(parsing: header)
/// let both = token.merged(with: receipt.position!)
/// ```
public struct PositionToken: Sendable, Hashable, CustomStringConvertible {
    /// A partition of a topic.
    public struct Partition: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// The topic's name.
        public let topic: String
        /// The partition number, from 0.
        public let partition: Int32

        /// Creates a partition.
        /// - Parameters:
        ///   - topic: the topic's name.
        ///   - partition: the partition number.
        public init(_ topic: String, _ partition: Int32) {
            self.topic = topic
            self.partition = partition
        }

        /// Topic first, then partition number.
        public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }

        /// `topic/partition`.
        public var description: String { "\(topic)/\(partition)" }
    }

    /// The longest text form accepted, in characters (the parameter's `maxLength` in `schemas/openapi.yaml`).
    public static let maximumLength = 4096

    /// The longest topic name Kafka allows.
    public static let maximumTopicLength = 249

    /// The offset of the last message of each partition the token covers (never empty).
    public let offsets: [Partition: Int64]

    /// Creates a token covering one message.
    /// - Parameters:
    ///   - topic: the message's topic.
    ///   - partition: its partition.
    ///   - offset: its offset.
    /// - Throws: ``PositionTokenError`` when the topic is not a Kafka topic name or a number is negative.
    public init(topic: String, partition: Int32, offset: Int64) throws(PositionTokenError) {
        if let why = Self.problem(topic: topic) { throw PositionTokenError(why) }
        guard partition >= 0 else { throw PositionTokenError("the partition of \(topic) is negative (\(partition))") }
        guard offset >= 0 else {
            throw PositionTokenError("the offset in \(topic)/\(partition) is negative (\(offset))")
        }
        self.offsets = [Partition(topic, partition): offset]
    }

    /// Reads the text form: `topic/partition/offset` entries joined by `,`. A partition named twice keeps the larger
    /// offset (so two tokens joined by `,` are their merge).
    /// - Parameter text: the text, e.g. a `Tongban-Min-Position` header.
    /// - Throws: ``PositionTokenError`` saying in plain words what is wrong.
    public init(parsing text: String) throws(PositionTokenError) {
        guard !text.isEmpty else { throw PositionTokenError("the position token is empty") }
        guard text.utf8.count <= Self.maximumLength else {
            throw PositionTokenError("the position token is longer than \(Self.maximumLength) characters")
        }
        var offsets: [Partition: Int64] = [:]
        for (index, entry) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let (partition, offset) = try Self.entry(entry, number: index + 1)
            offsets[partition] = max(offsets[partition] ?? offset, offset)
        }
        self.offsets = offsets
    }

    /// Creates a token from the offset of the last message of each partition.
    /// - Parameter offsets: the offset of each partition (at least one).
    /// - Throws: ``PositionTokenError`` when there is none, a topic is not a Kafka topic name, or a number is
    ///   negative.
    public init(offsets: [Partition: Int64]) throws(PositionTokenError) {
        guard !offsets.isEmpty else { throw PositionTokenError("a position token names at least one partition") }
        for (partition, offset) in offsets {
            _ = try PositionToken(topic: partition.topic, partition: partition.partition, offset: offset)
        }
        self.offsets = offsets
    }

    private init(checked offsets: [Partition: Int64]) {
        self.offsets = offsets
    }

    /// The token covering every message of both: the larger offset of each partition.
    /// - Parameter other: another token.
    /// - Returns: the merged token.
    public func merged(with other: PositionToken) -> PositionToken {
        PositionToken(checked: offsets.merging(other.offsets, uniquingKeysWith: max))
    }

    /// The token covering every message of all of `tokens`, or `nil` when there are none.
    /// - Parameter tokens: tokens to merge.
    /// - Returns: the merged token.
    public static func merging(_ tokens: some Sequence<PositionToken>) -> PositionToken? {
        tokens.reduce(nil as PositionToken?) { merged, token in merged?.merged(with: token) ?? token }
    }

    /// The entries in text order: by topic, then partition.
    public var entries: [(partition: Partition, offset: Int64)] {
        offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The topics the token names, sorted, each once.
    public var topics: [String] { Array(Set(offsets.keys.map(\.topic))).sorted() }

    /// Whether views whose checkpoints are `nextOffsets` include every message of the token. A checkpoint is the
    /// offset of the next message to read (the last one applied + 1), so an entry is included when its partition's
    /// checkpoint is above its offset; a partition without a checkpoint includes nothing.
    /// - Parameter nextOffsets: the checkpoint of each partition.
    /// - Returns: whether every entry is included.
    public func isIncluded(in nextOffsets: [Partition: Int64]) -> Bool {
        offsets.allSatisfy { partition, offset in (nextOffsets[partition] ?? 0) > offset }
    }

    /// The text form: `topic/partition/offset` entries, sorted, joined by `,`.
    public var description: String {
        entries.map { "\($0.partition.topic)/\($0.partition.partition)/\($0.offset)" }.joined(separator: ",")
    }

    /// Reads one `topic/partition/offset` entry.
    private static func entry(
        _ text: Substring, number: Int
    ) throws(PositionTokenError) -> (Partition, Int64) {
        // The entry is quoted back only when short and printable.
        let printable = text.utf8.count <= 40 && text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        let shown = printable ? "entry \(number) (\"\(text)\")" : "entry \(number)"
        guard !text.isEmpty else {
            throw PositionTokenError("entry \(number) is empty: entries are topic/partition/offset, joined by commas")
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw PositionTokenError("\(shown) is not topic/partition/offset")
        }
        let topic = String(parts[0])
        if let why = problem(topic: topic) { throw PositionTokenError("\(shown): \(why)") }
        guard let partition = decimal(parts[1], as: Int32.self) else {
            throw PositionTokenError("\(shown): the partition must be a number from 0 to \(Int32.max)")
        }
        guard let offset = decimal(parts[2], as: Int64.self) else {
            throw PositionTokenError("\(shown): the offset must be a number from 0 to \(Int64.max)")
        }
        return (Partition(topic, partition), offset)
    }

    /// Decimal digits only (no sign, no spaces), within the type's range.
    private static func decimal<T: FixedWidthInteger>(_ text: Substring, as: T.Type) -> T? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return T(text)
    }

    /// Why `topic` is not a topic name a token may carry (letters, digits, `.`, `_`, `-`), or `nil`.
    private static func problem(topic: String) -> String? {
        guard !topic.isEmpty else { return "the topic is empty" }
        guard topic.utf8.count <= maximumTopicLength else {
            return "the topic is longer than \(maximumTopicLength) characters"
        }
        let allowed = topic.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        guard allowed else { return "a topic has only letters, digits, '.', '_' and '-'" }
        return nil
    }
}

/// Why a position token could not be read or made, in plain words.
public struct PositionTokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let reason: String

    /// Creates an error.
    /// - Parameter reason: what is wrong, in plain words.
    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}
