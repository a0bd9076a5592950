/// `property.mortgage-registered.v1`: Mortgage registered (抵押权首次登记).
///
/// The real-estate registry has registered a mortgage (抵押权) on the title in favour of the creditor, securing the amount given, from registrationDate until mortgage-released for the same mortgageRecordNumber.
public struct MortgageRegistered: EventData {
    /// The catalog type this struct models.
    public static let eventType = "property.mortgage-registered.v1"

    /// Number of the mortgage registration certificate (不动产登记证明号), as printed.
    public var mortgageRecordNumber: String
    /// Real-estate unit number of the mortgaged property.
    public var titleNumber: String
    /// Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    public var ownerIds: [String]
    /// The mortgagee (抵押权人).
    public var creditor: Creditor
    /// Secured amount (被担保主债权数额 / 最高债权额) in yuan.
    public var amount: Money
    /// Date the mortgage was registered.
    public var registrationDate: CivilDate

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - mortgageRecordNumber: Number of the mortgage registration certificate (不动产登记证明号), as printed.
    ///   - titleNumber: Real-estate unit number of the mortgaged property.
    ///   - ownerIds: Citizen IDs of the title's registered owners at the time of this record (for a mortgage, the mortgagors; for a seizure, the owners whose property is seized).
    ///   - creditor: The mortgagee (抵押权人).
    ///   - amount: Secured amount (被担保主债权数额 / 最高债权额) in yuan.
    ///   - registrationDate: Date the mortgage was registered.
    public init(
        mortgageRecordNumber: String,
        titleNumber: String,
        ownerIds: [String],
        creditor: Creditor,
        amount: Money,
        registrationDate: CivilDate
    ) {
        self.mortgageRecordNumber = mortgageRecordNumber
        self.titleNumber = titleNumber
        self.ownerIds = ownerIds
        self.creditor = creditor
        self.amount = amount
        self.registrationDate = registrationDate
    }

    /// The mortgagee (抵押权人).
    public struct Creditor: Sendable, Hashable, Codable {
        /// Name of the mortgagee (抵押权人), usually a bank.
        public var name: String
        /// Unified social credit code of the mortgagee; leave out only when the mortgagee is a natural person.
        public var creditCode: String?

        /// Creates the value from its fields.
        /// - Parameters:
        ///   - name: Name of the mortgagee (抵押权人), usually a bank.
        ///   - creditCode: Unified social credit code of the mortgagee; leave out only when the mortgagee is a natural person.
        public init(name: String, creditCode: String? = nil) {
            self.name = name
            self.creditCode = creditCode
        }
    }
}
