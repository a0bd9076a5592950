import Testing
import TongbanTesting

@testable import Projections

@Suite("Projections (placeholder)", .sharedMachine)
struct ProjectionsPlaceholderTests {
    @Test("the module links") func links() { _ = ProjectionsModule.self }
}
