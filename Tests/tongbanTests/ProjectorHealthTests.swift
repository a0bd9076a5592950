import Foundation
import Kafka
import Operations
import Projections
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban project /health", .sharedMachine)
struct ProjectorHealthTests {
    @Test("ok while it runs; degraded while it joins or rebuilds; failing while it retries, cannot read, or stopped")
    func phases() {
        var status = ProjectorStatus()
        status.assignment = [KafkaTopicPartition("tongban.household", 0)]
        status.phase = .running
        #expect(HealthReport(projectors: [status]).checks["projector"]?.status == .ok)

        status.rebuilding = true
        let rebuilding = HealthReport(projectors: [status])
        #expect(rebuilding.status == .degraded)
        #expect(rebuilding.checks["projector"]?.detail.hasPrefix("rebuilding the views") == true)

        // A partition that cannot be read from its checkpoint fails the check, even while others run or rebuild.
        status.unreadable = [KafkaTopicPartition("tongban.household", 0): "Broker: Offset out of range"]
        let unreadable = HealthReport(projectors: [status])
        #expect(unreadable.status == .failing)
        #expect(unreadable.checks["projector"]?.detail.hasPrefix("cannot read tongban.household[0]") == true)
        #expect(unreadable.checks["projector"]?.detail.contains("Offset out of range") == true)
        status.unreadable = [:]

        status.rebuilding = false
        status.phase = .starting
        #expect(HealthReport(projectors: [status]).status == .degraded)
        status.phase = .retrying
        status.lastError = "postgres: connection refused"
        let retrying = HealthReport(projectors: [status, ProjectorStatus()])
        #expect(retrying.status == .failing)
        #expect(retrying.checks["projector-1"]?.detail.contains("connection refused") == true)
        status.phase = .stopped
        #expect(HealthReport(projectors: [status]).checks["projector"]?.status == .failing)
    }
}
