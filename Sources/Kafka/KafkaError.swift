/// An error from the Kafka layer.
///
/// `description` is deliberately short (it may end up in logs next to user data);
/// `debugDescription` carries the detail and where the error was raised.
public struct KafkaError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. Extensible: switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case configuration, connection, messageTimedOut, queueFull, broker, fatal, timeout
            case unknownTopic, topicAlreadyExists, invalidArgument, closed, cancelled, rebalance, mock
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A librdkafka property was rejected, or a required one is missing.
        public static let configuration = Code(.configuration)
        /// No broker could be reached (bootstrap servers wrong, network, TLS/SASL).
        public static let connection = Code(.connection)
        /// A produced message was not acknowledged within `message.timeout.ms`.
        public static let messageTimedOut = Code(.messageTimedOut)
        /// The local producer queue stayed full.
        public static let queueFull = Code(.queueFull)
        /// The broker answered with an error; see `rdKafkaCode`.
        public static let broker = Code(.broker)
        /// librdkafka raised a fatal error; the client must be recreated.
        public static let fatal = Code(.fatal)
        /// A blocking request did not complete in the time allowed.
        public static let timeout = Code(.timeout)
        /// The topic or partition does not exist.
        public static let unknownTopic = Code(.unknownTopic)
        /// A topic to be created already exists.
        public static let topicAlreadyExists = Code(.topicAlreadyExists)
        /// An argument was out of range or malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// The client was shut down.
        public static let closed = Code(.closed)
        /// The calling task was cancelled before the operation completed.
        public static let cancelled = Code(.cancelled)
        /// A rebalance handler failed; the partitions stay unassigned until the next poll.
        public static let rebalance = Code(.rebalance)
        /// The mock cluster refused an operation.
        public static let mock = Code(.mock)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// librdkafka's own error code (`rd_kafka_resp_err_t`), when the error came from it.
    public let rdKafkaCode: Int32?
    /// Whether trying the same operation again may succeed.
    public let isRetriable: Bool
    /// A plain-words explanation, including what to fix where that is known.
    public let detail: String
    let file: String
    let line: UInt

    init(
        _ code: Code, _ detail: String, rdKafkaCode: Int32? = nil, isRetriable: Bool = false,
        file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.detail = detail
        self.rdKafkaCode = rdKafkaCode
        self.isRetriable = isRetriable
        self.file = file
        self.line = line
    }

    public var description: String { "KafkaError(\(code)): \(detail)" }
    public var debugDescription: String {
        "KafkaError(\(code), rdkafka: \(rdKafkaCode.map(String.init) ?? "-"), retriable: \(isRetriable)) "
            + "\(detail) [\(file):\(line)]"
    }
}
