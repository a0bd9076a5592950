internal import CRdKafka

/// Raw `rd_kafka_resp_err_t` values the Swift side of the module needs to compare against.
enum RDKafkaErrorCodes {
    static let noError: Int32 = RD_KAFKA_RESP_ERR_NO_ERROR.rawValue
    static let queueFull: Int32 = RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue
    /// The outcome of a message whose client was destroyed before a report came.
    static let notDelivered: Int32 = RD_KAFKA_RESP_ERR__DESTROY.rawValue
    /// The outcome of a message not enqueued because its task was cancelled.
    static let cancelled: Int32 = RD_KAFKA_RESP_ERR__INTR.rawValue
}

extension KafkaError {
    /// Maps a librdkafka error code to a ``KafkaError`` with a plain-words explanation.
    static func fromRDKafka(
        _ raw: Int32, detail extra: String? = nil, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        let code = rd_kafka_resp_err_t(rawValue: raw)
        let text = String(cString: rd_kafka_err2str(code))
        let detail = extra.map { "\($0) (\(text))" } ?? text
        func make(_ c: Code, _ hint: String? = nil, retriable: Bool = false) -> KafkaError {
            KafkaError(
                c, hint.map { "\(detail): \($0)" } ?? detail, rdKafkaCode: raw, isRetriable: retriable,
                file: file, line: line)
        }
        switch code {
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
            return make(
                .messageTimedOut,
                "no broker acknowledged the message in time; check that the "
                    + "bootstrap servers are reachable (tongban doctor) or raise message.timeout.ms", retriable: true)
        case RD_KAFKA_RESP_ERR__INTR:
            return make(.cancelled, "the task was cancelled before the message was enqueued")
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            return make(.queueFull, retriable: true)
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE:
            return make(
                .connection, "check the bootstrap servers (KAFKA_BROKERS) and that the brokers are up",
                retriable: true)
        case RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
            return make(.connection, "authentication failed: check sasl.username / sasl.password")
        case RD_KAFKA_RESP_ERR__SSL:
            return make(.connection, "TLS failed: check ssl.ca.location and the broker's certificate")
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            return make(.timeout, retriable: true)
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
            return make(.unknownTopic, retriable: true)
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            return make(.topicAlreadyExists)
        case RD_KAFKA_RESP_ERR__FATAL:
            return make(.fatal)
        case RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR__BAD_MSG, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            return make(.invalidArgument)
        case RD_KAFKA_RESP_ERR__DESTROY, RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
            return make(.closed, "the client was shut down before the operation completed")
        case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
            RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
            return make(.broker, retriable: true)
        default:
            return make(.broker)
        }
    }
}
