/// `civil-affairs.divorce-registered.v1`: Divorce registered (离婚登记 / 判决离婚).
///
/// The marriage identified by marriageRecordNumber has been dissolved on divorceDate, either by registration at a civil-affairs registry (kind 'registry', 登记离婚, after the cooling-off period) or by a court judgment or mediation that civil affairs has recorded (kind 'court', 诉讼离婚).
public struct DivorceRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "civil-affairs.divorce-registered.v1"

    /// Number of the marriage registration being dissolved.
    public var marriageRecordNumber: String
    /// One spouse (listed first on the certificate), by citizen ID and name.
    public var spouseA: NamedPerson
    /// The other spouse; must be a different person from spouseA.
    public var spouseB: NamedPerson
    /// Date the divorce took legal effect.
    public var divorceDate: CivilDate
    /// How the marriage was dissolved: 'registry' (登记离婚, by the civil-affairs registry) or 'court' (诉讼离婚, by judgment or mediation of a court).
    public var kind: Kind
    /// Region code of the registry that recorded the divorce; required in practice for kind 'registry'.
    public var registryRegion: String?
    /// Case number of the judgment or mediation (案号) for kind 'court', as printed.
    public var courtCaseNumber: String?

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - marriageRecordNumber: Number of the marriage registration being dissolved.
    ///   - spouseA: One spouse (listed first on the certificate), by citizen ID and name.
    ///   - spouseB: The other spouse; must be a different person from spouseA.
    ///   - divorceDate: Date the divorce took legal effect.
    ///   - kind: How the marriage was dissolved: 'registry' (登记离婚, by the civil-affairs registry) or 'court' (诉讼离婚, by judgment or mediation of a court).
    ///   - registryRegion: Region code of the registry that recorded the divorce; required in practice for kind 'registry'.
    ///   - courtCaseNumber: Case number of the judgment or mediation (案号) for kind 'court', as printed.
    public init(
        marriageRecordNumber: String,
        spouseA: NamedPerson,
        spouseB: NamedPerson,
        divorceDate: CivilDate,
        kind: Kind,
        registryRegion: String? = nil,
        courtCaseNumber: String? = nil
    ) {
        self.marriageRecordNumber = marriageRecordNumber
        self.spouseA = spouseA
        self.spouseB = spouseB
        self.divorceDate = divorceDate
        self.kind = kind
        self.registryRegion = registryRegion
        self.courtCaseNumber = courtCaseNumber
    }

    /// How the marriage was dissolved: 'registry' (登记离婚, by the civil-affairs registry) or 'court' (诉讼离婚, by judgment or mediation of a court).
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// `registry`.
        case registry
        /// `court`.
        case court
    }
}
