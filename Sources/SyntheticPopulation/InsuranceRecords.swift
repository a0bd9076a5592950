/// Social- and medical-insurance records of the model.
struct InsuranceRecords {
    /// Insurance line (险种), in the order of the schema's enum.
    enum Line: UInt8, CaseIterable, Sendable {
        case pension, medical, unemployment, workInjury, maternity

        var text: StaticString {
            switch self {
            case .pension: "pension"
            case .medical: "medical"
            case .unemployment: "unemployment"
            case .workInjury: "work-injury"
            case .maternity: "maternity"
            }
        }

        /// Employer and employee rates in basis points, for an employee or a flexible worker.
        func rates(flexible: Bool) -> (employer: Int, employee: Int) {
            switch self {
            case .pension: flexible ? (0, 2000) : (1600, 800)
            case .medical: flexible ? (0, 800) : (900, 200)
            case .unemployment: (50, 50)
            case .workInjury: (40, 0)
            case .maternity: (80, 0)
            }
        }
    }

    struct Enrollment {
        var person: Int
        var line: Line
        var region: Int
        var employer: Int?
        var startMonth: Int
        var registered: CivilDay
        var name: String
        var endMonth: Int?
        var endDay = CivilDay(0)
        var endReason: StaticString = "other"
    }

    struct Posting {
        var serial: Int
        var person: Int
        var month: Int
        var line: Line
        var region: Int
        var base: Int
        var employerAmount: Int
        var employeeAmount: Int
        var employer: Int?
        var day: CivilDay
        var reversal: CivilDay?
        var reversalReason: StaticString = "other"
    }

    /// Unified social credit codes of the employers, `employersPerRegion` per region in region order.
    var employers: [String] = []
    static let employersPerRegion = 40
    var enrollments: [Enrollment] = []
    var postings: [Posting] = []
    /// First month of the contribution window.
    var windowStart = 0
    /// Last month of the window (the last month whose postings can be on or before "as of").
    var windowEnd = 0
}

/// Medical-insurance records of the model.
struct MedicalRecords {
    struct Enrollment {
        var person: Int
        var employer: Int?
        var region: Int
        var start: CivilDay
        var registered: CivilDay
        var name: String
    }

    struct Voucher {
        var person: Int
        var serial: Int
        var region: Int
        var day: CivilDay
        var second: Int
    }

    struct Filing {
        var person: Int
        var serial: Int
        var from: Int
        var to: Int
        var category: StaticString
        var validFrom: CivilDay
        var validTo: CivilDay?
        var registered: CivilDay
        var cancelRegistered: CivilDay?
        var cancelled: CivilDay?
    }

    var enrollments: [Enrollment] = []
    var vouchers: [Voucher] = []
    var filings: [Filing] = []
}
