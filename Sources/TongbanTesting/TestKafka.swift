import Foundation
public import Kafka
public import Logging
import Synchronization

/// Unique names, so that tests running in parallel never share a topic, group or database.
public enum TestNames {
    private static let counter = Atomic<Int>(0)

    /// A name that no other call in this process returns.
    /// - Parameter prefix: a readable prefix, e.g. the test's subject.
    /// - Returns: `prefix-<pid>-<n>`, lowercase ASCII.
    public static func unique(_ prefix: String) -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(prefix)-\(ProcessInfo.processInfo.processIdentifier)-\(n)"
    }
}

/// A logger for tests: warnings and above to standard error, so a failing run shows why.
public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}

/// Runs `body` with a fresh in-process mock Kafka cluster and shuts it down afterwards.
/// - Parameters:
///   - brokers: how many brokers.
///   - body: the test.
/// - Returns: what `body` returned.
/// - Throws: what `body` threw, or ``KafkaError`` if the cluster could not start.
public func withMockCluster<T>(
    brokers: Int = 3, _ body: (KafkaMockCluster) async throws -> T
) async throws -> T {
    let cluster = try KafkaMockCluster(brokers: brokers, logger: testLogger("mock-kafka"))
    do {
        let result = try await body(cluster)
        await cluster.shutdown()
        return result
    } catch {
        await cluster.shutdown()
        throw error
    }
}

/// A producer configuration for tests against `cluster`, with short timeouts.
/// - Parameter cluster: the mock cluster.
/// - Returns: the configuration.
public func testProducerConfiguration(_ cluster: KafkaMockCluster) -> KafkaProducerConfiguration {
    var configuration = KafkaProducerConfiguration(
        kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
    configuration.linger = .milliseconds(1)
    return configuration
}

/// A consumer configuration for tests against `cluster`, with short group timeouts.
/// - Parameters:
///   - cluster: the mock cluster.
///   - group: the consumer group.
/// - Returns: the configuration.
public func testConsumerConfiguration(_ cluster: KafkaMockCluster, group: String) -> KafkaConsumerConfiguration {
    var configuration = KafkaConsumerConfiguration(
        kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), groupID: group)
    configuration.sessionTimeout = .seconds(6)
    configuration.kafka.additionalProperties["heartbeat.interval.ms"] = "500"
    return configuration
}
