internal import CRdKafka
import Synchronization

import struct Foundation.Date

extension RDKafkaClient {
    /// `RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET`: a fetch position Kafka does not hold, with `auto.offset.reset=error`.
    static let autoOffsetResetCode = Int32(RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET.rawValue)

    /// Subscribes to topics; partitions arrive through the rebalance callback.
    func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let result = rd_kafka_subscribe(handle.pointer, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "subscribe to \(topics)")
        }
    }

    /// Blocks up to `timeoutMilliseconds` for up to `maximum` messages (serving rebalance callbacks
    /// meanwhile). Call only from the consumer's own executor.
    func consumeBatchBlocking(maximum: Int, timeoutMilliseconds: Int) -> (
        messages: [KafkaMessage], errors: [(partition: KafkaTopicPartition?, error: KafkaError)]
    ) {
        guard let queue = consumerQueue?.pointer, maximum > 0 else { return ([], []) }
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maximum)
        defer { buffer.deallocate() }
        let count = rd_kafka_consume_batch_queue(queue, Int32(clamping: timeoutMilliseconds), buffer, maximum)
        guard count > 0 else { return ([], []) }
        var messages: [KafkaMessage] = []
        messages.reserveCapacity(count)
        var errors: [(partition: KafkaTopicPartition?, error: KafkaError)] = []
        var topicNames: [OpaquePointer: String] = [:]
        for i in 0..<count {
            guard let m = buffer[i] else { continue }
            defer { rd_kafka_message_destroy(m) }
            let err = m.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    let topic = m.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
                    let text = rd_kafka_message_errstr(m).map { String(cString: $0) } ?? ""
                    errors.append(
                        (
                            topic.map { KafkaTopicPartition($0, m.pointee.partition) },
                            KafkaError.fromRDKafka(
                                err.rawValue, detail: "consuming \(topic ?? "-")[\(m.pointee.partition)]: \(text)")
                        ))
                }
                continue
            }
            let topic: String
            if let rkt = m.pointee.rkt {
                if let cached = topicNames[rkt] {
                    topic = cached
                } else {
                    topic = String(cString: rd_kafka_topic_name(rkt))
                    topicNames[rkt] = topic
                }
            } else {
                topic = ""
            }
            let key = m.pointee.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.pointee.key_len)) }
            let value = m.pointee.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.pointee.len)) } ?? []
            let ms = rd_kafka_message_timestamp(m, nil)
            messages.append(
                KafkaMessage(
                    topic: topic, partition: m.pointee.partition, offset: m.pointee.offset, key: key, value: value,
                    timestamp: ms >= 0 ? Date(timeIntervalSince1970: Double(ms) / 1000) : nil,
                    headers: Self.headers(of: m)
                ))
        }
        return (messages, errors)
    }

    private static func headers(of m: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headers: OpaquePointer? = nil
        guard rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>? = nil
        var value: UnsafeRawPointer? = nil
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            result.append(
                KafkaHeader(
                    key: name.map { String(cString: $0) } ?? "",
                    value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                ))
            index += 1
        }
        return result
    }

    /// Takes the rebalance events recorded since the last call.
    func drainRebalances() -> [RDKafkaRebalanceEvent] {
        context.rebalances.withLock { events in
            defer { events.removeAll() }
            return events
        }
    }

    private var isCooperative: Bool {
        String(cString: rd_kafka_rebalance_protocol(handle.pointer)) == "COOPERATIVE"
    }

    /// Adds partitions to the assignment, each starting at the given offset.
    func assign(_ positions: [(KafkaTopicPartition, KafkaOffset)]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(positions.map { ($0.0, $0.1.rawValue) })
        if isCooperative {
            if let error = rd_kafka_incremental_assign(handle.pointer, list.pointer) {
                defer { rd_kafka_error_destroy(error) }
                throw KafkaError.fromRDKafka(
                    rd_kafka_error_code(error).rawValue, detail: "assign \(positions.map(\.0))")
            }
        } else {
            let result = rd_kafka_assign(handle.pointer, list.pointer)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.fromRDKafka(result.rawValue, detail: "assign \(positions.map(\.0))")
            }
        }
    }

    /// Removes revoked partitions from the assignment.
    func unassign(_ partitions: [KafkaTopicPartition]) {
        let list = RDKafkaTopicPartitionList(partitions)
        Self.unassign(handle.pointer, partitions: list.pointer)
    }

    /// Clears the whole assignment, as librdkafka asks after a failed rebalance (whatever the protocol).
    func clearAssignment() {
        _ = rd_kafka_assign(handle.pointer, nil)
    }

    static func unassign(_ rk: OpaquePointer, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        if String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE" {
            if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
        } else {
            _ = rd_kafka_assign(rk, nil)
        }
    }

    /// Pauses or resumes fetching of partitions.
    func setPaused(_ paused: Bool, _ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        let result =
            paused
            ? rd_kafka_pause_partitions(handle.pointer, list.pointer)
            : rd_kafka_resume_partitions(handle.pointer, list.pointer)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: paused ? "pause" : "resume")
        }
    }

    /// Commits offsets to Kafka asynchronously (for lag tools only; positions live elsewhere).
    func commitAsync(_ offsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(offsets.map { ($0.key, $0.value) })
        let result = rd_kafka_commit(handle.pointer, list.pointer, 1)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR || result == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "commit")
        }
    }

    /// The partitions currently assigned.
    func assignment() -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>? = nil
        guard rd_kafka_assignment(handle.pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafkaTopicPartitionList.partitions(of: list)
    }

    /// The high watermark librdkafka last saw for a partition (from fetch responses; never blocks), or `nil`
    /// when it has not seen one yet.
    func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        let result = rd_kafka_get_watermark_offsets(handle.pointer, partition.topic, partition.partition, &low, &high)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// Wakes a blocked `consumeBatchBlocking` (thread-safe).
    func wakeConsumer() {
        if let queue = consumerQueue?.pointer { rd_kafka_queue_yield(queue) }
    }
}
