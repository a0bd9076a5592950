import Events
import Foundation
import Postgres

/// The event that establishes facts, as every fact row records it: the typed payload and the provenance.
struct FactSource: Sendable {
    /// The payload, upcast to the current version.
    let payload: EventPayload
    /// The current type (after upcasting), e.g. `household.name-changed.v2`.
    let type: String
    /// The envelope `time`.
    let effectiveTime: Date
    /// The envelope id.
    let eventID: UUID
    /// The fact hash (``EventFingerprint/fact``).
    let factHash: UUID

    /// The department, from the type (`household` of `household.birth-registered.v1`).
    var department: Substring { type.prefix { $0 != "." } }

    /// The Beijing calendar date (UTC+8, no daylight saving) of the envelope time, as `tongban.beijing_date` gives it.
    var beijingDate: PostgresDate {
        PostgresDate(daysSince1970: Int(((effectiveTime.timeIntervalSince1970 + 28_800) / 86_400).rounded(.down)))
    }
}
