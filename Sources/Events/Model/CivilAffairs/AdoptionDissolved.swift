/// `civil-affairs.adoption-dissolved.v1`: Adoption dissolved (解除收养关系登记).
///
/// The adoption identified by adoptionRecordNumber has been dissolved (by registration or by a court) on dissolvedDate: the adoptive parent-child relationship ends that day; for a minor the relationship with the birth parents is restored (Civil Code art.
public struct AdoptionDissolved: EventData {
    /// The catalog type this struct models.
    public static let eventType = "civil-affairs.adoption-dissolved.v1"

    /// Number of the adoption registration being dissolved.
    public var adoptionRecordNumber: String
    /// Citizen ID of the adopted person (same as in adoption-registered).
    public var childId: String
    /// Date the dissolution took effect.
    public var dissolvedDate: CivilDate
    /// How the adoption was dissolved: 'registry' (协议解除, registered by civil affairs) or 'court' (by judgment or mediation).
    public var kind: Kind

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - adoptionRecordNumber: Number of the adoption registration being dissolved.
    ///   - childId: Citizen ID of the adopted person (same as in adoption-registered).
    ///   - dissolvedDate: Date the dissolution took effect.
    ///   - kind: How the adoption was dissolved: 'registry' (协议解除, registered by civil affairs) or 'court' (by judgment or mediation).
    public init(adoptionRecordNumber: String, childId: String, dissolvedDate: CivilDate, kind: Kind) {
        self.adoptionRecordNumber = adoptionRecordNumber
        self.childId = childId
        self.dissolvedDate = dissolvedDate
        self.kind = kind
    }

    /// How the adoption was dissolved: 'registry' (协议解除, registered by civil affairs) or 'court' (by judgment or mediation).
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// `registry`.
        case registry
        /// `court`.
        case court
    }
}
