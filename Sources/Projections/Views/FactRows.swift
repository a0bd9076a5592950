import Foundation
import Postgres

/// The fact rows of one event, encoded in PostgreSQL's binary COPY format as the view projectors give them.
///
/// Encoded with the event, where batches are checked on all cores (``StagedEvent``), so that the apply only gathers
/// bytes (``CopyBatch``) while PostgreSQL works.
struct FactRows: Sendable {
    /// The fields of every row, one row after the other.
    private var fields: [UInt8] = []
    /// Each row's table, field count and where its fields end in ``fields``.
    private var rows: [(table: FactTable, count: Int16, end: Int)] = []
    /// Whether rows record where their `fact_hash` lies, for ``withFactHash(_:)``.
    private let locatesFactHashes: Bool
    /// Where the 16 bytes of each row's `fact_hash` start in ``fields`` (only if ``locatesFactHashes``).
    private var factHashes: [Int] = []

    /// Creates empty rows.
    /// - Parameter locatingFactHashes: whether the rows will be given their fact hash later (``withFactHash(_:)``);
    ///   only then does each row record where its hash lies.
    init(locatingFactHashes: Bool = false) {
        self.locatesFactHashes = locatingFactHashes
    }

    /// Whether no row was added.
    var isEmpty: Bool { rows.isEmpty }

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
        let start = fields.count
        let count = PostgresCopyWriter.encodeFields(repeat each values, into: &fields)
        if locatesFactHashes, let column = table.factHashColumn {
            let hash = PostgresCopyWriter.field(column, in: fields[start...])
            // withFactHash writes 16 bytes there: anything but a uuid field would be overwritten.
            precondition(hash.length == 16, "the fact_hash of \(table.name) must be a uuid")
            factHashes.append(hash.start)
        }
        rows.append((table, count, fields.count))
    }

    /// The same rows with another fact hash in every `fact_hash` column: a rebuild that keeps the ledger encodes an
    /// event's rows before the ledger gives it the hash. The rows must have been made with `locatingFactHashes`.
    /// - Parameter hash: the fact hash.
    /// - Returns: the rows.
    func withFactHash(_ hash: UUID) -> FactRows {
        precondition(locatesFactHashes, "rows made without locatingFactHashes")
        guard !factHashes.isEmpty else { return self }
        var copy = self
        withUnsafeBytes(of: hash.uuid) { bytes in
            copy.fields.withUnsafeMutableBytes { fields in
                for offset in factHashes {
                    fields.baseAddress!.advanced(by: offset).copyMemory(from: bytes.baseAddress!, byteCount: 16)
                }
            }
        }
        return copy
    }

    /// Calls `body` with each row's table, field count and encoded fields, in the order they were added.
    func forEach(_ body: (FactTable, Int16, ArraySlice<UInt8>) -> Void) {
        var start = 0
        for row in rows {
            body(row.table, row.count, fields[start..<row.end])
            start = row.end
        }
    }
}

/// The COPY data of a batch, per table: rows encoded ahead of time, gathered.
struct CopyBatch {
    private var writers: [String: PostgresCopyWriter] = [:]
    private var order: [FactTable] = []

    /// Appends a row whose leading fields were encoded ahead of time, followed by `values`.
    /// - Parameters:
    ///   - table: the table.
    ///   - fields: the encoded leading fields.
    ///   - count: how many fields `fields` holds.
    ///   - values: the row's remaining values.
    mutating func row<each Value: PostgresCopyEncodable>(
        _ table: FactTable, encoded fields: ArraySlice<UInt8>, count: Int16, _ values: repeat each Value
    ) {
        if writers[table.name] == nil {
            writers[table.name] = PostgresCopyWriter()
            order.append(table)
        }
        writers[table.name]!.appendRow(encoded: fields, count: count, repeat each values)
    }

    /// Appends an event's fact rows.
    /// - Parameter rows: the rows.
    mutating func append(_ rows: FactRows) {
        rows.forEach { table, count, fields in row(table, encoded: fields, count: count) }
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
