public import Foundation
public import Postgres

/// One row of a citizen's access log: a request that named the citizen among its subjects.
public struct CitizenAccessEntry: Sendable, Hashable {
    /// The row's position in the audit chain.
    public var seq: Int64
    /// When it was written, in microseconds since the Unix epoch.
    public var recordedAtMicroseconds: Int64
    /// Who asked, as the audit log names it (a registered client's id, or a name such as `-` for a request refused
    /// before its client was known).
    public var clientID: String
    /// The registered client's name, when `clientID` is a registered client.
    public var clientName: String?
    /// The purpose given.
    public var purpose: String
    /// What was asked, e.g. `kinship`.
    public var question: String
    /// The citizen ID of a relative who made the request for the subject, if one did.
    public var onBehalfOf: String?
    /// What became of the request.
    public var outcome: AuditOutcome
    /// The HTTP status given.
    public var status: Int

    /// When it was written.
    public var recordedAt: Date { Date(timeIntervalSince1970: Double(recordedAtMicroseconds) / 1_000_000) }
}

/// A page of a citizen's access log, newest first.
public struct CitizenAccessPage: Sendable, Hashable {
    /// The rows, newest first.
    public var entries: [CitizenAccessEntry]
    /// The `seq` to pass as `before` for the next page, or `nil` when this is the last page.
    public var nextBefore: Int64?
}

extension AuditLog {
    /// A page of who asked about a citizen: the rows whose subjects contain the citizen ID (and no other row), newest
    /// first, each with the asking client's registered name.
    ///
    /// Paging by `seq` is stable while rows are appended: a later page never repeats or skips a row.
    /// - Parameters:
    ///   - citizenID: the citizen.
    ///   - limit: the most rows to return (at least 1).
    ///   - before: only rows with a smaller `seq`, or `nil` for the newest.
    ///   - client: the pool on the migrated database.
    /// - Returns: the page, with the `seq` to continue from when there are older rows.
    /// - Throws: `PostgresError` (`.decoding` for a row whose outcome is not one of ``AuditOutcome``).
    public static func accessLog(
        of citizenID: String, limit: Int, before: Int64? = nil, on client: PostgresClient
    ) async throws -> CitizenAccessPage {
        let limit = max(1, limit)
        // One row more than asked: whether there is a next page.
        let rows = try await client.query(
            """
            SELECT a.seq, (extract(epoch FROM a.recorded_at) * 1000000)::int8, a.client_id, c.name, a.purpose,
                a.question, a.on_behalf_of, a.outcome, a.status
            FROM tongban.audit_log a
            LEFT JOIN tongban.api_client c ON c.client_id = a.client_id
            WHERE a.subjects @> \([citizenID])::text[] AND a.seq < \(before ?? Int64.max)
            ORDER BY a.seq DESC
            LIMIT \(Int64(limit) + 1)
            """)
        var entries: [CitizenAccessEntry] = []
        entries.reserveCapacity(min(rows.count, limit))
        for row in rows.prefix(limit) {
            let seq = try row.decode(Int64.self, at: 0)
            let outcomeText = try row.decode(String.self, at: 7)
            guard let outcome = AuditOutcome(rawValue: outcomeText) else {
                throw PostgresError(.decoding, "audit row \(seq) has an unknown outcome")
            }
            entries.append(
                CitizenAccessEntry(
                    seq: seq, recordedAtMicroseconds: try row.decode(Int64.self, at: 1),
                    clientID: try row.decode(String.self, at: 2), clientName: try row.decode(String?.self, at: 3),
                    purpose: try row.decode(String.self, at: 4), question: try row.decode(String.self, at: 5),
                    onBehalfOf: try row.decode(String?.self, at: 6), outcome: outcome,
                    status: Int(try row.decode(Int32.self, at: 8))))
        }
        return CitizenAccessPage(entries: entries, nextBefore: rows.count > limit ? entries.last?.seq : nil)
    }
}
