import Events
import Postgres

/// The property view's facts: titles, their owner sets (registration or transfer) with the owners and shares, and
/// mortgages and seizures with their release or lifting.
enum PropertyProjector: ViewProjector {
    static let title = FactTable.facts(
        "title",
        [
            "title_number", "certificate_number", "property_region", "address", "area_square_meters", "use",
            "registered_on",
        ])
    static let ownership = FactTable.facts(
        "title_ownership", ["title_number", "certificate_number", "co_ownership", "effective_on", "kind"])
    /// The owners of an owner set: keyed by the set's fact hash, without the provenance columns of facts.
    static let owner = FactTable(
        name: "title_owner",
        columns: [
            "fact_hash", "title_number", "position", "person_id", "name", "share", "share_numerator",
            "share_denominator", "event_id",
        ])
    static let mortgage = FactTable.facts(
        "mortgage",
        [
            "mortgage_record_number", "title_number", "owner_ids", "creditor_name", "creditor_code", "amount",
            "registered_on",
        ])
    static let mortgageRelease = FactTable.facts(
        "mortgage_release", ["mortgage_record_number", "title_number", "owner_ids", "released_on"])
    static let seizure = FactTable.facts(
        "seizure",
        ["seizure_record_number", "title_number", "owner_ids", "court", "case_number", "registered_on", "valid_to"])
    static let seizureLift = FactTable.facts(
        "seizure_lift", ["seizure_record_number", "title_number", "owner_ids", "lifted_on"])

    /// An owner set before its owners (they refer to it).
    static let tables = [title, ownership, owner, mortgage, mortgageRelease, seizure, seizureLift]

    static func project(_ source: FactSource, into rows: inout FactRows) {
        switch source.payload {
        case .titleRegistered(let registered):
            rows.fact(
                title, source, registered.titleNumber, registered.certificateNumber, registered.propertyRegion,
                registered.address, registered.areaSquareMeters.postgres, registered.use.rawValue,
                registered.registrationDate.postgres)
            owners(
                registered.titleNumber, registered.certificateNumber, registered.coOwnership, registered.owners,
                from: registered.registrationDate, kind: "registration", source, into: &rows)
        case .titleTransferred(let transfer):
            owners(
                transfer.titleNumber, transfer.certificateNumber, transfer.coOwnership, transfer.newOwners,
                from: transfer.transferDate, kind: transfer.kind.rawValue, source, into: &rows)
        case .mortgageRegistered(let event):
            rows.fact(
                mortgage, source, event.mortgageRecordNumber, event.titleNumber, PostgresTextArray(event.ownerIds),
                event.creditor.name, event.creditor.creditCode, event.amount.postgres,
                event.registrationDate.postgres)
        case .mortgageReleased(let event):
            rows.fact(
                mortgageRelease, source, event.mortgageRecordNumber, event.titleNumber,
                PostgresTextArray(event.ownerIds), event.releaseDate.postgres)
        case .seizureRegistered(let event):
            rows.fact(
                seizure, source, event.seizureRecordNumber, event.titleNumber, PostgresTextArray(event.ownerIds),
                event.court, event.caseNumber, event.registrationDate.postgres, event.validTo?.postgres)
        case .seizureLifted(let event):
            rows.fact(
                seizureLift, source, event.seizureRecordNumber, event.titleNumber, PostgresTextArray(event.ownerIds),
                event.liftedDate.postgres)
        default:
            break
        }
    }

    /// An owner set and its owners (each person once: the first listing counts).
    private static func owners(
        _ titleNumber: String, _ certificate: String, _ coOwnership: CoOwnership, _ owners: [Owner],
        from day: CivilDate, kind: String, _ source: FactSource, into rows: inout FactRows
    ) {
        rows.fact(ownership, source, titleNumber, certificate, coOwnership.rawValue, day.postgres, kind)
        var seen = Set<String>()
        for (position, owner) in owners.enumerated() where seen.insert(owner.personId).inserted {
            rows.row(
                Self.owner, source.factHash, titleNumber, Int32(position), owner.personId, owner.name,
                owner.share.description, Int32(owner.share.numerator), Int32(owner.share.denominator), source.eventID)
        }
    }
}
