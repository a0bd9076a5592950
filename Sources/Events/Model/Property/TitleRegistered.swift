/// `property.title-registered.v1`: Title registered (不动产权登记).
///
/// The real-estate registry (不动产登记) has registered ownership of a property: from registrationDate the owners listed hold the title with the shares given.
public struct TitleRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "property.title-registered.v1"

    /// Real-estate unit number of the property.
    public var titleNumber: String
    /// Number of the title certificate issued (不动产权证书号).
    public var certificateNumber: String
    /// Region code where the property lies.
    public var propertyRegion: String
    /// Location of the property (坐落).
    public var address: String
    /// Floor area (建筑面积) in square metres, e.g.
    public var areaSquareMeters: Area
    /// Registered use (用途): residential (住宅), commercial (商业), office (办公), industrial (工业), parking (车位/车库), storage (仓储), other (其他).
    public var use: Use
    /// Form of ownership; 'sole' requires exactly one owner with share "1/1".
    public var coOwnership: CoOwnership
    /// Registered owners.
    public var owners: [Owner]
    /// Date the registration took effect (记载于不动产登记簿之日).
    public var registrationDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - titleNumber: Real-estate unit number of the property.
    ///   - certificateNumber: Number of the title certificate issued (不动产权证书号).
    ///   - propertyRegion: Region code where the property lies.
    ///   - address: Location of the property (坐落).
    ///   - areaSquareMeters: Floor area (建筑面积) in square metres, e.g.
    ///   - use: Registered use (用途): residential (住宅), commercial (商业), office (办公), industrial (工业), parking (车位/车库), storage (仓储), other (其他).
    ///   - coOwnership: Form of ownership; 'sole' requires exactly one owner with share "1/1".
    ///   - owners: Registered owners.
    ///   - registrationDate: Date the registration took effect (记载于不动产登记簿之日).
    public init(
        titleNumber: String,
        certificateNumber: String,
        propertyRegion: String,
        address: String,
        areaSquareMeters: Area,
        use: Use,
        coOwnership: CoOwnership,
        owners: [Owner],
        registrationDate: CivilDate
    ) {
        self.titleNumber = titleNumber
        self.certificateNumber = certificateNumber
        self.propertyRegion = propertyRegion
        self.address = address
        self.areaSquareMeters = areaSquareMeters
        self.use = use
        self.coOwnership = coOwnership
        self.owners = owners
        self.registrationDate = registrationDate
    }

    /// Registered use (用途): residential (住宅), commercial (商业), office (办公), industrial (工业), parking (车位/车库), storage (仓储), other (其他).
    public enum Use: String, Sendable, Hashable, Codable, CaseIterable {
        /// `residential`.
        case residential
        /// `commercial`.
        case commercial
        /// `office`.
        case office
        /// `industrial`.
        case industrial
        /// `parking`.
        case parking
        /// `storage`.
        case storage
        /// `other`.
        case other
    }
}
