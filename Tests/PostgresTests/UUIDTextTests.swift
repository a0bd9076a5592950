import Foundation
import Postgres
import Testing
import TongbanTesting

@Suite("UUID text", .sharedMachine)
struct UUIDTextTests {
    @Test("parses either case, prints lowercase, agrees with Foundation")
    func roundTrip() {
        for _ in 0..<1_000 {
            let uuid = UUID()
            #expect(UUID(text: uuid.uuidString) == uuid)
            #expect(UUID(text: uuid.uuidString.lowercased()) == uuid)
            #expect(uuid.lowercasedText == uuid.uuidString.lowercased())
        }
    }

    @Test("refuses what is not a UUID in the 8-4-4-4-12 form")
    func refuses() {
        for text in [
            "", "0193a5c2-7d4e-7c41-9a0e-5b2f6c8d1e3", "0193a5c2-7d4e-7c41-9a0e-5b2f6c8d1e3ff",
            "0193a5c27d4e-7c41-9a0e-5b2f6c8d1e3f0", "0193a5c2-7d4e-7c41-9a0e-5b2f6c8d1e3g",
            "0193a5c2_7d4e_7c41_9a0e_5b2f6c8d1e3f",
        ] {
            #expect(UUID(text: text) == nil, "\(text)")
        }
    }
}
