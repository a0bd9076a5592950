import API
import ArgumentParser
import Events
import Foundation
import Logging
import Postgres
import Projections

/// `tongban audit`: the hash-chained audit log of the certificate services' requests (`tongban.audit_log`).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify the audit log's hash chain, and list who asked about a person.",
        discussion: """
            Reads tongban.audit_log (needs PostgreSQL: DATABASE_URL or PG*); both apply pending migrations first. \
            Every request of a certificate service is a row; each row's hash covers the previous row's hash and the \
            row's fields (the rule is in schemas/migrations/README.md, "The audit log"), so an altered, deleted or \
            reordered row breaks the chain.
            """,
        subcommands: [Verify.self, List.self]
    )

    /// `tongban audit verify`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the whole audit chain and recompute every hash.",
            discussion: """
                Prints "the audit chain of N rows is intact (last hash …)" and exits 0, or names the first broken \
                row and why (altered, missing, reordered) and exits 1. Removing the last rows leaves a shorter chain \
                that is intact: keep the last hash it prints somewhere else, and compare.
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.withDatabase(label: "tongban.audit") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Checks the chain and says what it found.
        /// - Throws: ``CommandFailure`` naming the first broken row.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            try await applyMigrations(database, logger: logger, say: say)
            let result = try await AuditLog.verify(on: database)
            if let broken = result.firstBreak {
                let before =
                    result.intactRows == 0
                    ? "no row before it is intact" : "the \(result.intactRows) rows before it are intact"
                throw CommandFailure("the audit chain is broken at row \(broken.seq): \(broken) (\(before))")
            }
            let last = result.lastHash.map { "last hash \(AuditChain.hex($0))" } ?? "it is empty"
            say("the audit chain of \(result.intactRows) rows is intact (\(last))")
        }
    }

    /// `tongban audit list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List who asked about a person, newest first.",
            discussion: "One line per request: seq, time, client, purpose, question, outcome, status, on whose behalf.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "The citizen ID asked about.")
        var subject: String

        @Option(help: "The most to print.")
        var limit = 50

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
            guard !subject.isEmpty else { throw ValidationError("--subject must name a citizen ID") }
        }

        func run() async throws {
            try await global.withDatabase(label: "tongban.audit") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Prints the requests about the subject.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            try await applyMigrations(database, logger: logger, say: say)
            let records = try await AuditLog.entries(about: subject, limit: limit, on: database)
            for record in records { say(Self.line(record)) }
            say(
                records.count == limit
                    ? "the \(limit) latest requests about \(EventViolation.printable(subject)) (--limit)"
                    : "\(records.count) requests about \(EventViolation.printable(subject))")
        }

        /// One request on one line, escaped for the terminal.
        static func line(_ record: AuditRecord) -> String {
            let entry = record.entry
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            var text =
                "\(record.seq)  \(formatter.string(from: record.recordedAt))  \(entry.clientID)  "
                + "purpose=\(entry.purpose)  question=\(entry.question)  \(entry.outcome.rawValue) \(entry.status)"
            if let actor = entry.onBehalfOf { text += "  on behalf of \(actor)" }
            return EventViolation.printable(text)
        }
    }
}
