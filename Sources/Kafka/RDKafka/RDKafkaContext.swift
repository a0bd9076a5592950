internal import CRdKafka
import Logging
import Synchronization

/// One rebalance as reported by librdkafka's rebalance callback.
enum RDKafkaRebalanceEvent: Sendable {
    case assign([KafkaTopicPartition])
    case revoke([KafkaTopicPartition])
    case error(String)
}

/// State that librdkafka's C callbacks reach through the handle's opaque pointer.
///
/// It must outlive the `rd_kafka_t`: ``RDKafkaClient`` holds it and releases it only after
/// `rd_kafka_destroy` has returned. Callbacks only record into locked state or log; the Swift
/// side drains that state (README, "Concurrency").
final class RDKafkaContext: Sendable {
    let logger: Logger
    let deliveries = DeliveryTracker()
    let rebalances = Mutex<[RDKafkaRebalanceEvent]>([])
    /// Set while the consumer closes: the rebalance callback then unassigns by itself.
    let closing = Atomic<Bool>(false)
    /// The latest error event, for diagnosing a connection that never comes up.
    let lastError = Mutex<KafkaError?>(nil)
    /// The latest error about reaching the cluster (`.connection`, `.timeout`) not yet taken by
    /// ``KafkaConsumer/takeConnectionError()``.
    let connectionError = Mutex<KafkaError?>(nil)
    /// A fatal error, after which the client must be recreated.
    let fatalError = Mutex<KafkaError?>(nil)

    init(logger: Logger) {
        self.logger = logger
    }

    static func from(_ rk: OpaquePointer?) -> RDKafkaContext? {
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return nil }
        return Unmanaged<RDKafkaContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// librdkafka's log callback: forwards to swift-log (thread-safe), nothing else.
let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    rk, level, facility, message in
    guard let context = RDKafkaContext.from(rk), let message else { return }
    let swiftLevel: Logger.Level =
        switch level {
        case ...4: .warning
        case 5...6: .info
        default: .debug
        }
    context.logger.log(
        level: swiftLevel,
        "\(String(cString: message))",
        metadata: [
            KafkaLoggingKeys.facility: .string(facility.map { String(cString: $0) } ?? "-"),
            KafkaLoggingKeys.client: .string(rk.map { String(cString: rd_kafka_name($0)) } ?? "-"),
        ]
    )
}

/// librdkafka's error callback (served by poll): records the error; fatal ones stop the client.
let rdKafkaErrorCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
        rk, code, reason, _ in
        guard let context = RDKafkaContext.from(rk) else { return }
        let text = reason.map { String(cString: $0) } ?? "unknown"
        if code == RD_KAFKA_RESP_ERR__FATAL.rawValue, let rk {
            var buffer = [CChar](repeating: 0, count: 512)
            let fatalCode = rd_kafka_fatal_error(rk, &buffer, buffer.count)
            let error = KafkaError(
                .fatal, "fatal client error: \(buffer.nulTerminatedString); the client must be recreated",
                rdKafkaCode: fatalCode.rawValue)
            context.fatalError.withLock { $0 = error }
            context.logger.error("\(error.detail)")
            return
        }
        let error = KafkaError.fromRDKafka(code, detail: text)
        context.lastError.withLock { $0 = error }
        if error.code == .connection || error.code == .timeout { context.connectionError.withLock { $0 = error } }
        context.logger.notice("kafka client error: \(text)", metadata: [KafkaLoggingKeys.error: "\(code)"])
    }

/// librdkafka's delivery report callback (served by the producer's poll thread).
let rdKafkaDeliveryCallback:
    @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
        rk, message, _ in
        guard let context = RDKafkaContext.from(rk), let message else { return }
        context.deliveries.complete(
            opaque: tb_message_opaque(message),
            partition: message.pointee.partition,
            offset: message.pointee.offset,
            error: message.pointee.err.rawValue
        )
    }

/// librdkafka's rebalance callback (served by the consumer's poll, on the consumer's executor).
/// It records the event; the consumer assigns once the application has supplied positions. While
/// the consumer closes it unassigns at once, as `rd_kafka_consumer_close` waits for that.
let rdKafkaRebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        UnsafeMutableRawPointer?
    ) -> Void = {
        rk, code, list, _ in
        guard let rk, let context = RDKafkaContext.from(rk) else { return }
        let partitions = RDKafkaTopicPartitionList.partitions(of: list)
        if context.closing.load(ordering: .acquiring) {
            RDKafkaClient.unassign(rk, partitions: list)
            return
        }
        let event: RDKafkaRebalanceEvent =
            switch code {
            case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS: .assign(partitions)
            case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: .revoke(partitions)
            default: .error(String(cString: rd_kafka_err2str(code)))
            }
        context.rebalances.withLock { $0.append(event) }
    }
