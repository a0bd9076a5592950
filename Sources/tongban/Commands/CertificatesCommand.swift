import API
import APIServer
import ArgumentParser
import Events
import Foundation
import Logging
import Postgres

/// `tongban certificates`: the certificates the hub has issued (`tongban.certificate`), and an operator's revocation,
/// suspension or reinstatement of one, each recorded in `tongban.certificate_status_change` and in the audit log.
struct CertificatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificates",
        abstract: "List and show the certificates issued; revoke, suspend or reinstate one by hand (audited).",
        discussion: """
            Reads and writes tongban.certificate (needs PostgreSQL: DATABASE_URL or PG*), applying pending migrations \
            first. A change of status is one UPDATE of the certificate's row, recorded in \
            tongban.certificate_status_change with changed_by "operator", and appended to the audit log (client \
            "operator", question "certificate-status", the certificate's subject) before it commits: a change whose \
            audit entry cannot be written is not made. A refused change (a revoked certificate cannot be suspended \
            or reinstated; a suspended one cannot be suspended again) is audited too, changes nothing and exits 1. \
            The status lists follow at once: their bits are read from the certificates' rows when they are served.
            """,
        subcommands: [List.self, Show.self, Revoke.self, Suspend.self, Reinstate.self]
    )

    /// A certificate's status, as the operator commands filter and show it.
    enum Status: String, CaseIterable, Codable, ExpressibleByArgument {
        case valid, suspended, revoked
    }

    /// `tongban certificates list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the latest certificates: id, kind, status, when issued, client, subject (masked).",
            discussion: """
                Newest first. The subject's citizen ID is masked (region and last four characters); `show` prints \
                it whole. With --json, one JSON array of the certificates (dates in ISO 8601, UTC).
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only the certificates this client issued (its client id, tbc_…).")
        var client: String?

        @Option(help: "Only those with this status: valid, suspended or revoked.")
        var status: Status?

        @Option(help: "The most to print (1 to 10000).")
        var limit = 50

        @Flag(help: "Print one JSON array instead of lines.")
        var json = false

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000") }
            if let client, client.isEmpty { throw ValidationError("--client must name a client id") }
        }

        func run() async throws {
            try await global.withDatabase(label: "tongban.certificates") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Prints the certificates, newest first.
        /// - Parameters:
        ///   - database: the pool.
        ///   - logger: for the migrations.
        ///   - say: where each line goes.
        /// - Throws: `PostgresError`, or what encoding JSON throws.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            try await applyMigrations(database, logger: logger) { json ? logger.notice("\($0)") : say($0) }
            let found = try await CertificatesCommand.certificates(
                id: nil, client: client, status: status, limit: limit, on: database
            ).map(\.masked)
            if json {
                say(try CertificatesCommand.json(found))
                return
            }
            var filters: [String] = []
            if let client { filters.append("client \(EventViolation.printable(client))") }
            if let status { filters.append("status \(status.rawValue)") }
            let among = filters.isEmpty ? "" : " (" + filters.joined(separator: ", ") + ")"
            guard !found.isEmpty else {
                say("no certificates\(among)")
                return
            }
            let rows =
                [["ID", "KIND", "STATUS", "ISSUED", "CLIENT", "SUBJECT"]]
                + found.map {
                    [
                        $0.id, $0.kind, $0.status.rawValue, ClientsCommand.timestamp($0.issuedAt),
                        EventViolation.printable($0.client),
                        EventViolation.printable($0.subject),
                    ]
                }
            for line in CertificatesCommand.table(rows) { say(line) }
            say(
                found.count == limit
                    ? "the \(limit) latest certificates\(among) (--limit)"
                    : "\(found.count) certificate\(found.count == 1 ? "" : "s")\(among)")
        }
    }

    /// `tongban certificates show`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one certificate: its question, status, reason, the event that caused it, every change.",
            discussion: "Citizen IDs are printed whole: this is the operator's view. With --json, one JSON object.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The certificate's id (a UUID), as `tongban certificates list` prints it.")
        var id: String

        @Flag(help: "Print one JSON object instead of lines.")
        var json = false

        func validate() throws {
            guard UUID(uuidString: id) != nil else { throw ValidationError("\(id) is not a certificate id (a UUID)") }
        }

        func run() async throws {
            try await global.withDatabase(label: "tongban.certificates") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Prints the certificate and its changes of status.
        /// - Parameters:
        ///   - database: the pool.
        ///   - logger: for the migrations.
        ///   - say: where each line goes.
        /// - Throws: ``CommandFailure`` when there is no such certificate; `PostgresError`.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            try await applyMigrations(database, logger: logger) { json ? logger.notice("\($0)") : say($0) }
            let uuid = UUID(uuidString: id) ?? UUID()
            guard var certificate = try await CertificatesCommand.certificate(uuid, on: database) else {
                throw CommandFailure(
                    "there is no certificate \(uuid.uuidString.lowercased()) (`tongban certificates list` lists them)")
            }
            certificate.changes = try await CertificatesCommand.changes(of: uuid, on: database)
            if json {
                say(try CertificatesCommand.json(certificate))
                return
            }
            for line in CertificatesCommand.describe(certificate) { say(EventViolation.printable(line)) }
        }
    }

    /// `tongban certificates revoke`.
    struct Revoke: StatusChangeCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a certificate, for good, with a reason (audited).",
            discussion: """
                Sets its bit in its revocation list. A revocation is final: a revoked certificate cannot be \
                reinstated. Revoking a revoked certificate changes nothing and exits 1.
                """)
        static let change = CertificateStore.Change.revoke

        @OptionGroup var options: StatusChangeOptions
    }

    /// `tongban certificates suspend`.
    struct Suspend: StatusChangeCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suspend a certificate, with a reason, until it is reinstated (audited).",
            discussion: "Sets its bit in its suspension list. A revoked certificate cannot be suspended (exits 1).")
        static let change = CertificateStore.Change.suspend

        @OptionGroup var options: StatusChangeOptions
    }

    /// `tongban certificates reinstate`.
    struct Reinstate: StatusChangeCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reinstate a suspended certificate, with a reason (audited).",
            discussion: """
                Clears its bit in its suspension list. Only a suspension can be undone: a revoked certificate stays \
                revoked, and asking to reinstate it changes nothing and exits 1.
                """)
        static let change = CertificateStore.Change.reinstate

        @OptionGroup var options: StatusChangeOptions
    }
}

/// `revoke`, `suspend` and `reinstate`: each makes one change of status, and all three check, run and perform it the
/// same way (``StatusChangeOptions``); a command names only its change and its help.
protocol StatusChangeCommand: AsyncParsableCommand {
    /// The change the command makes.
    static var change: CertificateStore.Change { get }
    /// The certificate and the reason.
    var options: StatusChangeOptions { get }
}

extension StatusChangeCommand {
    /// Refuses an id that is not a UUID and a reason that is not one line of plain words; see
    /// ``StatusChangeOptions/check()``.
    func validate() throws { try options.check() }

    /// Makes the change against the configured PostgreSQL.
    func run() async throws {
        try await options.global.withDatabase(label: "tongban.certificates") { database, logger in
            try await perform(database: database, logger: logger) { print($0) }
        }
    }

    /// Makes the change, audited; see ``StatusChangeOptions/perform(_:database:logger:say:)``.
    /// - Parameters:
    ///   - database: the pool.
    ///   - logger: for the migrations and the audit writer.
    ///   - say: where each line goes.
    /// - Throws: ``CommandFailure`` when the change is refused or cannot be audited; `PostgresError`.
    func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
        try await options.perform(Self.change, database: database, logger: logger, say: say)
    }
}

/// What `revoke`, `suspend` and `reinstate` take: the certificate and the reason.
struct StatusChangeOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions

    @Argument(help: "The certificate's id (a UUID), as `tongban certificates list` prints it.")
    var id: String

    @Option(help: "Why, in plain words (at most 500 characters); recorded with the change.")
    var reason: String

    /// The longest reason taken, as the API takes.
    static let maximumReasonLength = 500

    /// The reason as stored: without the spaces around it.
    var trimmedReason: String { reason.trimmingCharacters(in: .whitespaces) }

    /// Refuses an id that is not a UUID and a reason that is empty, too long or holds control characters.
    /// - Throws: `ValidationError`.
    func check() throws {
        guard UUID(uuidString: id) != nil else { throw ValidationError("\(id) is not a certificate id (a UUID)") }
        guard !trimmedReason.isEmpty else { throw ValidationError("--reason must say why, in plain words") }
        guard trimmedReason.count <= Self.maximumReasonLength else {
            throw ValidationError("--reason is longer than \(Self.maximumReasonLength) characters")
        }
        guard !trimmedReason.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
        else {
            throw ValidationError("--reason must be one line of plain text, without control characters")
        }
    }

    /// Applies the change, audited, and says what came of it.
    ///
    /// The change and its audit entry go together: the entry is appended (and committed) while the change's
    /// transaction is still open, and the change commits only once the entry is written. A refused change is audited
    /// as refused.
    /// - Parameters:
    ///   - change: what to do.
    ///   - database: the pool (the change and the audit writer each hold a connection).
    ///   - logger: for the migrations and the audit writer.
    ///   - say: where each line goes.
    /// - Throws: ``CommandFailure`` when there is no such certificate, the status cannot change so, or the audit
    ///   entry cannot be written (then nothing changed); `PostgresError`.
    func perform(
        _ change: CertificateStore.Change, database: PostgresClient, logger: Logger, say: (String) -> Void
    ) async throws {
        try await applyMigrations(database, logger: logger, say: say)
        let uuid = UUID(uuidString: id) ?? UUID()
        let text = uuid.uuidString.lowercased()
        let reason = trimmedReason
        try await CertificatesCommand.withAuditLog(database: database, logger: logger) { audit in
            func entry(_ subjects: [String], _ outcome: AuditOutcome, _ status: Int, _ summary: String) -> AuditEntry {
                AuditEntry(
                    clientID: "operator", purpose: "operator", subjects: subjects, question: "certificate-status",
                    answerSummary: summary, outcome: outcome, status: status)
            }
            guard let before = try await CertificatesCommand.certificate(uuid, on: database) else {
                _ = try await audit.append(entry([], .refused, 404, "\(change.rawValue) \(text): not found"))
                throw CommandFailure("there is no certificate \(text) (`tongban certificates list` lists them)")
            }
            let subjects = [before.subject]
            let record: AuditRecord?
            do {
                record = try await database.withTransaction(maxAttempts: 1) { connection -> AuditRecord? in
                    let changed = try await connection.query(
                        CertificateStore.changeStatement(change, uuid, reason, "operator", nil))
                    guard changed.count == 1 else { return nil }
                    do {
                        return try await audit.append(entry(subjects, .answered, 200, "\(change.rawValue) \(text)"))
                    } catch {
                        throw UnauditedChange(underlying: error)
                    }
                }
            } catch let error as UnauditedChange {
                throw CommandFailure(
                    "certificate \(text) was not changed: its audit entry could not be written (\(error.underlying))")
            }
            let after = try await CertificatesCommand.certificate(uuid, on: database) ?? before
            guard let record else {
                let (code, why) = CertificatesCommand.refusal(change, after)
                _ = try await audit.append(entry(subjects, .refused, 409, "\(change.rawValue) \(text): \(code)"))
                throw CommandFailure("certificate \(text) \(why): nothing changed")
            }
            let since = after.statusChangedAt.map { " since \(ClientsCommand.timestamp($0))" } ?? ""
            say(
                EventViolation.printable(
                    "certificate \(text) is \(after.status.rawValue)\(since) (by operator: \(reason))"))
            say("audited as row \(record.seq) of the audit log (client operator, question certificate-status)")
        }
    }
}

extension CertificatesCommand {
    /// A certificate as the operator commands list and show it.
    struct Certificate: Encodable, Sendable {
        /// The event that took a certificate's basis away (a revocation by the streams).
        struct CausingEvent: Encodable, Sendable {
            var id: String
            var type: String?
            var source: String?
            var appliedAt: Date?
        }

        /// One change of status, as `tongban.certificate_status_change` records it.
        struct Change: Encodable, Sendable {
            var seq: Int64
            var changedAt: Date
            var action: String
            var reason: String
            var changedBy: String
            var causedByEvent: String?
            var eventAppliedAt: Date?
        }

        var id: String
        var kind: String
        var status: Status
        var subject: String
        var relative: String?
        var from: String?
        var to: String?
        var family: Bool?
        /// The as-of day, for a certificate that states what the registers said on that day.
        var asOf: String?
        var client: String
        var issuedAt: Date
        var validUntil: Date
        var statusChangedAt: Date?
        var reason: String?
        var changedBy: String?
        var causedBy: CausingEvent?
        var revocationList: Int
        var suspensionList: Int
        var statusIndex: Int
        /// Every change of status, oldest first (`show` only).
        var changes: [Change]?

        /// The certificate with its people's citizen IDs masked, as `list` prints it.
        var masked: Certificate {
            var copy = self
            copy.subject = CitizenIDMasking.mask(subject)
            copy.relative = relative.map(CitizenIDMasking.mask)
            return copy
        }
    }

    /// One certificate by id, or `nil`.
    /// - Throws: `PostgresError`.
    static func certificate(_ id: UUID, on database: PostgresClient) async throws -> Certificate? {
        try await certificates(id: id, client: nil, status: nil, limit: 1, on: database).first
    }

    /// The latest certificates, newest first, filtered.
    /// - Parameters:
    ///   - id: only this certificate.
    ///   - client: only those of this client.
    ///   - status: only those with this status.
    ///   - limit: the most returned.
    ///   - database: the pool.
    /// - Returns: the certificates.
    /// - Throws: `PostgresError`.
    static func certificates(
        id: UUID?, client: String?, status: Status?, limit: Int, on database: PostgresClient
    ) async throws -> [Certificate] {
        let rows = try await database.query(
            """
            SELECT c.certificate_id, c.kind, c.question ->> 'subject', c.question ->> 'relative',
                c.question ->> 'from', c.question ->> 'to', (c.question ->> 'family')::boolean, c.as_of::text,
                c.client_id, c.issued_at, c.valid_until, c.revoked_at, c.revocation_reason, c.revoked_by,
                c.revoked_by_event, c.suspended_at, c.suspension_reason, c.suspended_by, c.revocation_list,
                c.suspension_list, c.status_index, e.type, e.source, e.applied_at
            FROM tongban.certificate c
            LEFT JOIN tongban.event e ON e.event_id = c.revoked_by_event
            WHERE (\(id)::uuid IS NULL OR c.certificate_id = \(id))
                AND (\(client)::text IS NULL OR c.client_id = \(client))
                AND (\(status?.rawValue)::text IS NULL OR CASE WHEN c.revoked_at IS NOT NULL THEN 'revoked'
                    WHEN c.suspended_at IS NOT NULL THEN 'suspended' ELSE 'valid' END = \(status?.rawValue))
            ORDER BY c.issued_at DESC, c.certificate_id
            LIMIT \(limit)
            """)
        return try rows.map { row in
            var certificate = Certificate(
                id: try row.decode(UUID.self, at: 0).uuidString.lowercased(), kind: try row.decode(String.self, at: 1),
                status: .valid, subject: try row.decode(String?.self, at: 2) ?? "",
                relative: try row.decode(String?.self, at: 3), from: try row.decode(String?.self, at: 4),
                to: try row.decode(String?.self, at: 5), family: try row.decode(Bool?.self, at: 6),
                asOf: try row.decode(String?.self, at: 7), client: try row.decode(String.self, at: 8),
                issuedAt: try row.decode(Date.self, at: 9), validUntil: try row.decode(Date.self, at: 10),
                revocationList: try row.decode(Int.self, at: 18), suspensionList: try row.decode(Int.self, at: 19),
                statusIndex: try row.decode(Int.self, at: 20))
            if let revokedAt = try row.decode(Date?.self, at: 11) {
                certificate.status = .revoked
                certificate.statusChangedAt = revokedAt
                certificate.reason = try row.decode(String?.self, at: 12)
                certificate.changedBy = try row.decode(String?.self, at: 13)
                if let event = try row.decode(UUID?.self, at: 14) {
                    certificate.causedBy = Certificate.CausingEvent(
                        id: event.uuidString.lowercased(), type: try row.decode(String?.self, at: 21),
                        source: try row.decode(String?.self, at: 22), appliedAt: try row.decode(Date?.self, at: 23))
                }
            } else if let suspendedAt = try row.decode(Date?.self, at: 15) {
                certificate.status = .suspended
                certificate.statusChangedAt = suspendedAt
                certificate.reason = try row.decode(String?.self, at: 16)
                certificate.changedBy = try row.decode(String?.self, at: 17)
            }
            return certificate
        }
    }

    /// A certificate's changes of status, oldest first.
    /// - Throws: `PostgresError`.
    static func changes(of id: UUID, on database: PostgresClient) async throws -> [Certificate.Change] {
        let rows = try await database.query(
            """
            SELECT seq, changed_at, action, reason, changed_by, caused_by_event, event_applied_at
            FROM tongban.certificate_status_change WHERE certificate_id = \(id) ORDER BY seq
            """)
        return try rows.map { row in
            Certificate.Change(
                seq: try row.decode(Int64.self, at: 0), changedAt: try row.decode(Date.self, at: 1),
                action: try row.decode(String.self, at: 2), reason: try row.decode(String.self, at: 3),
                changedBy: try row.decode(String.self, at: 4),
                causedByEvent: try row.decode(UUID?.self, at: 5)?.uuidString.lowercased(),
                eventAppliedAt: try row.decode(Date?.self, at: 6))
        }
    }

    /// Why a change changed nothing, from the certificate's status after it: a short code for the audit log and a
    /// sentence for the operator.
    static func refusal(_ change: CertificateStore.Change, _ certificate: Certificate) -> (code: String, why: String) {
        let since = certificate.statusChangedAt.map { " since \(ClientsCommand.timestamp($0))" } ?? ""
        let by = certificate.changedBy.map { " by \($0)" } ?? ""
        let reason = certificate.reason.map { ": \($0)" } ?? ""
        let state = EventViolation.printable("\(certificate.status.rawValue)\(since)\(by)\(reason)")
        switch (change, certificate.status) {
        case (.revoke, .revoked):
            return ("already-revoked", "is already revoked (\(state))")
        case (_, .revoked):
            return ("revoked", "is revoked (\(state)): a revocation is final, it cannot be \(change.pastTense)")
        case (.suspend, .suspended):
            return ("already-suspended", "is already suspended (\(state))")
        case (.reinstate, .valid):
            return ("not-suspended", "is not suspended: there is nothing to reinstate")
        default:
            return ("status-unchanged", "did not change: it is \(state)")
        }
    }

    /// The lines of `show`.
    static func describe(_ certificate: Certificate) -> [String] {
        var lines = ["certificate   \(certificate.id)"]
        lines.append(
            "kind          \(certificate.kind), "
                + (certificate.asOf.map { "as of \($0) (what the registers said that day)" } ?? "what holds now"))
        lines.append("subject       \(certificate.subject)")
        if let relative = certificate.relative { lines.append("relative      \(relative)") }
        if let from = certificate.from, let to = certificate.to { lines.append("months        \(from) to \(to)") }
        if let family = certificate.family { lines.append("family        \(family ? "yes" : "no")") }
        lines.append("client        \(certificate.client)")
        lines.append(
            "issued        \(ClientsCommand.timestamp(certificate.issuedAt)), valid until "
                + ClientsCommand.timestamp(certificate.validUntil))
        lines.append(
            "status lists  revocation \(certificate.revocationList), suspension \(certificate.suspensionList), "
                + "index \(certificate.statusIndex)")
        var status = "status        \(certificate.status.rawValue)"
        if let at = certificate.statusChangedAt { status += " since \(ClientsCommand.timestamp(at))" }
        if let by = certificate.changedBy { status += " by \(by)" }
        if let reason = certificate.reason { status += ": \(reason)" }
        lines.append(status)
        if let event = certificate.causedBy {
            var cause = "caused by     event \(event.id)"
            if let type = event.type { cause += " (\(type)" + (event.source.map { " from \($0)" } ?? "") + ")" }
            if let applied = event.appliedAt { cause += ", applied \(ClientsCommand.timestamp(applied))" }
            lines.append(cause)
        }
        let changes = certificate.changes ?? []
        lines.append(changes.isEmpty ? "no changes of status" : "changes of status (\(changes.count)):")
        for change in changes {
            var line =
                "  \(ClientsCommand.timestamp(change.changedAt))  "
                + "\(change.action.padding(toLength: 9, withPad: " ", startingAt: 0))  by \(change.changedBy): "
                + change.reason
            if let event = change.causedByEvent { line += "  (event \(event))" }
            lines.append(line)
        }
        return lines
    }

    /// Columns padded to their widest cell, two spaces apart (the last one unpadded).
    static func table(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    /// A value as JSON: keys sorted, dates in ISO 8601 (UTC), slashes not escaped.
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Runs `body` with an audit log whose writer runs beside it, and returns once every entry it took is written.
    /// - Parameters:
    ///   - database: the pool (the writer holds one connection while it writes).
    ///   - logger: for write failures.
    ///   - body: the work that appends entries.
    /// - Throws: what `body` threw.
    static func withAuditLog(
        database: PostgresClient, logger: Logger, _ body: (AuditLog) async throws -> Void
    ) async throws {
        let audit = AuditLog(client: database, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await audit.run() }
            let outcome: Result<Void, any Error>
            do { outcome = .success(try await body(audit)) } catch { outcome = .failure(error) }
            audit.shutdown()
            try await group.waitForAll()
            try outcome.get()
        }
    }
}

/// The audit entry of a change could not be written: the change is rolled back.
struct UnauditedChange: Error {
    /// Why the entry was not written.
    var underlying: any Error
}

extension CertificateStore.Change {
    /// The change as a past participle: "revoked", "suspended", "reinstated".
    var pastTense: String {
        switch self {
        case .revoke: "revoked"
        case .suspend: "suspended"
        case .reinstate: "reinstated"
        }
    }
}
