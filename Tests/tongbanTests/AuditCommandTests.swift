import API
import ArgumentParser
import Logging
import Postgres
import Projections
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban audit", .sharedMachine)
struct AuditCommandTests {
    @Test("audit verify migrates, says the chain is intact with its last hash, and names a broken row with exit 1")
    func verify() async throws {
        let logger = Logger(label: "test")
        try await withTestDatabase { db in
            var said: [String] = []
            try await AuditCommand.Verify.parse([]).perform(database: db.client, logger: logger) { said.append($0) }
            #expect(said.last == "the audit chain of 0 rows is intact (it is empty)")
            #expect(try await TongbanMigrations.pending(db.client).isEmpty)

            let log = AuditLog(client: db.client, logger: logger)
            let records = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await log.run() }
                var records: [AuditRecord] = []
                for index in 1...5 {
                    records.append(
                        try await log.append(
                            AuditEntry(
                                clientID: "notary", purpose: "inheritance", subjects: ["11010119900307123\(index)"],
                                question: "kinship", answerSummary: "answer \(index)", outcome: .answered,
                                status: 200)))
                }
                log.shutdown()
                try await group.waitForAll()
                return records
            }
            said = []
            try await AuditCommand.Verify.parse([]).perform(database: db.client, logger: logger) { said.append($0) }
            #expect(said == ["the audit chain of 5 rows is intact (last hash \(records[4].hashHex))"])

            said = []
            try await AuditCommand.List.parse(["--subject", "110101199003071233"]).perform(
                database: db.client, logger: logger
            ) { said.append($0) }
            #expect(said.count == 2 && said[0].hasPrefix("3  ") && said[0].contains("notary"), "\(said)")
            #expect(said.last == "1 requests about 110101199003071233")
            #expect(throws: (any Error).self) { try AuditCommand.List.parse([]) }
            #expect(throws: (any Error).self) { try AuditCommand.List.parse(["--subject", "x", "--limit", "0"]) }

            try await db.client.execute("ALTER TABLE tongban.audit_log DISABLE TRIGGER audit_log_append_only")
            try await db.client.execute("UPDATE tongban.audit_log SET purpose = 'curiosity' WHERE seq = 3")
            let failure = await #expect(throws: CommandFailure.self) {
                try await AuditCommand.Verify.parse([]).perform(database: db.client, logger: logger) { _ in }
            }
            let message = failure?.description ?? ""
            #expect(message.contains("broken at row 3") && message.contains("altered"), "\(message)")
            #expect(message.contains("the 2 rows before it are intact"), "\(message)")
            #expect(AuditCommand.Verify.exitCode(for: try #require(failure)) == .failure)
        }
    }
}
