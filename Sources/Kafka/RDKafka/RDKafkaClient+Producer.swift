internal import CRdKafka

extension RDKafkaClient {
    /// Enqueues one message (non-blocking). Returns librdkafka's error code; 0 when enqueued, in
    /// which case a delivery report will arrive for `opaque`.
    func produce(_ message: KafkaProducerMessage, opaque: UnsafeMutableRawPointer?) -> Int32 {
        var headers: OpaquePointer? = nil
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    value.withUnsafeBytes { bytes in
                        _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
                    }
                } else {
                    _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
            }
        }
        let partition = message.partition ?? RD_KAFKA_PARTITION_UA
        let result = message.value.withUnsafeBytes { value in
            withOptionalBytes(message.key) { key in
                tb_produce(
                    handle.pointer, message.topic, partition, key.baseAddress, key.count,
                    value.baseAddress, value.count, headers, opaque
                )
            }
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
            rd_kafka_headers_destroy(headers)  // ownership passes to librdkafka only on success
        }
        return result.rawValue
    }

    /// Waits (blocking) until every enqueued message has a delivery report, or the timeout.
    /// Returns librdkafka's error code (`_TIMED_OUT` when messages remain).
    func flushBlocking(timeoutMilliseconds: Int) -> Int32 {
        rd_kafka_flush(handle.pointer, Int32(clamping: timeoutMilliseconds)).rawValue
    }

    /// Messages and requests not yet acknowledged.
    var outstanding: Int { Int(rd_kafka_outq_len(handle.pointer)) }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let bytes { return bytes.withUnsafeBytes(body) }
    return body(UnsafeRawBufferPointer(start: nil, count: 0))
}
