import Events
import Postgres

/// Turns the payloads of established events into the fact rows of one view's tables (`schemas/migrations/0002`).
///
/// A projector only adds rows: state is derived by the contract views from the facts, so the order in which events
/// arrive never matters. Each view has one (`IdentityProjector`, `HouseholdProjector`, …); ``ViewProjectors/all``
/// lists them.
protocol ViewProjector {
    /// The tables the projector writes, in the order their rows must be copied.
    static var tables: [FactTable] { get }
    /// Adds the rows of one event (nothing for payloads of other views).
    /// - Parameters:
    ///   - source: the event and its provenance.
    ///   - rows: where the rows go.
    static func project(_ source: FactSource, into rows: inout FactRows)
}

/// Every view's projector.
enum ViewProjectors {
    /// The projectors of all views.
    static let all: [any ViewProjector.Type] = [
        IdentityProjector.self, HouseholdProjector.self, KinshipProjector.self, SocialInsuranceProjector.self,
        MedicalInsuranceProjector.self, PropertyProjector.self,
    ]

    /// Every fact table, in copy order.
    static let tables: [FactTable] = all.flatMap { $0.tables }

    /// Adds the rows of one event to every view's tables.
    /// - Parameters:
    ///   - source: the event.
    ///   - rows: where the rows go.
    static func project(_ source: FactSource, into rows: inout FactRows) {
        for projector in all { projector.project(source, into: &rows) }
    }
}

extension CivilDate {
    /// The date for a `date` column.
    var postgres: PostgresDate { PostgresDate(daysSince1970: daysSinceEpoch) }
}

extension CivilMonth {
    /// The first day of the month, for a `date` column (months are stored as their first day).
    var firstDay: PostgresDate {
        PostgresDate(daysSince1970: CivilDate(year: year, month: month, day: 1)?.daysSinceEpoch ?? 0)
    }
}

extension Hundredths {
    /// The value for a `numeric(…, 2)` column.
    var postgres: PostgresNumeric { PostgresNumeric(hundredths, scale: 2) }
}
