public import Logging
import TongbanConcurrency

/// Produces messages to Kafka and reports where each one was stored.
///
/// Idempotent by default: retries after broker faults neither duplicate nor reorder messages.
/// Delivery reports are served by a poll thread of the producer's own, so `send` works without
/// running anything else.
///
/// - Important: call ``shutdown(flushTimeout:)`` when done; it waits for outstanding messages and
///   frees the librdkafka handle.
public final class KafkaProducer: Sendable {
    /// The configuration the producer was created with.
    public let configuration: KafkaProducerConfiguration
    private let client: RDKafkaClient
    private let logger: Logger

    /// Creates a producer. Connecting happens in the background; an unreachable cluster shows up
    /// as `.messageTimedOut` errors after `messageTimeout`.
    /// - Parameters:
    ///   - configuration: the producer's settings.
    ///   - logger: where librdkafka's logs go.
    /// - Throws: ``KafkaError`` `.configuration` when librdkafka rejects a property.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        self.client = try RDKafkaClient(kind: .producer, properties: configuration.properties, logger: logger)
    }

    /// Sends one message and waits for its acknowledgement.
    /// - Parameter message: the message.
    /// - Returns: where it was stored.
    /// - Throws: ``KafkaError`` when it was not stored (e.g. `.messageTimedOut`, `.broker`, `.closed`).
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        let report = try await send([message])[0]
        if let error = report.error { throw error }
        return report
    }

    /// Sends messages and waits until each one is acknowledged or has failed.
    ///
    /// Messages with the same key keep their order. When the local queue is full the call waits
    /// for room (backpressure) instead of failing.
    /// - Parameter messages: the messages, in order.
    /// - Returns: one report per message, in the same order; a failed message has `error` set.
    /// - Throws: ``KafkaError`` only when the producer itself cannot work (`.closed`, `.fatal`).
    public func send(_ messages: [KafkaProducerMessage]) async throws(KafkaError) -> [KafkaDeliveryReport] {
        guard !messages.isEmpty else { return [] }
        try client.enter()
        let batch = client.context.deliveries.register(count: messages.count)
        for (index, message) in messages.enumerated() {
            let opaque = DeliveryTracker.opaque(batch: batch, index: index)
            while true {
                if Task.isCancelled {
                    client.context.deliveries.fail(batch: batch, index: index, error: RDKafkaErrorCodes.cancelled)
                    break
                }
                let result = client.produce(message, opaque: opaque)
                if result == RDKafkaErrorCodes.noError { break }
                if result == RDKafkaErrorCodes.queueFull {
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                client.context.deliveries.fail(batch: batch, index: index, error: result)
                break
            }
        }
        client.leave()
        let outcomes = await client.context.deliveries.wait(batch: batch)
        return zip(messages, outcomes).map { message, outcome in
            KafkaDeliveryReport(
                topic: message.topic, partition: outcome.partition, offset: outcome.offset,
                error: outcome.error == RDKafkaErrorCodes.noError
                    ? nil : KafkaError.fromRDKafka(outcome.error, detail: "message to \(message.topic)"))
        }
    }

    /// Waits until every message sent so far has been acknowledged or has failed.
    /// - Parameter timeout: how long to wait at most.
    /// - Throws: ``KafkaError`` `.timeout` when messages are still outstanding after `timeout`.
    public func flush(timeout: Duration) async throws(KafkaError) {
        let client = self.client
        let ms = timeout.milliseconds
        try client.enter()
        let result = await client.blocking.run { client.flushBlocking(timeoutMilliseconds: ms) }
        client.leave()
        guard result == RDKafkaErrorCodes.noError else {
            throw KafkaError(.timeout, "\(client.outstanding) messages still unacknowledged after \(timeout)")
        }
    }

    /// Flushes outstanding messages (up to `flushTimeout`) and frees the client. Idempotent.
    /// Messages still outstanding afterwards fail with `.closed`.
    /// - Parameter flushTimeout: how long to wait for outstanding messages.
    public func shutdown(flushTimeout: Duration = .seconds(10)) async {
        if !client.isDestroyed {
            do { try await flush(timeout: flushTimeout) } catch {
                logger.warning("producer shut down with messages unacknowledged: \(error.detail)")
            }
        }
        await client.destroy()
    }
}
