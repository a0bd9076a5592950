import Events
import Foundation
import Testing
import TongbanTesting

@testable import Projections

@Suite("Fact rows", .sharedMachine)
struct FactRowsTests {
    /// A rebuild that keeps the ledger encodes an event's rows before the ledger gives it its fact hash, then puts the
    /// hash in: the bytes must be those of rows encoded with the hash from the start, for every kind of event.
    @Test("rows encoded before the fact hash is known, then given it, equal rows encoded with it")
    func factHashPutInLater() throws {
        func encoded(_ rows: FactRows) -> [(String, Int16, [UInt8])] {
            var result: [(String, Int16, [UInt8])] = []
            rows.forEach { table, count, fields in result.append((table.name, count, Array(fields))) }
            return result
        }
        var types = Set<String>()
        var tables = Set<String>()
        for staged in ProjectionFixtures.small.events + ProjectionFixtures.answers1.events {
            let fingerprint = try #require(staged.fingerprint)
            let recorded = try StagedEvent(
                staged.event, at: staged.topicPartition, offset: staged.offset, message: staged.message, recorded: true)
            let patched = encoded(recorded.factRows.withFactHash(fingerprint.fact))
            let direct = encoded(staged.factRows)
            #expect(patched.count == direct.count, "\(staged.event.type)")
            for (a, b) in zip(patched, direct) {
                #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2, "\(staged.event.type): a row of \(a.0) differs")
            }
            // The placeholder is not the hash: the comparison above is not vacuous.
            if !direct.isEmpty { #expect(encoded(recorded.factRows).map(\.2) != direct.map(\.2)) }
            types.insert(staged.event.type)
            tables.formUnion(direct.map(\.0))
        }
        // Every table with a fact_hash column was exercised, including one where it is not the last column.
        #expect(tables.contains("title_owner") && tables.contains("identity_assertion"))
        #expect(
            tables.count == ViewProjectors.tables.count,
            "tables without rows: \(ViewProjectors.tables.map(\.name).filter { !tables.contains($0) })")
        #expect(types.count >= 20)
    }
}
