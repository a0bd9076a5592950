public import Logging
import TongbanConcurrency

import struct Foundation.UUID

extension KafkaConsumer {
    /// Reads the messages at given offsets, outside any consumer group: a look at what a partition holds at an offset
    /// (the projector compares the message at a verified watermark with the one it verified).
    ///
    /// A short-lived client is assigned the partitions at those offsets, reads until it has met each one, and is
    /// destroyed. It commits nothing and joins no group. Its blocking librdkafka calls run on its own thread.
    /// - Parameters:
    ///   - offsets: the offset wanted of each partition.
    ///   - configuration: the cluster and its properties (the group id is replaced by one of the reader's own).
    ///   - timeout: how long the whole read may take.
    ///   - logger: for librdkafka's logs.
    /// - Returns: the message at each wanted offset that the partition holds. A partition is missing from the answer
    ///   when it does not hold that offset: below its log start (retention), at or past its end, or skipped over
    ///   (compaction, a transaction marker).
    /// - Throws: ``KafkaError`` `.timeout` when Kafka did not answer for every partition in time (unreachable), or
    ///   what librdkafka reported.
    public static func messages(
        at offsets: [KafkaTopicPartition: Int64], configuration: KafkaConsumerConfiguration,
        timeout: Duration = .seconds(10), logger: Logger
    ) async throws(KafkaError) -> [KafkaTopicPartition: KafkaMessage] {
        guard !offsets.isEmpty else { return [:] }
        var configuration = configuration
        configuration.groupID = "\(configuration.groupID).reader-\(UUID().uuidString.prefix(8))"
        configuration.resetOutOfRangePositions = false
        let client = try RDKafkaClient(kind: .consumer, properties: configuration.properties, logger: logger)
        let deadline = ContinuousClock.now + timeout
        let result: Result<[KafkaTopicPartition: KafkaMessage], KafkaError> = await client.blocking.run {
            () -> Result<[KafkaTopicPartition: KafkaMessage], KafkaError> in
            do throws(KafkaError) {
                return .success(try readBlocking(client, offsets: offsets, deadline: deadline))
            } catch {
                return .failure(error)
            }
        }
        await client.destroy()
        return try result.get()
    }

    /// The body of ``messages(at:configuration:timeout:logger:)``, on the reader's own thread.
    private static func readBlocking(
        _ client: RDKafkaClient, offsets: [KafkaTopicPartition: Int64], deadline: ContinuousClock.Instant
    ) throws(KafkaError) -> [KafkaTopicPartition: KafkaMessage] {
        func remainingMilliseconds() throws(KafkaError) -> Int {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw KafkaError(
                    .timeout, "Kafka did not answer in time reading \(offsets.keys.sorted())", isRetriable: true)
            }
            return max(1, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
        }
        var found: [KafkaTopicPartition: KafkaMessage] = [:]
        var wanted: [KafkaTopicPartition: Int64] = [:]
        // The log's bounds first: an offset outside them is not held, and reading it would wait for nothing.
        for (partition, offset) in offsets {
            let (low, high) = try client.watermarksBlocking(partition, timeoutMilliseconds: try remainingMilliseconds())
            if offset >= low && offset < high { wanted[partition] = offset }
        }
        guard !wanted.isEmpty else { return found }
        try client.assign(wanted.map { ($0.key, KafkaOffset.exactly($0.value)) })
        while !wanted.isEmpty {
            let wait = min(100, try remainingMilliseconds())
            let (messages, errors) = client.consumeBatchBlocking(maximum: 64, timeoutMilliseconds: wait)
            for message in messages {
                guard let offset = wanted[message.topicPartition], message.offset >= offset else { continue }
                if message.offset == offset { found[message.topicPartition] = message }
                wanted[message.topicPartition] = nil
            }
            for (partition, error) in errors {
                // Out of range (deleted meanwhile): not held. Anything else passes or is reported at the deadline.
                if let partition, error.rdKafkaCode == RDKafkaClient.autoOffsetResetCode {
                    wanted[partition] = nil
                }
            }
        }
        return found
    }
}
