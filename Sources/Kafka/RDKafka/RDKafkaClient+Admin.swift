internal import CRdKafka
import Synchronization

/// Blocking metadata and admin requests. Call them only inside ``RDKafkaClient/blocking``.
extension RDKafkaClient {
    func metadataBlocking(topic: String?, timeoutMilliseconds: Int) throws(KafkaError) -> KafkaClusterMetadata {
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        var rkt: OpaquePointer? = nil
        if let topic { rkt = rd_kafka_topic_new(handle.pointer, topic, nil) }
        defer { if let rkt { rd_kafka_topic_destroy(rkt) } }
        let result = rd_kafka_metadata(
            handle.pointer, topic == nil ? 1 : 0, rkt, &metadata, Int32(clamping: timeoutMilliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError.fromRDKafka(
                result.rawValue,
                detail: "no metadata from \(context.lastError.withLock { $0?.detail } ?? "the cluster") within "
                    + "\(timeoutMilliseconds) ms")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let md = metadata.pointee
        let brokers = (0..<Int(md.broker_cnt)).map { i in
            let b = md.brokers[i]
            return KafkaClusterMetadata.Broker(id: b.id, host: String(cString: b.host), port: Int(b.port))
        }
        let topics = (0..<Int(md.topic_cnt)).map { i in
            let t = md.topics[i]
            return KafkaClusterMetadata.Topic(
                name: String(cString: t.topic), partitions: Int(t.partition_cnt),
                error: t.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.fromRDKafka(t.err.rawValue))
        }
        return KafkaClusterMetadata(brokers: brokers, topics: topics)
    }

    func watermarksBlocking(_ tp: KafkaTopicPartition, timeoutMilliseconds: Int) throws(KafkaError) -> (Int64, Int64) {
        var low: Int64 = -1
        var high: Int64 = -1
        let result = rd_kafka_query_watermark_offsets(
            handle.pointer, tp.topic, tp.partition, &low, &high, Int32(clamping: timeoutMilliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "watermarks of \(tp)")
        }
        return (low, high)
    }

    func offsetsForTimesBlocking(
        _ partitions: [KafkaTopicPartition], millisecondsSinceEpoch: Int64, timeoutMilliseconds: Int
    ) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(partitions.map { ($0, millisecondsSinceEpoch) })
        let result = rd_kafka_offsets_for_times(handle.pointer, list.pointer, Int32(clamping: timeoutMilliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "offsets for time")
        }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for (tp, offset, error) in list.entries {
            guard error == RDKafkaErrorCodes.noError else {
                throw KafkaError.fromRDKafka(error, detail: "offset for time in \(tp)")
            }
            offsets[tp] = offset
        }
        return offsets
    }

    func createTopicsBlocking(_ specs: [KafkaTopicSpec], timeoutMilliseconds: Int) throws(KafkaError)
        -> [(String, KafkaError?)]
    {
        var errorText = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for t in newTopics { rd_kafka_NewTopic_destroy(t) } }
        for spec in specs {
            guard
                let topic = rd_kafka_NewTopic_new(
                    spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errorText, errorText.count)
            else {
                throw KafkaError(.invalidArgument, "topic \(spec.name): \(errorText.nulTerminatedString)")
            }
            newTopics.append(topic)
            for (key, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                let r = rd_kafka_NewTopic_set_config(topic, key, value)
                guard r == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError.fromRDKafka(r.rawValue, detail: "topic \(spec.name) config \(key)")
                }
            }
        }
        let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(clamping: timeoutMilliseconds), &errorText, 512)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, Int32(clamping: timeoutMilliseconds), &errorText, 512)
        let queue = rd_kafka_queue_new(handle.pointer)
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle.pointer, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, Int32(clamping: timeoutMilliseconds + 1000)) else {
            throw KafkaError(.timeout, "topic creation did not complete within \(timeoutMilliseconds) ms")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(
                eventError.rawValue, detail: "create topics: \(String(cString: rd_kafka_event_error_string(event)))")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(.broker, "create topics: no result")
        }
        var count = 0
        guard let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
        return (0..<count).map { i in
            let t = topics[i]
            let code = rd_kafka_topic_result_error(t)
            let name = String(cString: rd_kafka_topic_result_name(t))
            guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return (name, nil) }
            let message = rd_kafka_topic_result_error_string(t).map { String(cString: $0) }
            return (
                name, KafkaError.fromRDKafka(code.rawValue, detail: "topic \(name)\(message.map { ": \($0)" } ?? "")")
            )
        }
    }
}
