/// `property.title-transferred.v1`: Title transferred (不动产转移登记).
///
/// The real-estate registry has registered a change of owners: from transferDate the new owners hold the title with the shares given, and the previous owners' ownership ends that day.
public struct TitleTransferred: EventData {
    /// The catalog type this struct models.
    public static let eventType = "property.title-transferred.v1"

    /// Real-estate unit number of the property.
    public var titleNumber: String
    /// Number of the new title certificate issued to the new owners.
    public var certificateNumber: String
    /// Form of ownership after the transfer.
    public var coOwnership: CoOwnership
    /// Owners after the transfer (all of them, not only those who acquired a share).
    public var newOwners: [Owner]
    /// Date the transfer was registered.
    public var transferDate: CivilDate
    /// Ground of transfer: sale (买卖), inheritance (继承/遗赠), gift (赠与), court (法院判决/裁定), divorce-division (离婚析产), other.
    public var kind: Kind

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - titleNumber: Real-estate unit number of the property.
    ///   - certificateNumber: Number of the new title certificate issued to the new owners.
    ///   - coOwnership: Form of ownership after the transfer.
    ///   - newOwners: Owners after the transfer (all of them, not only those who acquired a share).
    ///   - transferDate: Date the transfer was registered.
    ///   - kind: Ground of transfer: sale (买卖), inheritance (继承/遗赠), gift (赠与), court (法院判决/裁定), divorce-division (离婚析产), other.
    public init(
        titleNumber: String,
        certificateNumber: String,
        coOwnership: CoOwnership,
        newOwners: [Owner],
        transferDate: CivilDate,
        kind: Kind
    ) {
        self.titleNumber = titleNumber
        self.certificateNumber = certificateNumber
        self.coOwnership = coOwnership
        self.newOwners = newOwners
        self.transferDate = transferDate
        self.kind = kind
    }

    /// Ground of transfer: sale (买卖), inheritance (继承/遗赠), gift (赠与), court (法院判决/裁定), divorce-division (离婚析产), other.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// `sale`.
        case sale
        /// `inheritance`.
        case inheritance
        /// `gift`.
        case gift
        /// `court`.
        case court
        /// `divorce-division`.
        case divorceDivision = "divorce-division"
        /// `other`.
        case other
    }
}
