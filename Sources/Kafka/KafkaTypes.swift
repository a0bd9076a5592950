public import struct Foundation.Date

/// A partition of a topic.
public struct KafkaTopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic's name.
    public var topic: String
    /// The partition number, from 0.
    public var partition: Int32

    /// Creates a topic-partition.
    /// - Parameters:
    ///   - topic: the topic's name.
    ///   - partition: the partition number.
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)[\(partition)]" }
}

/// Where a consumer starts reading a partition.
public struct KafkaOffset: Hashable, Sendable, CustomStringConvertible {
    /// The raw offset; negative values are librdkafka's logical offsets.
    public let rawValue: Int64

    /// Starts at the given offset: the next message read is the one with this offset.
    /// - Parameter offset: a non-negative offset.
    public static func exactly(_ offset: Int64) -> KafkaOffset { KafkaOffset(rawValue: offset) }
    /// Starts at the earliest offset still in the partition.
    public static let beginning = KafkaOffset(rawValue: -2)
    /// Starts after the last message currently in the partition.
    public static let end = KafkaOffset(rawValue: -1)
    /// Starts at the offset committed to Kafka by this group, else per `auto.offset.reset`.
    public static let stored = KafkaOffset(rawValue: -1000)

    public var description: String {
        switch rawValue {
        case -2: "beginning"
        case -1: "end"
        case -1000: "stored"
        default: String(rawValue)
        }
    }
}

/// A message header.
public struct KafkaHeader: Hashable, Sendable {
    /// The header's name.
    public var key: String
    /// The header's value; `nil` for a null value.
    public var value: [UInt8]?

    /// Creates a header.
    /// - Parameters:
    ///   - key: the name.
    ///   - value: the bytes, or `nil`.
    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// A message to produce.
public struct KafkaProducerMessage: Sendable {
    /// The topic to produce to.
    public var topic: String
    /// The key; messages with the same key go to the same partition, in order.
    public var key: [UInt8]?
    /// The payload.
    public var value: [UInt8]
    /// An explicit partition, or `nil` to let the partitioner choose from the key.
    public var partition: Int32?
    /// Headers sent with the message.
    public var headers: [KafkaHeader]

    /// Creates a message.
    /// - Parameters:
    ///   - topic: the topic.
    ///   - key: the key bytes (e.g. a citizen ID's UTF-8), or `nil`.
    ///   - value: the payload.
    ///   - partition: a fixed partition, or `nil` for the key's partition.
    ///   - headers: headers to send.
    public init(
        topic: String, key: [UInt8]?, value: [UInt8], partition: Int32? = nil, headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.partition = partition
        self.headers = headers
    }

    /// Creates a message with a string key.
    /// - Parameters:
    ///   - topic: the topic.
    ///   - key: the key as text (sent as UTF-8).
    ///   - value: the payload.
    ///   - headers: headers to send.
    public init(topic: String, key: String, value: [UInt8], headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers)
    }
}

/// Where a produced message was stored, or why it was not.
public struct KafkaDeliveryReport: Sendable {
    /// The topic the message was produced to.
    public let topic: String
    /// The partition it was stored in (-1 if it never got one).
    public let partition: Int32
    /// Its offset in the partition (-1 if it was not stored).
    public let offset: Int64
    /// Why the message was not stored, or `nil` when it was.
    public let error: KafkaError?
}

/// A consumed message.
public struct KafkaMessage: Sendable {
    /// The topic it was read from.
    public let topic: String
    /// Its partition.
    public let partition: Int32
    /// Its offset within the partition.
    public let offset: Int64
    /// The key, if any.
    public let key: [UInt8]?
    /// The payload (empty for a null payload).
    public let value: [UInt8]
    /// The message timestamp, if the broker or producer set one.
    public let timestamp: Date?
    /// The headers.
    public let headers: [KafkaHeader]

    /// The message's topic-partition.
    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic, partition) }
}
