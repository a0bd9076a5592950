import Foundation
import Kafka
import Operations
import Projections
import Testing

@testable import tongban

@Suite("tongban project /health")
struct ProjectorHealthTests {
    @Test("a running projector is ok, degraded while it joins or rebuilds, failing while it retries or once stopped")
    func phases() {
        var status = ProjectorStatus()
        status.assignment = [KafkaTopicPartition("tongban.household", 0)]
        status.phase = .running
        #expect(HealthReport(projectors: [status]).checks["projector"]?.status == .ok)

        status.rebuilding = true
        let rebuilding = HealthReport(projectors: [status])
        #expect(rebuilding.status == .degraded)
        #expect(rebuilding.checks["projector"]?.detail.hasPrefix("rebuilding the views") == true)

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
