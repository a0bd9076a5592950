/// Property records of the model: titles, their successive ownerships, and encumbrances.
struct PropertyRecords {
    /// Ground of a transfer, as the schema's `kind` enum spells it.
    enum TransferKind: UInt8 {
        case sale, inheritance, gift, divorceDivision

        var text: StaticString {
            switch self {
            case .sale: "sale"
            case .inheritance: "inheritance"
            case .gift: "gift"
            case .divorceDivision: "divorce-division"
            }
        }
    }

    struct Title {
        var number: String
        var region: Int
        var address: String
        var area: Int
        var use: StaticString
    }

    struct Ownership {
        var title: Int
        var day: CivilDay
        var owners: [(person: Int, share: Fraction)]
        var coOwnership: StaticString
        var certificate: String
        /// `nil` for the first registration, else the ground of transfer.
        var transferKind: TransferKind?
    }

    struct Encumbrance {
        var title: Int
        var isMortgage: Bool
        var number: String
        var owners: [Int]
        var day: CivilDay
        /// Released or lifted on this day (the encumbrance no longer applies from it).
        var end: CivilDay?
        var endOwners: [Int] = []
        var creditor = ""
        var creditCode = ""
        var amount = 0
        var caseNumber = ""
        /// Last day of a seizure's period, if the order sets one.
        var validTo: CivilDay?
    }

    var titles: [Title] = []
    var ownerships: [Ownership] = []
    var encumbrances: [Encumbrance] = []
}
