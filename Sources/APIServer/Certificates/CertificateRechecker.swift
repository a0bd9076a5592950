import Events
import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Revokes certificates whose basis a later event took away: the streams themselves revoke.
///
/// Every `interval` it looks at the events applied since its position (per partition, `tongban.recheck_position`),
/// finds the valid certificates that name what those events name (a citizen ID, a title number, a filing id:
/// `tongban.event_keys()` against `certificate.watch`), asks each certificate's question again (as of its as-of day,
/// or today for one stating what holds now), and revokes it, naming the event, when something it states no longer
/// holds (``ClaimsHolding``). A certificate issued from views older than the re-checker's position is caught up once
/// against the events in between.
///
/// Not while the views are being rebuilt (`view_state()` not ready): re-checks wait. Once the views are ready at a
/// generation the re-checker has not seen (a rebuild adds one), every valid certificate is re-checked once, and the
/// position moves to where the views are.
///
/// Several servers may run it: a round holds the row of `tongban.views_generation` (`FOR UPDATE SKIP LOCKED`), so one
/// server re-checks at a time and the others skip the round.
struct CertificateRechecker: Service {
    let database: PostgresClient
    let logger: Logger
    var asker = CertificateAsker()
    /// How often it looks.
    var interval: Duration = .milliseconds(100)
    /// The view group whose checkpoints say what has been applied.
    var viewGroup = "tongban.views"
    /// Today, Beijing time.
    var today: @Sendable () -> CivilDate = { CertificateServicesAPI.beijingToday() }

