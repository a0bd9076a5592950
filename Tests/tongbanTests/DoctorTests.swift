import Foundation
import Kafka
import Logging
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban doctor")
struct DoctorTests {
    let logger = testLogger("doctor-tests")

    @Test(
        "reports libraries and binaries; unconfigured services are said to be unconfigured, not failed", .sharedMachine)
    func unconfigured() async {
        let checks = await Doctor(kafkaBootstrapServers: nil, databaseURL: "", databaseConfigured: false).run(
            logger: logger)
        #expect(checks.first { $0.name == "librdkafka" }?.status == .ok)
        #expect(checks.first { $0.name == "libpq" }?.status == .ok)
        #expect(checks.first { $0.name == "PostgreSQL server binaries" }?.status == .ok)
        #expect(checks.first { $0.name == "Kafka" }?.status == .notConfigured)
        #expect(checks.first { $0.name == "PostgreSQL" }?.status == .notConfigured)
    }

    @Test("unreachable Kafka and PostgreSQL and missing binaries fail with a fix, within a bounded time", .quietMachine)
    func unreachable() async throws {
        let emptyBin = FileManager.default.temporaryDirectory.appendingPathComponent(TestNames.unique("empty-bin")).path
        try FileManager.default.createDirectory(atPath: emptyBin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: emptyBin) }
        let port = try closedLoopbackPort()
        let doctor = Doctor(
            kafkaBootstrapServers: "127.0.0.1:\(port)", databaseURL: "postgresql://tongban@127.0.0.1:\(port)/x",
            databaseConfigured: true, timeout: .seconds(2), postgresBinDirectory: emptyBin)
        let start = ContinuousClock.now
        let checks = await doctor.run(logger: logger)
        #expect(ContinuousClock.now - start < .seconds(15))
        let kafka = try #require(checks.first { $0.name == "Kafka" })
        #expect(kafka.status == .failed)
        #expect(kafka.fix?.contains("KAFKA_BOOTSTRAP_SERVERS") == true)
        let postgres = try #require(checks.first { $0.name == "PostgreSQL" })
        #expect(postgres.status == .failed)
        #expect(postgres.detail.contains("is PostgreSQL running"))
        let binaries = try #require(checks.first { $0.name == "PostgreSQL server binaries" })
        #expect(binaries.status == .failed)
        #expect(binaries.fix?.contains("apt-get install postgresql") == true)
    }

    @Test("a reachable mock cluster is reported with its brokers", .sharedMachine)
    func reachableKafka() async throws {
        try await withMockCluster(brokers: 2) { cluster in
            let doctor = Doctor(
                kafkaBootstrapServers: cluster.bootstrapServers, databaseURL: "", databaseConfigured: false)
            let kafka = await doctor.kafkaCheck(logger: logger)
            #expect(kafka.status == .ok)
            #expect(kafka.detail.contains("2 brokers"))
        }
    }
}

/// A loopback port with nothing listening: bind an ephemeral port, then close it.
func closedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw TestFailure("could not bind a loopback port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
