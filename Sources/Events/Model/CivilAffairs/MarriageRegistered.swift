/// `civil-affairs.marriage-registered.v1`: Marriage registered (结婚登记).
///
/// A civil-affairs marriage registry has registered the marriage of spouseA and spouseB: they are married from registrationDate until a divorce-registered event for the same marriageRecordNumber (or a death).
public struct MarriageRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "civil-affairs.marriage-registered.v1"

    /// Number of this marriage registration.
    public var marriageRecordNumber: String
    /// One spouse (listed first on the certificate), by citizen ID and name.
    public var spouseA: NamedPerson
    /// The other spouse; must be a different person from spouseA.
    public var spouseB: NamedPerson
    /// Date the marriage was registered (the legal start of the marriage).
    public var registrationDate: CivilDate
    /// Region code of the registry that registered the marriage.
    public var registryRegion: String

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - marriageRecordNumber: Number of this marriage registration.
    ///   - spouseA: One spouse (listed first on the certificate), by citizen ID and name.
    ///   - spouseB: The other spouse; must be a different person from spouseA.
    ///   - registrationDate: Date the marriage was registered (the legal start of the marriage).
    ///   - registryRegion: Region code of the registry that registered the marriage.
    public init(
        marriageRecordNumber: String,
        spouseA: NamedPerson,
        spouseB: NamedPerson,
        registrationDate: CivilDate,
        registryRegion: String
    ) {
        self.marriageRecordNumber = marriageRecordNumber
        self.spouseA = spouseA
        self.spouseB = spouseB
        self.registrationDate = registrationDate
        self.registryRegion = registryRegion
    }
}
