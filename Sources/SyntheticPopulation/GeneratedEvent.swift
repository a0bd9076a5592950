/// One generated Kafka message: where it goes, its key, its bytes, and what is odd about it, if anything.
public struct GeneratedEvent: Sendable {
    /// A publishing department (the first part of every event type).
    public struct Department: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
        /// The name used in types, sources, key ids and topics, e.g. `civil-affairs`.
        public let name: String

        init(_ name: String) { self.name = name }

        /// 户籍 household registry.
        public static let household = Department("household")
        /// 民政 civil affairs.
        public static let civilAffairs = Department("civil-affairs")
        /// 人社 social insurance.
        public static let socialInsurance = Department("social-insurance")
        /// 医保 medical insurance.
        public static let medicalInsurance = Department("medical-insurance")
        /// 不动产登记 property registry.
        public static let property = Department("property")
        /// The five departments, in catalog order.
        public static let all: [Department] = [
            .household, .civilAffairs, .socialInsurance, .medicalInsurance, .property,
        ]

        /// The department's Kafka topic, `tongban.<name>`.
        public var topic: String { "tongban." + name }
        public var description: String { name }
        public static func < (a: Department, b: Department) -> Bool { a.name < b.name }
    }

    /// The department that publishes the event.
    public var department: Department
    /// The Kafka topic, `tongban.<department>`.
    public var topic: String { department.topic }
    /// The event type as written in the envelope (an unknown one for ``AnomalyKind/unknownType``).
    public var type: String
    /// The Kafka message key (UTF-8 of this string): the value at the catalog's key pointer, except
    /// for ``AnomalyKind/kafkaKeyMismatch``.
    public var key: String
    /// The envelope `id`, or `nil` when the message is not readable JSON.
    public var id: String?
    /// The Kafka message value: one compact JSON envelope, without a trailing newline.
    public var line: [UInt8]
    /// What is odd about the message, or `nil` for an ordinary event.
    public var anomaly: AnomalyKind?

    /// Whether the hub must apply the event (true) or dead-letter it (false).
    public var shouldBeApplied: Bool { !(anomaly?.isRejected ?? false) }
}
