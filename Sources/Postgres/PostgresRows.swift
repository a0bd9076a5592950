/// The rows a statement returned, copied out of libpq's result (nothing points into C memory).
public struct PostgresRows: Sendable, RandomAccessCollection {
    final class Storage: Sendable {
        let columns: [String]
        let types: [PostgresDataType]
        let rowCount: Int
        /// All values, one after another.
        let bytes: [UInt8]
        /// For cell `row * columns.count + column`: its start in `bytes` (`starts`) and length (-1 for NULL).
        let starts: [Int]
        let lengths: [Int32]

        init(
            columns: [String], types: [PostgresDataType], rowCount: Int, bytes: [UInt8], starts: [Int], lengths: [Int32]
        ) {
            self.columns = columns
            self.types = types
            self.rowCount = rowCount
            self.bytes = bytes
            self.starts = starts
            self.lengths = lengths
        }
    }

    let storage: Storage
    /// The number of rows inserted, updated, deleted, copied or selected, from the command tag (`PQcmdTuples`);
    /// 0 for statements that report none.
    public let rowsAffected: Int
    /// The command tag, such as `INSERT 0 3` or `SELECT 1`.
    public let commandTag: String

    init(storage: Storage, rowsAffected: Int, commandTag: String) {
        self.storage = storage
        self.rowsAffected = rowsAffected
        self.commandTag = commandTag
    }

    static func empty(commandTag: String = "", rowsAffected: Int = 0) -> PostgresRows {
        PostgresRows(
            storage: Storage(columns: [], types: [], rowCount: 0, bytes: [], starts: [], lengths: []),
            rowsAffected: rowsAffected,
            commandTag: commandTag
        )
    }

    /// The column names, in order.
    public var columns: [String] { storage.columns }
    /// The column types, in order.
    public var columnTypes: [PostgresDataType] { storage.types }
    /// The index of the first row (0).
    public var startIndex: Int { 0 }
    /// One past the index of the last row.
    public var endIndex: Int { storage.rowCount }

    /// The row at `position`.
    /// - Parameter position: a row index, `0..<count`.
    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < storage.rowCount, "row index out of range")
        return PostgresRow(storage: storage, row: position)
    }
}

/// One row of `PostgresRows`.
public struct PostgresRow: Sendable {
    let storage: PostgresRows.Storage
    let row: Int

    /// The column names, in order.
    public var columns: [String] { storage.columns }

    /// The raw value of a column.
    /// - Parameter column: the column index.
    /// - Returns: the cell.
    /// - Throws: `PostgresError` `.decoding` when there is no such column.
    public func cell(at column: Int) throws(PostgresError) -> PostgresCell {
        guard column >= 0, column < storage.columns.count else {
            throw PostgresError(.decoding, "no column \(column): the result has \(storage.columns.count) columns")
        }
        let index = row * storage.columns.count + column
        let length = Int(storage.lengths[index])
        let start = storage.starts[index]
        return PostgresCell(
            bytes: length < 0 ? nil : storage.bytes[start..<start + length],
            type: storage.types[column],
            columnName: storage.columns[column]
        )
    }

    /// Decodes the value of a column.
    /// - Parameters:
    ///   - type: the Swift type; use an `Optional` for columns that may be NULL.
    ///   - column: the column index, from 0.
    /// - Returns: the value.
    /// - Throws: `PostgresError` `.decoding` when the column does not exist, is NULL, or is not a valid `T`.
    public func decode<T: PostgresDecodable>(_ type: T.Type, at column: Int) throws(PostgresError) -> T {
        try T(postgresCell: try cell(at: column))
    }

    /// Decodes the value of the first column with this name.
    /// - Parameters:
    ///   - type: the Swift type; use an `Optional` for columns that may be NULL.
    ///   - column: the column name, as the result names it.
    /// - Returns: the value.
    /// - Throws: `PostgresError` `.decoding` when there is no such column, or the value is NULL or not a valid `T`.
    public func decode<T: PostgresDecodable>(_ type: T.Type, column: String) throws(PostgresError) -> T {
        guard let index = storage.columns.firstIndex(of: column) else {
            throw PostgresError(.decoding, "no column named \"\(column)\" in the result")
        }
        return try decode(type, at: index)
    }
}