    /// What a round did.
    struct Round: Sendable, Equatable {
        var rechecked = 0
        var revoked = 0
        var skipped: String?
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let round = try await self.round()
                if round.revoked > 0 {
                    logger.info(
                        "certificates revoked by the streams",
                        metadata: ["revoked": "\(round.revoked)", "rechecked": "\(round.rechecked)"])
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("certificate re-check failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One round.
    /// - Returns: what it did.
    /// - Throws: `PostgresError`.
    func round() async throws -> Round {
        try await database.withTransaction { connection in
            let state = try await connection.query("SELECT ready FROM tongban.view_state()")
            guard try state.first?.decode(Bool.self, at: 0) == true else {
                return Round(skipped: "views not ready")
            }
            let generations = try await connection.query(
                "SELECT generation, rechecked_generation FROM tongban.views_generation FOR UPDATE SKIP LOCKED")
            guard let row = generations.first else { return Round(skipped: "another server is re-checking") }
            let generation = try row.decode(Int64.self, at: 0)
            if generation != (try row.decode(Int64.self, at: 1)) {
                return try await afterRebuild(generation: generation, on: connection)
            }
            // A partition seen for the first time starts where the views are while no certificate exists (nothing
            // can rest on what came before); once certificates exist, at its first event: a certificate issued
            // before the partition had a checkpoint does not name it in its read position, and the events applied
            // there since may take its basis away.
            try await connection.execute(
                """
                INSERT INTO tongban.recheck_position (topic, partition, next_offset)
                SELECT topic, partition,
                    CASE WHEN EXISTS (SELECT 1 FROM tongban.certificate) THEN 0 ELSE next_offset END
                FROM tongban.checkpoint WHERE view_group = \(viewGroup)
                ON CONFLICT DO NOTHING
                """)
            var round = Round()
            // Certificates read from views older than the position: the events in between, once. (Only those seen
            // now are marked: one stored meanwhile is caught up in the next round.)
            let freshIDs = try await connection.query(
                "SELECT certificate_id FROM tongban.certificate WHERE NOT caught_up"
            ).map { try $0.decode(UUID.self, at: 0) }
            var causes: [UUID: UUID] = [:]
            if !freshIDs.isEmpty {
                // Each certificate's window is read through the position index (a LATERAL range scan): a join
                // would let the planner hash every event below the position against every fresh certificate.
                let fresh = try await connection.query(
                    """
                    SELECT c.certificate_id, e.event_id
                    FROM tongban.certificate c
                    CROSS JOIN LATERAL jsonb_to_recordset(c.read_position)
                        AS p(topic text, partition int, "nextOffset" bigint)
                    JOIN tongban.recheck_position r ON r.topic = p.topic AND r.partition = p.partition
                        AND p."nextOffset" < r.next_offset
                    CROSS JOIN LATERAL (
                        SELECT x.event_id, x.applied_at, x.message_offset, x.envelope, x.subject
                        FROM tongban.event x
                        WHERE x.topic = p.topic AND x.partition = p.partition
                            AND x.message_offset >= p."nextOffset" AND x.message_offset < r.next_offset
                        ORDER BY x.message_offset
                    ) e
                    WHERE c.certificate_id = ANY(\(freshIDs)) AND c.revoked_at IS NULL
                        AND c.watch && tongban.event_keys(e.envelope, e.subject)
                    ORDER BY c.certificate_id, e.applied_at, e.message_offset
                    """)
                for row in fresh {
                    let id = try row.decode(UUID.self, at: 0)
                    if causes[id] == nil { causes[id] = try row.decode(UUID.self, at: 1) }
                }
                try await connection.execute(
                    "UPDATE tongban.certificate SET caught_up = true WHERE certificate_id = ANY(\(freshIDs))")
            }
            // The events applied since the position, and the certificates they name.
            let moved = try await connection.query(
                """
                WITH span AS (
                    SELECT r.topic, r.partition, r.next_offset AS from_offset, c.next_offset AS to_offset
                    FROM tongban.recheck_position r
                    JOIN tongban.checkpoint c ON c.view_group = \(viewGroup) AND c.topic = r.topic
                        AND c.partition = r.partition
                    WHERE c.next_offset > r.next_offset
                ), applied AS (
                    SELECT e.event_id, e.applied_at, e.message_offset, tongban.event_keys(e.envelope, e.subject) AS keys
                    FROM span s JOIN tongban.event e ON e.topic = s.topic AND e.partition = s.partition
                        AND e.message_offset >= s.from_offset AND e.message_offset < s.to_offset
                ), advanced AS (
                    UPDATE tongban.recheck_position r SET next_offset = s.to_offset
                    FROM span s WHERE r.topic = s.topic AND r.partition = s.partition
                )
                SELECT c.certificate_id, a.event_id
                FROM applied a
                JOIN tongban.certificate c ON c.revoked_at IS NULL AND c.watch && a.keys
                ORDER BY c.certificate_id, a.applied_at, a.message_offset
                """)
            for row in moved {
                let id = try row.decode(UUID.self, at: 0)
                if causes[id] == nil { causes[id] = try row.decode(UUID.self, at: 1) }
            }
            let (rechecked, revoked) = try await recheck(
                causes.sorted { $0.key.uuidString < $1.key.uuidString }.map { ($0.key, $0.value) }, on: connection)
            round.rechecked = rechecked
            round.revoked = revoked
            return round
        }
    }

    /// After a rebuild: every valid certificate once, then the position moves to where the views are.
    private func afterRebuild(generation: Int64, on connection: PostgresConnection) async throws -> Round {
        let valid = try await connection.query(
            "SELECT certificate_id FROM tongban.certificate WHERE revoked_at IS NULL ORDER BY certificate_id"
        ).map { try $0.decode(UUID.self, at: 0) }
        let (rechecked, revoked) = try await recheck(valid.map { ($0, nil) }, on: connection)
        let round = Round(rechecked: rechecked, revoked: revoked)
        try await connection.execute(
            """
            INSERT INTO tongban.recheck_position (topic, partition, next_offset)
            SELECT topic, partition, next_offset FROM tongban.checkpoint WHERE view_group = \(viewGroup)
            ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset
            """)
        try await connection.execute(
            "UPDATE tongban.certificate SET caught_up = true WHERE certificate_id = ANY(\(valid))")
        try await connection.execute(
            "UPDATE tongban.views_generation SET rechecked_generation = \(generation)")
        logger.info(
            "certificates re-checked after a rebuild",
            metadata: ["rechecked": "\(round.rechecked)", "revoked": "\(round.revoked)"])
        return round
    }

    /// Asks the certificates' questions again; revokes each one whose statements no longer hold. The certificates
    /// and their causing events' types are read a thousand at a time, one statement each.
    /// - Parameters:
    ///   - certificates: each certificate with the event that named it (`nil` after a rebuild).
    ///   - connection: the round's connection.
    /// - Returns: how many were still valid and asked again, and how many of those were revoked.
    private func recheck(_ certificates: [(id: UUID, cause: UUID?)], on connection: PostgresConnection) async throws
        -> (rechecked: Int, revoked: Int)
    {
        var rechecked = 0
        var revoked = 0
        for start in stride(from: 0, to: certificates.count, by: 1000) {
            let chunk = certificates[start..<min(start + 1000, certificates.count)]
            let rows = try await connection.query(
                """
                SELECT c.certificate_id, c.question::text, c.as_of::text, c.claims::text, e.type
                FROM unnest(\(chunk.map(\.id))::uuid[], \(chunk.map { $0.cause?.uuidString ?? "" })::text[])
                    AS v(id, cause)
                JOIN tongban.certificate c ON c.certificate_id = v.id AND c.revoked_at IS NULL
                LEFT JOIN tongban.event e ON e.event_id = nullif(v.cause, '')::uuid
                """)
            let causes = Dictionary(chunk.map { ($0.id, $0.cause) }, uniquingKeysWith: { first, _ in first })
            for row in rows {
                let id = try row.decode(UUID.self, at: 0)
                let question = try JSONDecoder().decode(
                    CertificateQuestion.self, from: Data(try row.decode(String.self, at: 1).utf8))
                let day = try row.decode(String?.self, at: 2).flatMap { CivilDate($0) } ?? today()
                let claims = try JSONParser.parse(try row.decode(String.self, at: 3))
                rechecked += 1
                let answer = try await asker.ask(question, on: day, database: database)
                guard answer.ready, let broken = ClaimsHolding.firstBroken(old: claims, new: answer.claims) else {
                    continue
                }
                let cause = causes[id] ?? nil
                let reason =
                    if let cause, let type = try row.decode(String?.self, at: 4) {
                        "\(type) (event \(cause.uuidString.lowercased())) took away what the certificate states: \(broken)"
                    } else {
                        "a rebuild of the views changed what the certificate states: \(broken)"
                    }
                let changed = try await connection.query(
                    CertificateStore.changeStatement(.revoke, id, reason, "stream", cause))
                revoked += changed.count
            }
        }
        return (rechecked, revoked)
    }
}
