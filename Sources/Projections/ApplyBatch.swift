import Events
import Foundation
import Postgres

/// A batch about to be applied, and how its events are decided against the ledger.
///
/// The rules (see `schemas/migrations/README.md`, "Principles"):
/// - an id already in the ledger, or earlier in the batch, is a duplicate when the content is the same as the
///   ledger's (or, for an id new to the ledger, as its first occurrence in the batch), else rejected;
/// - of the events applied, the first of each fact hash establishes the fact, unless the ledger has an event that
///   established it already.
/// "First" is by position (topic, partition, offset): copies of one event or one fact share a record key and so a
/// partition, where Kafka keeps their order; any batching gives the same decisions.
struct ApplyBatch {
    /// The events, as given.
    let events: [StagedEvent]
    /// Each event's id.
    let ids: [UUID]
    /// Each event's fingerprint.
    let fingerprints: [EventFingerprint]
    /// The indices of ``events`` in position order.
    let order: [Int]
    /// For each event, the index of the first event of the batch with the same id, if it is not the first itself.
    private let firstOfID: [Int?]
    /// The ids to look up in the ledger (each once).
    let candidateIDs: [UUID]
    /// The fact hashes to look up in the ledger (each once).
    let candidateFacts: [UUID]

    /// What the ledger already holds of a batch's ids and facts.
    struct Ledger {
        /// The content hash of each id found.
        var contents: [UUID: UUID] = [:]
        /// The fact hashes an applied event established.
        var establishedFacts: Set<UUID> = []
    }

    /// The decision for each event (indices into ``events``).
    struct Decision {
        /// Events to write to the ledger, in position order, and whether each establishes its facts.
        var applied: [(index: Int, establishes: Bool)] = []
        /// Events whose id was applied with the same content.
        var duplicates: [Int] = []
        /// Events whose id was applied with other content.
        var rejected: [Int] = []
    }

    /// Orders a batch and finds the copies within it.
    /// - Parameter events: the events, in any order, none of them recorded (``StagedEvent/isRecorded``).
    /// - Throws: `PostgresError` `.query` when an event id is not a UUID.
    init(_ events: [StagedEvent]) throws(PostgresError) {
        var ids: [UUID] = []
        var fingerprints: [EventFingerprint] = []
        ids.reserveCapacity(events.count)
        fingerprints.reserveCapacity(events.count)
        for staged in events {
            ids.append(try staged.uuid())
            guard let fingerprint = staged.fingerprint else {
                throw PostgresError(.query, "event \(staged.event.id) was staged as recorded; it has no fingerprint")
            }
            fingerprints.append(fingerprint)
        }
        let order = events.indices.sorted { events[$0].precedes(events[$1]) }
        var first: [UUID: Int] = [:]
        first.reserveCapacity(events.count)
        var firstOfID = [Int?](repeating: nil, count: events.count)
        var candidateIDs: [UUID] = []
        var facts = Set<UUID>()
        var candidateFacts: [UUID] = []
        for index in order {
            let id = ids[index]
            if let earlier = first[id] {
                firstOfID[index] = earlier
                continue
            }
            first[id] = index
            candidateIDs.append(id)
            let fact = fingerprints[index].fact
            if facts.insert(fact).inserted { candidateFacts.append(fact) }
        }
        self.events = events
        self.ids = ids
        self.fingerprints = fingerprints
        self.order = order
        self.firstOfID = firstOfID
        self.candidateIDs = candidateIDs
        self.candidateFacts = candidateFacts
    }

    /// Decides every event given what the ledger holds.
    /// - Parameter ledger: the ledger's rows for ``candidateIDs`` and ``candidateFacts`` (empty for the optimistic
    ///   first attempt, which assumes every id and fact is new; the ledger's unique indexes refuse it otherwise).
    /// - Returns: the decisions.
    func decide(against ledger: Ledger) -> Decision {
        var decision = Decision()
        var established = ledger.establishedFacts
        for index in order {
            let fingerprint = fingerprints[index]
            if let reference = ledger.contents[ids[index]] ?? firstOfID[index].map({ fingerprints[$0].content }) {
                if fingerprint.content == reference {
                    decision.duplicates.append(index)
                } else {
                    decision.rejected.append(index)
                }
                continue
            }
            decision.applied.append((index, established.insert(fingerprint.fact).inserted))
        }
        return decision
    }
}
