/// A table the projectors write, with the columns of its rows in the order the rows give them.
struct FactTable: Sendable, Hashable {
    /// The table name in the `tongban` schema.
    let name: String
    /// The columns, in row order.
    let columns: [String]
    /// The index of the `fact_hash` column, if the table has one.
    let factHashColumn: Int?

    /// Creates a table.
    /// - Parameters:
    ///   - name: the table name in the `tongban` schema.
    ///   - columns: the columns, in row order.
    init(name: String, columns: [String]) {
        self.name = name
        self.columns = columns
        self.factHashColumn = columns.firstIndex(of: "fact_hash")
    }

    /// A fact table whose rows end with the provenance columns every fact row has: `effective_time`, `event_id`,
    /// `fact_hash` (see `schemas/migrations/0002_facts.sql`).
    /// - Parameters:
    ///   - name: the table.
    ///   - facts: the columns before the provenance columns.
    static func facts(_ name: String, _ facts: [String]) -> FactTable {
        FactTable(name: name, columns: facts + ["effective_time", "event_id", "fact_hash"])
    }

    /// The name qualified by `schema` (`tongban`, or a shadow copy's schema: a plain identifier).
    /// - Parameter schema: the schema.
    /// - Returns: `schema.name`.
    func qualifiedName(in schema: String) -> String { schema + "." + name }
}
