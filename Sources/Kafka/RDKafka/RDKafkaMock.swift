internal import CRdKafka
import Dispatch
import Logging
import Synchronization
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

    private let destroyed = Atomic<Bool>(false)

    /// Runs a mock-cluster call on the host's queue: each one waits for the mock's own thread.
    private func call<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) -> T) async throws(KafkaError) -> T {
        guard !destroyed.load(ordering: .acquiring) else { throw KafkaError(.closed, "the mock cluster was shut down") }
        let cluster = self.cluster
        return await host.blocking.run { body(cluster.pointer) }
    }

    func createTopic(_ name: String, partitions: Int, replicationFactor: Int) async throws(KafkaError) {
        let result = try await call {
            rd_kafka_mock_topic_create($0, name, Int32(partitions), Int32(replicationFactor))
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "mock topic \(name)")
        }
    }

    func setBroker(_ id: Int32, up: Bool) async throws(KafkaError) {
        let result = try await call { up ? rd_kafka_mock_broker_set_up($0, id) : rd_kafka_mock_broker_set_down($0, id) }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "mock broker \(id)")
        }
    }

    func setRoundTripTime(_ milliseconds: Int, broker: Int32) async throws(KafkaError) {
        let result = try await call { rd_kafka_mock_broker_set_rtt($0, broker, Int32(milliseconds)) }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.fromRDKafka(result.rawValue, detail: "mock broker \(broker) rtt")
        }
    }

    func pushRequestErrors(apiKey: Int16, errors: [Int32]) async throws(KafkaError) {
        try await call { cluster in
            var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
            codes.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
            }
        }
    }

    func clearRequestErrors(apiKey: Int16) async throws(KafkaError) {
        try await call { rd_kafka_mock_clear_request_errors($0, apiKey) }
    }

    /// Destroys the cluster, then its host handle. Idempotent.
    func destroy() async {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let cluster = self.cluster
        await host.blocking.run { rd_kafka_mock_cluster_destroy(cluster.pointer) }
        await host.destroy()
    }

    deinit {
        // Never shut down: destroy the cluster before its host handle goes (off the caller's thread).
        guard !destroyed.load(ordering: .acquiring) else { return }
        let (cluster, host) = (cluster, host)
        DispatchQueue.global().async {
            rd_kafka_mock_cluster_destroy(cluster.pointer)
            withExtendedLifetime(host) {}
        }
    }
}
