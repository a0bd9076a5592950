/// The catalog's event types, with what the generator needs to know about each.
enum EventKind: Int, CaseIterable, Sendable {
    case birthRegistered, personRegistered, householdEstablished, memberMovedIn, memberMovedOut
    case nameChangedV1, nameChangedV2, deathRegistered
    case marriageRegistered, divorceRegistered, adoptionRegistered, adoptionDissolved
    case insuranceEnrolled, contributionPosted, contributionReversed, enrollmentEnded
    case medicalEnrolled, voucherActivated, careFiled, careCancelled
    case titleRegistered, titleTransferred, mortgageRegistered, mortgageReleased, seizureRegistered, seizureLifted

    private static let table:
        [(type: String, department: GeneratedEvent.Department, required: String, pastDate: String?)] = [
            ("household.birth-registered.v1", .household, "birthPlace", nil),
            ("household.person-registered.v1", .household, "previousRegion", "effectiveDate"),
            ("household.household-established.v1", .household, "address", "establishedDate"),
            ("household.member-moved-in.v1", .household, "relationshipToHead", "effectiveDate"),
            ("household.member-moved-out.v1", .household, "relationshipToHead", "effectiveDate"),
            ("household.name-changed.v1", .household, "newName", "effectiveDate"),
            ("household.name-changed.v2", .household, "reasonCode", "effectiveDate"),
            ("household.death-registered.v1", .household, "dateOfDeath", "dateOfDeath"),
            ("civil-affairs.marriage-registered.v1", .civilAffairs, "registryRegion", "registrationDate"),
            ("civil-affairs.divorce-registered.v1", .civilAffairs, "kind", "divorceDate"),
            ("civil-affairs.adoption-registered.v1", .civilAffairs, "registryRegion", "effectiveDate"),
            ("civil-affairs.adoption-dissolved.v1", .civilAffairs, "kind", "dissolvedDate"),
            ("social-insurance.enrolled.v1", .socialInsurance, "startMonth", nil),
            ("social-insurance.contribution-posted.v1", .socialInsurance, "base", nil),
            ("social-insurance.contribution-reversed.v1", .socialInsurance, "reasonCode", nil),
            ("social-insurance.enrollment-ended.v1", .socialInsurance, "endMonth", nil),
            ("medical-insurance.enrolled.v1", .medicalInsurance, "scheme", nil),
            ("medical-insurance.e-voucher-activated.v1", .medicalInsurance, "voucherId", nil),
            ("medical-insurance.cross-region-care-filed.v1", .medicalInsurance, "category", nil),
            ("medical-insurance.cross-region-care-cancelled.v1", .medicalInsurance, "cancelledDate", nil),
            ("property.title-registered.v1", .property, "use", "registrationDate"),
            ("property.title-transferred.v1", .property, "kind", "transferDate"),
            ("property.mortgage-registered.v1", .property, "amount", "registrationDate"),
            ("property.mortgage-released.v1", .property, "releaseDate", "releaseDate"),
            ("property.seizure-registered.v1", .property, "court", "registrationDate"),
            ("property.seizure-lifted.v1", .property, "liftedDate", "liftedDate"),
        ]

    /// `<department>.<event>.v<N>`.
    var type: String { Self.table[rawValue].type }
    var department: GeneratedEvent.Department { Self.table[rawValue].department }
    /// A required member of `data` that is neither the Kafka key nor the subject (removed by an anomaly).
    var requiredField: String { Self.table[rawValue].required }
    /// A date member of `data` that must not lie in the future, if the type has one.
    var pastDateField: String? { Self.table[rawValue].pastDate }
    /// Whether `data` carries birthDate and sex that must agree with the ID.
    var carriesBirthDateAndSex: Bool { self == .birthRegistered || self == .personRegistered }
    /// Whether `data` carries owners with shares.
    var carriesShares: Bool { self == .titleRegistered || self == .titleTransferred }
}
