internal import CRdKafka
import Logging
import TongbanConcurrency

/// Owns a librdkafka mock cluster and the client handle that hosts it.
final class RDKafkaMock: Sendable {
    /// The `rd_kafka_mock_cluster_t`; @unchecked-Sendable wrapper: the mock cluster serialises
    /// every operation on its own thread, and these calls are documented as thread-safe.
    private let cluster: RDKafkaHandle
    private let host: RDKafkaClient
    let bootstrapServers: String

    init(brokers: Int, logger: Logger) throws(KafkaError) {
        host = try RDKafkaClient(kind: .producer, properties: ["log.connection.close": "false"], logger: logger)
        guard let mock = rd_kafka_mock_cluster_new(host.handle.pointer, Int32(brokers)) else {
            throw KafkaError(.mock, "could not start a mock cluster of \(brokers) brokers")
        }
        cluster = RDKafkaHandle(pointer: mock)
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mock))
    }

    func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws(KafkaError) {
        let result = rd_kafka_mock_topic_create(cluster.pointer, name, Int32(partitions), Int32(replicationFactor))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "mock topic \(name)")
        }
    }

    func setBroker(_ id: Int32, up: Bool) throws(KafkaError) {
        let result =
            up ? rd_kafka_mock_broker_set_up(cluster.pointer, id) : rd_kafka_mock_broker_set_down(cluster.pointer, id)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "mock broker \(id)")
        }
    }

    func setRoundTripTime(_ milliseconds: Int, broker: Int32) throws(KafkaError) {
        let result = rd_kafka_mock_broker_set_rtt(cluster.pointer, broker, Int32(milliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "mock broker \(broker) rtt")
        }
    }

    func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster.pointer, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster.pointer, apiKey)
    }

    func destroy() async {
        let cluster = self.cluster
        await host.blocking.run { rd_kafka_mock_cluster_destroy(cluster.pointer) }
        await host.destroy()
    }
}
