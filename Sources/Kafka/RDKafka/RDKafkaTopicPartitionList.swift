internal import CRdKafka

/// An owned `rd_kafka_topic_partition_list_t`, freed in `deinit`.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ entries: [(KafkaTopicPartition, Int64?)]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))
        for (tp, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)
            if let offset { element?.pointee.offset = offset }
        }
    }

    convenience init(_ partitions: [KafkaTopicPartition]) {
        self.init(partitions.map { ($0, nil) })
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    /// The entries with their offsets and per-entry errors.
    var entries: [(KafkaTopicPartition, offset: Int64, error: Int32)] {
        let list = pointer.pointee
        return (0..<Int(list.cnt)).map { i in
            let e = list.elems[i]
            return (KafkaTopicPartition(String(cString: e.topic), e.partition), e.offset, e.err.rawValue)
        }
    }

    /// Copies the partitions out of a list librdkafka owns.
    static func partitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaTopicPartition] {
        guard let list else { return [] }
        return (0..<Int(list.pointee.cnt)).map { i in
            let e = list.pointee.elems[i]
            return KafkaTopicPartition(String(cString: e.topic), e.partition)
        }
    }
}
