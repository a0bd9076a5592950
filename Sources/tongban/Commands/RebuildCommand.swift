import ArgumentParser
import Foundation
import Logging
import Postgres
import Projections

/// `tongban rebuild`: empties the views so that the projectors rebuild them from the streams.
///
/// The reset is one transaction (`ViewStore.resetForRebuild(keepingLedger:on:)`): it waits for the batches being
/// applied, and a running `tongban project` notices at its next batch (its checkpoint moved), starts again from offset
/// 0 and rebuilds, without verifying signatures below the verified watermarks (an idle one notices within about a
/// second). Without `--yes` it only says what it would do.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Empty the views so that the projectors rebuild them from the department topics.",
        discussion: """
            Needs PostgreSQL (DATABASE_URL or PG*). --keep-ledger keeps the applied-event ledger and writes only the \
            facts again, from the ledger's decisions (after a view projector changed); --full empties the ledger too \
            and decides every event again (when the ledger itself is in doubt). Running projectors notice within \
            about a second and start over; start `tongban project` if none runs. Until every partition is back where \
            it was, the views are partial and without their readers' indexes, and /health says the projector is \
            rebuilding. Kafka must still hold every message from offset 0. --keep-ledger is refused while another \
            view group has checkpoints (they share the tables and the ledger). Signatures below the verified \
            watermarks are not verified again when the projector's key set is the one that verified them and the \
            topics still hold the same messages; every event's key id is still looked up, so a key revoked since \
            refuses its events. --verify verifies every signature again from offset 0 (slower).
            """
    )

    /// Which rebuild.
    enum Kind: String, EnumerableFlag {
        /// Keep the ledger; write the facts again from its decisions.
        case keepLedger
        /// Empty the ledger too; decide every event again.
        case full

        static func help(for value: Kind) -> ArgumentHelp? {
            switch value {
            case .keepLedger: "Keep the applied-event ledger and write only the facts again, from its decisions."
            case .full: "Empty the ledger too and decide every event again."
            }
        }
    }

    @OptionGroup var global: GlobalOptions

    @Flag var kind: Kind

    @Option(help: "The checkpoint group in tongban.checkpoint (tongban project --view-group).")
    var viewGroup = "tongban.views"

    @Flag(help: "Verify every signature again from offset 0, trusting no verified watermark.")
    var verify = false

    @Flag(help: "Do it (without, only say what it would do).")
    var yes = false

    /// What a rebuild would start from, as `plan(viewGroup:on:)` finds it.
    struct Plan: Equatable {
        /// Partitions with a checkpoint in the view group.
        var partitions: Int
        /// Events the ledger holds.
        var ledgerEvents: Int
        /// Whether an earlier rebuild has not finished.
        var unfinished: Bool
        /// Other view groups with checkpoints: they share the tables being emptied, and their checkpoints stay.
        var otherViewGroups: [String] = []
    }

    func run() async throws {
        try await global.withDatabase(label: "tongban.rebuild") { database, logger in
            try await perform(database: database, logger: logger) { print($0) }
        }
    }

    /// Migrates, says what the rebuild would do, and does it with `--yes`.
    /// - Parameters:
    ///   - database: the pool.
    ///   - logger: for the migrations.
    ///   - say: where the lines for the operator go.
    /// - Throws: ``CommandFailure`` without `--yes` (nothing changed), or `PostgresError`.
    func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
        try await applyMigrations(database, logger: logger, say: say)
        let keepingLedger = kind == .keepLedger
        let plan = try await database.withConnection { try await Self.plan(viewGroup: viewGroup, on: $0) }
        let what =
            keepingLedger
            ? "the fact tables (the ledger's \(plan.ledgerEvents) events stay)"
            : "the fact tables and the ledger (\(plan.ledgerEvents) events)"
        say("view group \(viewGroup): \(plan.partitions) partitions would go back to offset 0, emptying \(what)")
        if verify {
            say("every signature will be verified again from offset 0: the verified watermarks are trusted by nobody")
        }
        if keepingLedger && !plan.otherViewGroups.isEmpty {
            throw CommandFailure("nothing changed: \(ViewStore.RebuildRefusal(otherViewGroups: plan.otherViewGroups))")
        }
        if !plan.otherViewGroups.isEmpty {
            say(
                "warning: view groups \(plan.otherViewGroups.joined(separator: ", ")) have checkpoints too; they share "
                    + "these tables and are not reset: rebuild each of them as well")
        }
        if plan.unfinished { say("an earlier rebuild has not finished; this one starts over") }
        guard yes else {
            throw CommandFailure("nothing changed: pass --yes to rebuild")
        }
        let started = ContinuousClock.now
        try await database.withConnection {
            try await ViewStore(viewGroup: viewGroup).resetForRebuild(
                keepingLedger: keepingLedger, reverifying: verify, on: $0)
        }
        say(
            "reset in \(ContinuousClock.now - started): running projectors of \(viewGroup) start over within about a "
                + "second (start `tongban project` if none runs); /health reports them as rebuilding, and "
                + "tongban.view_state() says the views are not ready, until they are back")
    }

    /// What a rebuild of `viewGroup` would start from.
    /// - Parameters:
    ///   - viewGroup: the checkpoint group.
    ///   - connection: a connection to the migrated database.
    /// - Returns: the plan.
    /// - Throws: `PostgresError`.
    static func plan(viewGroup: String, on connection: PostgresConnection) async throws -> Plan {
        let rows = try await connection.query(
            """
            SELECT (SELECT count(*) FROM tongban.checkpoint WHERE view_group = \(viewGroup)),
                (SELECT count(*) FROM tongban.event),
                EXISTS (SELECT 1 FROM tongban.rebuild_deferred WHERE view_group = \(viewGroup))
            """)
        let others = try await ViewStore.otherViewGroups(than: viewGroup, on: connection)
        return Plan(
            partitions: try rows[0].decode(Int.self, at: 0), ledgerEvents: try rows[0].decode(Int.self, at: 1),
            unfinished: try rows[0].decode(Bool.self, at: 2), otherViewGroups: others)
    }
}
