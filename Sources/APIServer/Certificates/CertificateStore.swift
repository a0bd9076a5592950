package import Foundation
package import Postgres

/// A certificate's status now, as its row says.
struct StoredStatus: Sendable, Hashable {
    enum State: String, Sendable { case valid, suspended, revoked }
    var state: State
    var reason: String?
    var changedAt: Date?
    var causedBy: UUID?
    var changedBy: String?
}

/// A certificate as stored.
struct StoredCertificate: Sendable {
    var id: UUID
    var question: CertificateQuestion
    var asOf: String?
    var claims: String
    var credential: String
    var clientID: String
    var issuedAt: Date
    var validUntil: Date
    var status: StoredStatus
    /// The kind, as its question says.
    var kind: CertificateKind { question.kind }
    /// The type of the event that revoked it, when the streams did.
    var causedByType: String?
}

/// Where a new certificate's status bits are: the lists of a pair and the index in both.
struct StatusSlot: Sendable, Hashable {
    var revocationList: Int
    var suspensionList: Int
    var index: Int
}

/// The certificates' tables (`tongban.certificate`, `tongban.status_list`, `tongban.certificate_status_change`).
///
/// A status list's bits are derived from the certificates' rows when the list is read; a change of status is an
/// UPDATE of one row, so changes made at once by several processes never overwrite each other.
package actor CertificateStore {
    /// Entries per list: the Bitstring Status List minimum for herd privacy.
    static let listSize = 131_072
    /// A pair takes certificates until it is this full, so that a random index is found in a draw or two.
    static let fillLimit = listSize / 2

    let database: PostgresClient
    private var pair: (revocation: Int, suspension: Int)?
    private var issuedSinceCount = 0
    private var generator = SystemRandomNumberGenerator()

    init(database: PostgresClient) { self.database = database }

    /// A slot drawn at random in the current pair of lists (a new pair once it is half full).
    /// - Returns: the slot; it is taken only when ``insert(_:slot:)`` succeeds with it.
    /// - Throws: `PostgresError`.
    func drawSlot() async throws -> StatusSlot {
        if pair == nil || issuedSinceCount >= 1024 {
            try await refreshPair()
        }
        guard let pair else { throw CertificateStoreError.noStatusList }
        issuedSinceCount += 1
        return StatusSlot(
            revocationList: pair.revocation, suspensionList: pair.suspension,
            index: Int.random(in: 0..<Self.listSize, using: &generator))
    }

    /// Reads the newest pair, and opens a new pair when it is past the fill limit (under a lock, so that two
    /// processes open one pair between them).
    private func refreshPair() async throws {
        let found = try await database.withTransaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtext('tongban.status_list'))")
            let newest = try await connection.query(
                """
                SELECT r.list_number, s.list_number,
                    (SELECT count(*) FROM tongban.certificate c WHERE c.revocation_list = r.list_number)
                FROM tongban.status_list r
                JOIN tongban.status_list s ON s.pair_number = r.list_number AND s.purpose = 'suspension'
                WHERE r.purpose = 'revocation' ORDER BY r.list_number DESC LIMIT 1
                """)
            if let row = newest.first, try row.decode(Int64.self, at: 2) < Int64(Self.fillLimit) {
                return (try row.decode(Int.self, at: 0), try row.decode(Int.self, at: 1))
            }
            let created = try await connection.query(
                """
                WITH n AS (SELECT coalesce(max(list_number), 0) + 1 AS r FROM tongban.status_list)
                INSERT INTO tongban.status_list (list_number, purpose, size, pair_number)
                SELECT n.r, 'revocation', \(Self.listSize), n.r FROM n
                UNION ALL SELECT n.r + 1, 'suspension', \(Self.listSize), n.r FROM n
                RETURNING list_number
                """)
            let numbers = try created.map { try $0.decode(Int.self, at: 0) }.sorted()
            return (numbers[0], numbers[1])
        }
        pair = found
        issuedSinceCount = 0
    }

    /// Stores a signed certificate in its slot.
    /// - Returns: false when the slot was taken meanwhile (draw another and sign again).
    /// - Throws: `PostgresError`.
    func insert(_ certificate: StoredCertificate, watch: [String], readAt position: String, slot: StatusSlot)
        async throws -> Bool
    {
        let question = String(decoding: try JSONEncoder().encode(certificate.question), as: UTF8.self)
        let inserted = try await database.execute(
            """
            INSERT INTO tongban.certificate (certificate_id, kind, question, as_of, claims, watch, credential,
                client_id, issued_at, valid_until, revocation_list, suspension_list, status_index, read_position)
            VALUES (\(certificate.id), \(certificate.kind.rawValue), \(question)::jsonb, \(certificate.asOf)::date,
                \(certificate.claims)::jsonb, \(watch)::text[], \(certificate.credential), \(certificate.clientID),
                \(certificate.issuedAt), \(certificate.validUntil), \(slot.revocationList), \(slot.suspensionList),
                \(slot.index), \(position)::jsonb)
            ON CONFLICT (revocation_list, status_index) DO NOTHING
            """)
        return inserted == 1
    }

    /// A certificate by id.
    /// - Throws: `PostgresError`.
    func certificate(_ id: UUID) async throws -> StoredCertificate? {
        let rows = try await database.query(
            """
            SELECT c.certificate_id, c.kind, c.question::text, c.as_of::text, c.claims::text, c.credential,
                c.client_id, c.issued_at, c.valid_until, c.revoked_at, c.revocation_reason, c.revoked_by,
                c.revoked_by_event, c.suspended_at, c.suspension_reason, c.suspended_by,
                (SELECT e.type FROM tongban.event e WHERE e.event_id = c.revoked_by_event)
            FROM tongban.certificate c WHERE c.certificate_id = \(id)
            """)
        guard let row = rows.first else { return nil }
        var status = StoredStatus(state: .valid)
        if let revokedAt = try row.decode(Date?.self, at: 9) {
            status = StoredStatus(
                state: .revoked, reason: try row.decode(String?.self, at: 10), changedAt: revokedAt,
                causedBy: try row.decode(UUID?.self, at: 12), changedBy: try row.decode(String?.self, at: 11))
        } else if let suspendedAt = try row.decode(Date?.self, at: 13) {
            status = StoredStatus(
                state: .suspended, reason: try row.decode(String?.self, at: 14), changedAt: suspendedAt,
                changedBy: try row.decode(String?.self, at: 15))
        }
        let question = try JSONDecoder().decode(
            CertificateQuestion.self, from: Data(try row.decode(String.self, at: 2).utf8))
        return StoredCertificate(
            id: try row.decode(UUID.self, at: 0),
            question: question,
            asOf: try row.decode(String?.self, at: 3), claims: try row.decode(String.self, at: 4),
            credential: try row.decode(String.self, at: 5), clientID: try row.decode(String.self, at: 6),
            issuedAt: try row.decode(Date.self, at: 7), validUntil: try row.decode(Date.self, at: 8), status: status,
            causedByType: try row.decode(String?.self, at: 16))
    }

    /// A change of status asked for.
    package enum Change: String, Sendable { case revoke, suspend, reinstate }

    /// Applies a change of status, recording it; a revoked certificate stays revoked.
    /// - Parameters:
    ///   - change: what to do.
    ///   - id: the certificate.
    ///   - reason: why, in plain words.
    ///   - by: `stream`, `client:<id>` or `operator`.
    ///   - event: the event that took the basis away (stream revocations).
    ///   - connection: run on this connection (the re-checker's transaction) instead of the pool.
    /// - Returns: whether the status changed (false when it already was so, or the certificate is revoked).
    /// - Throws: `PostgresError`.
    @discardableResult
    nonisolated func apply(
        _ change: Change, to id: UUID, reason: String, by: String, event: UUID? = nil
    ) async throws -> Bool {
        let rows = try await database.query(Self.changeStatement(change, id, reason, by, event))
        return rows.count == 1
    }

    /// The statement of ``apply(_:to:reason:by:event:)``: one UPDATE of the certificate's row and the record of the
    /// change, in one statement.
    package nonisolated static func changeStatement(
        _ change: Change, _ id: UUID, _ reason: String, _ by: String, _ event: UUID?
    ) -> PostgresQuery {
        switch change {
        case .revoke:
            return """
                WITH changed AS (
                    UPDATE tongban.certificate SET revoked_at = clock_timestamp(), revocation_reason = \(reason),
                        revoked_by = \(by), revoked_by_event = \(event)
                    WHERE certificate_id = \(id) AND revoked_at IS NULL RETURNING certificate_id
                ), recorded AS (
                    INSERT INTO tongban.certificate_status_change (certificate_id, action, reason, changed_by,
                        caused_by_event, event_applied_at)
                    SELECT certificate_id, 'revoke', \(reason), \(by), \(event),
                        (SELECT applied_at FROM tongban.event WHERE event_id = \(event))
                    FROM changed
                )
                SELECT certificate_id FROM changed
                """
        case .suspend:
            return """
                WITH changed AS (
                    UPDATE tongban.certificate SET suspended_at = clock_timestamp(), suspension_reason = \(reason),
                        suspended_by = \(by)
                    WHERE certificate_id = \(id) AND revoked_at IS NULL AND suspended_at IS NULL
                    RETURNING certificate_id
                ), recorded AS (
                    INSERT INTO tongban.certificate_status_change (certificate_id, action, reason, changed_by)
                    SELECT certificate_id, 'suspend', \(reason), \(by) FROM changed
                )
                SELECT certificate_id FROM changed
                """
        case .reinstate:
            return """
                WITH changed AS (
                    UPDATE tongban.certificate SET suspended_at = NULL, suspension_reason = NULL, suspended_by = NULL
                    WHERE certificate_id = \(id) AND revoked_at IS NULL AND suspended_at IS NOT NULL
                    RETURNING certificate_id
                ), recorded AS (
                    INSERT INTO tongban.certificate_status_change (certificate_id, action, reason, changed_by)
                    SELECT certificate_id, 'reinstate', \(reason), \(by) FROM changed
                )
                SELECT certificate_id FROM changed
                """
        }
    }

    /// A status list: its purpose and the indexes whose bit is set.
    struct ListBits: Sendable {
        var purpose: String
        var size: Int
        var setIndexes: [Int]
    }

    /// The bits of list `number`, read from the certificates now.
    /// - Returns: `nil` when there is no such list.
    /// - Throws: `PostgresError`.
    nonisolated func listBits(_ number: Int) async throws -> ListBits? {
        let rows = try await database.query(
            """
            SELECT l.purpose, l.size, CASE l.purpose
                WHEN 'revocation' THEN ARRAY(SELECT c.status_index::bigint FROM tongban.certificate c
                    WHERE c.revocation_list = l.list_number AND c.revoked_at IS NOT NULL ORDER BY 1)
                ELSE ARRAY(SELECT c.status_index::bigint FROM tongban.certificate c
                    WHERE c.suspension_list = l.list_number AND c.suspended_at IS NOT NULL ORDER BY 1)
                END
            FROM tongban.status_list l WHERE l.list_number = \(number)
            """)
        guard let row = rows.first else { return nil }
        return ListBits(
            purpose: try row.decode(String.self, at: 0), size: try row.decode(Int.self, at: 1),
            setIndexes: try row.decode([Int64].self, at: 2).map(Int.init))
    }
}

/// The certificates' tables cannot be used.
enum CertificateStoreError: Error, CustomStringConvertible {
    case noStatusList
    var description: String { "no status list could be opened" }
}
