import Foundation
import Postgres

/// The rows a batch writes, per table, in PostgreSQL's binary COPY format: one COPY per table sends them.
struct FactRows {
    private var writers: [String: PostgresCopyWriter] = [:]
    private var order: [FactTable] = []

    /// Whether no row was added.
    var isEmpty: Bool { order.isEmpty }

    /// Adds a fact row: the values of the table's fact columns, then the source's provenance.
    /// - Parameters:
    ///   - table: a table made with ``FactTable/facts(_:_:)``.
    ///   - source: the event establishing the row.
    ///   - values: the fact columns' values, in order.
    mutating func fact<each Value: PostgresCopyEncodable>(
        _ table: FactTable, _ source: FactSource, _ values: repeat each Value
    ) {
        row(table, repeat each values, source.effectiveTime, source.eventID, source.factHash)
    }

    /// Adds a row whose every value the caller gives.
    /// - Parameters:
    ///   - table: the table.
    ///   - values: one value per column, in order.
    mutating func row<each Value: PostgresCopyEncodable>(_ table: FactTable, _ values: repeat each Value) {
        if writers[table.name] == nil {
            writers[table.name] = PostgresCopyWriter()
            order.append(table)
        }
        writers[table.name]!.appendRow(repeat each values)
    }

    /// The tables written, each with its complete COPY data, in the order `ranked` lists them (tables it does not list
    /// come last, in the order of their first row).
    /// - Parameter ranked: the tables in the order their rows must be copied (a referenced table before the table
    ///   that refers to it).
    mutating func finish(in ranked: [FactTable]) -> [(table: FactTable, data: [UInt8])] {
        let rank = Dictionary(ranked.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let tables = order.enumerated().sorted {
            (rank[$0.element.name] ?? ranked.count + $0.offset) < (rank[$1.element.name] ?? ranked.count + $1.offset)
        }.map(\.element)
        var result: [(table: FactTable, data: [UInt8])] = []
        for table in tables {
            result.append((table, writers[table.name]!.finish()))
        }
        writers = [:]
        order = []
        return result
    }
}
