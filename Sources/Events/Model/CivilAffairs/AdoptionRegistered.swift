/// `civil-affairs.adoption-registered.v1`: Adoption registered (收养登记).
///
/// A civil-affairs registry has registered an adoption: from effectiveDate the adoptive parents are the child's legal parents and the legal parent-child relationship with the birth parents ends (Civil Code art.
public struct AdoptionRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "civil-affairs.adoption-registered.v1"

    /// Number of this adoption registration.
    public var adoptionRecordNumber: String
    /// Citizen ID of the adopted child.
    public var childId: String
    /// Citizen IDs of the one or two adoptive parents; none may be the child.
    public var adoptiveParentIds: [String]
    /// Citizen IDs of the birth parents whose legal relationship ends, where known and registered; leave the field out when unknown (e.g.
    public var birthParentIds: [String]?
    /// Date the adoption took effect (the registration date).
    public var effectiveDate: CivilDate
    /// Region code of the registry.
    public var registryRegion: String

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - adoptionRecordNumber: Number of this adoption registration.
    ///   - childId: Citizen ID of the adopted child.
    ///   - adoptiveParentIds: Citizen IDs of the one or two adoptive parents; none may be the child.
    ///   - birthParentIds: Citizen IDs of the birth parents whose legal relationship ends, where known and registered; leave the field out when unknown (e.g.
    ///   - effectiveDate: Date the adoption took effect (the registration date).
    ///   - registryRegion: Region code of the registry.
    public init(
        adoptionRecordNumber: String,
        childId: String,
        adoptiveParentIds: [String],
        birthParentIds: [String]? = nil,
        effectiveDate: CivilDate,
        registryRegion: String
    ) {
        self.adoptionRecordNumber = adoptionRecordNumber
        self.childId = childId
        self.adoptiveParentIds = adoptiveParentIds
        self.birthParentIds = birthParentIds
        self.effectiveDate = effectiveDate
        self.registryRegion = registryRegion
    }
}
