public import Postgres

/// The first row at which the audit chain is broken, and why.
public struct AuditBreak: Sendable, Hashable, CustomStringConvertible {
    /// How the chain is broken.
    public enum Reason: Sendable, Hashable {
        /// Rows are missing: the row after `previous` (0: the chain's start) is `found`, not `previous + 1`.
        /// ``AuditBreak/seq`` is the first missing row.
        case missing(previous: Int64, found: Int64)
        /// The row's `previous_hash` is not the hash of the row before it: a row before it was removed, replaced or
        /// moved (rows reordered).
        case previousHashMismatch
        /// The row's content does not hash to its `hash`: the row was altered.
        case hashMismatch
    }

    /// The first broken row (for missing rows, the first that is missing).
    public var seq: Int64
    /// Why.
    public var reason: Reason

    /// Creates a break.
    /// - Parameters:
    ///   - seq: the first broken row.
    ///   - reason: why.
    public init(seq: Int64, reason: Reason) {
        self.seq = seq
        self.reason = reason
    }

    /// The break in plain words, naming the row.
    public var description: String {
        switch reason {
        case .missing(let previous, let found) where found - previous == 2:
            "row \(seq) is missing (deleted?): " + (previous == 0 ? "the chain starts" : "row \(previous) is followed")
                + " at row \(found)"
        case .missing(let previous, let found):
            "rows \(seq)…\(found - 1) are missing (deleted?): "
                + (previous == 0 ? "the chain starts" : "row \(previous) is followed") + " at row \(found)"
        case .previousHashMismatch:
            "row \(seq): its previous_hash is not the hash of row \(seq - 1) (a row removed, replaced or reordered)"
        case .hashMismatch:
            "row \(seq): its content does not match its hash (the row was altered)"
        }
    }
}

/// What a walk over the whole audit chain found.
public struct AuditVerification: Sendable, Hashable {
    /// The rows checked and found intact (all of them when the chain is intact; those before the break otherwise).
    public var intactRows: Int
    /// The last intact row's `seq`, or `nil` when none is.
    public var lastSeq: Int64?
    /// The last intact row's hash, or `nil` when none is.
    public var lastHash: [UInt8]?
    /// The first broken row, or `nil` when the chain is intact.
    public var firstBreak: AuditBreak?

    /// Whether every row is intact.
    public var isIntact: Bool { firstBreak == nil }

    /// Creates a result.
    /// - Parameters:
    ///   - intactRows: the rows found intact.
    ///   - lastSeq: the last intact row's seq.
    ///   - lastHash: the last intact row's hash.
    ///   - firstBreak: the first broken row, if any.
    public init(intactRows: Int, lastSeq: Int64?, lastHash: [UInt8]?, firstBreak: AuditBreak?) {
        self.intactRows = intactRows
        self.lastSeq = lastSeq
        self.lastHash = lastHash
        self.firstBreak = firstBreak
    }
}

extension AuditLog {
    /// The columns every read takes, in ``AuditRow`` order (the time in microseconds since the Unix epoch, exact).
    static let rowColumns = """
        seq, (extract(epoch FROM recorded_at) * 1000000)::int8, client_id, purpose, on_behalf_of, subjects, question, \
        answer_summary, outcome, status, previous_hash, hash
        """

    static func row(_ row: PostgresRow) throws -> AuditRow {
        AuditRow(
            seq: try row.decode(Int64.self, at: 0), recordedAtMicroseconds: try row.decode(Int64.self, at: 1),
            clientID: try row.decode(String.self, at: 2), purpose: try row.decode(String.self, at: 3),
            onBehalfOf: try row.decode(String?.self, at: 4), subjects: try row.decode([String].self, at: 5),
            question: try row.decode(String.self, at: 6), answerSummary: try row.decode(String.self, at: 7),
            outcome: try row.decode(String.self, at: 8), status: try row.decode(Int32.self, at: 9),
            previousHash: try row.decode([UInt8].self, at: 10), hash: try row.decode([UInt8].self, at: 11))
    }

    /// Walks the whole chain in `seq` order, a page at a time, recomputes every hash, and stops at the first broken
    /// row.
    ///
    /// Memory stays bounded by the page, whatever the table's size. Rows appended while it walks are checked too.
    /// Removing the last rows (or all of them) leaves a shorter chain that is intact: compare the last hash with one
    /// recorded elsewhere to tell.
    /// - Parameters:
    ///   - client: the pool on the migrated database.
    ///   - pageSize: the rows read per query.
    /// - Returns: how many rows are intact, the last intact row, and the first break.
    /// - Throws: `PostgresError`.
    public static func verify(on client: PostgresClient, pageSize: Int = 1000) async throws -> AuditVerification {
        try await client.withConnection { connection in
            var lastSeq: Int64 = 0
            var lastHash = AuditChain.genesis
            var intact = 0
            func result(_ problem: AuditBreak?) -> AuditVerification {
                AuditVerification(
                    intactRows: intact, lastSeq: intact > 0 ? lastSeq : nil, lastHash: intact > 0 ? lastHash : nil,
                    firstBreak: problem)
            }
            while true {
                let rows = try await connection.query(
                    """
                    SELECT \(unescaped: rowColumns) FROM tongban.audit_log
                    WHERE seq > \(lastSeq) ORDER BY seq LIMIT \(Int64(max(1, pageSize)))
                    """)
                if rows.isEmpty { return result(nil) }
                for stored in rows {
                    let row = try Self.row(stored)
                    if row.seq != lastSeq + 1 {
                        return result(
                            AuditBreak(seq: lastSeq + 1, reason: .missing(previous: lastSeq, found: row.seq)))
                    }
                    if row.previousHash != lastHash {
                        return result(AuditBreak(seq: row.seq, reason: .previousHashMismatch))
                    }
                    if AuditChain.hash(previous: row.previousHash, row: row) != row.hash {
                        return result(AuditBreak(seq: row.seq, reason: .hashMismatch))
                    }
                    lastSeq = row.seq
                    lastHash = row.hash
                    intact += 1
                }
            }
        }
    }

    /// Who asked about a person: the requests that named the citizen ID among their subjects, newest first.
    /// - Parameters:
    ///   - citizenID: the person's citizen ID.
    ///   - limit: the most to return.
    ///   - client: the pool on the migrated database.
    /// - Returns: the rows, newest first: client, purpose, question, outcome, on whose behalf, when.
    /// - Throws: `PostgresError` (`.decoding` for a row whose outcome is not one of ``AuditOutcome``).
    public static func entries(about citizenID: String, limit: Int, on client: PostgresClient) async throws
        -> [AuditRecord]
    {
        let rows = try await client.query(
            """
            SELECT \(unescaped: rowColumns) FROM tongban.audit_log
            WHERE subjects @> \([citizenID])::text[] ORDER BY seq DESC LIMIT \(Int64(max(0, limit)))
            """)
        return try rows.map { stored in
            let row = try Self.row(stored)
            guard let outcome = AuditOutcome(rawValue: row.outcome) else {
                throw PostgresError(.decoding, "audit row \(row.seq) has an unknown outcome")
            }
            return AuditRecord(
                seq: row.seq, recordedAtMicroseconds: row.recordedAtMicroseconds,
                entry: AuditEntry(
                    clientID: row.clientID, purpose: row.purpose, onBehalfOf: row.onBehalfOf, subjects: row.subjects,
                    question: row.question, answerSummary: row.answerSummary, outcome: outcome,
                    status: Int(row.status)),
                previousHash: row.previousHash, hash: row.hash)
        }
    }
}
