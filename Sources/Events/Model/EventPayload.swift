/// The typed fact of a validated event, for projectors to `switch` on.
///
/// Superseded versions never appear here: they are upcast first (a `household.name-changed.v1`
/// event arrives as ``nameChanged(_:)`` with reason code ``NameChangedV2/ReasonCode/unspecified``).
public enum EventPayload: Sendable, Hashable {
    /// `household.birth-registered.v1`.
    case birthRegistered(BirthRegistered)
    /// `household.person-registered.v1`.
    case personRegistered(PersonRegistered)
    /// `household.household-established.v1`.
    case householdEstablished(HouseholdEstablished)
    /// `household.member-moved-in.v1`.
    case memberMovedIn(MemberMovedIn)
    /// `household.member-moved-out.v1`.
    case memberMovedOut(MemberMovedOut)
    /// `household.name-changed.v2`.
    case nameChanged(NameChangedV2)
    /// `household.death-registered.v1`.
    case deathRegistered(DeathRegistered)
    /// `civil-affairs.marriage-registered.v1`.
    case marriageRegistered(MarriageRegistered)
    /// `civil-affairs.divorce-registered.v1`.
    case divorceRegistered(DivorceRegistered)
    /// `civil-affairs.adoption-registered.v1`.
    case adoptionRegistered(AdoptionRegistered)
    /// `civil-affairs.adoption-dissolved.v1`.
    case adoptionDissolved(AdoptionDissolved)
    /// `social-insurance.enrolled.v1`.
    case socialInsuranceEnrolled(SocialInsuranceEnrolled)
    /// `social-insurance.contribution-posted.v1`.
    case contributionPosted(ContributionPosted)
    /// `social-insurance.contribution-reversed.v1`.
    case contributionReversed(ContributionReversed)
    /// `social-insurance.enrollment-ended.v1`.
    case enrollmentEnded(EnrollmentEnded)
    /// `medical-insurance.enrolled.v1`.
    case medicalInsuranceEnrolled(MedicalInsuranceEnrolled)
    /// `medical-insurance.e-voucher-activated.v1`.
    case eVoucherActivated(EVoucherActivated)
    /// `medical-insurance.cross-region-care-filed.v1`.
    case crossRegionCareFiled(CrossRegionCareFiled)
    /// `medical-insurance.cross-region-care-cancelled.v1`.
    case crossRegionCareCancelled(CrossRegionCareCancelled)
    /// `property.title-registered.v1`.
    case titleRegistered(TitleRegistered)
    /// `property.title-transferred.v1`.
    case titleTransferred(TitleTransferred)
    /// `property.mortgage-registered.v1`.
    case mortgageRegistered(MortgageRegistered)
    /// `property.mortgage-released.v1`.
    case mortgageReleased(MortgageReleased)
    /// `property.seizure-registered.v1`.
    case seizureRegistered(SeizureRegistered)
    /// `property.seizure-lifted.v1`.
    case seizureLifted(SeizureLifted)

    /// The current catalog type of the payload (after upcasting).
    public var eventType: String {
        switch self {
        case .birthRegistered: BirthRegistered.eventType
        case .personRegistered: PersonRegistered.eventType
        case .householdEstablished: HouseholdEstablished.eventType
        case .memberMovedIn: MemberMovedIn.eventType
        case .memberMovedOut: MemberMovedOut.eventType
        case .nameChanged: NameChangedV2.eventType
        case .deathRegistered: DeathRegistered.eventType
        case .marriageRegistered: MarriageRegistered.eventType
        case .divorceRegistered: DivorceRegistered.eventType
        case .adoptionRegistered: AdoptionRegistered.eventType
        case .adoptionDissolved: AdoptionDissolved.eventType
        case .socialInsuranceEnrolled: SocialInsuranceEnrolled.eventType
        case .contributionPosted: ContributionPosted.eventType
        case .contributionReversed: ContributionReversed.eventType
        case .enrollmentEnded: EnrollmentEnded.eventType
        case .medicalInsuranceEnrolled: MedicalInsuranceEnrolled.eventType
        case .eVoucherActivated: EVoucherActivated.eventType
        case .crossRegionCareFiled: CrossRegionCareFiled.eventType
        case .crossRegionCareCancelled: CrossRegionCareCancelled.eventType
        case .titleRegistered: TitleRegistered.eventType
        case .titleTransferred: TitleTransferred.eventType
        case .mortgageRegistered: MortgageRegistered.eventType
        case .mortgageReleased: MortgageReleased.eventType
        case .seizureRegistered: SeizureRegistered.eventType
        case .seizureLifted: SeizureLifted.eventType
        }
    }

    /// Decodes `data` of a current type with `Codable` (the reference the validator's faster
    /// ``read(type:data:)`` is tested against).
    /// - Parameters:
    ///   - type: a current catalog type (upcast superseded types first).
    ///   - data: the validated `data` object.
    /// - Returns: the payload, or `nil` when the type has no model.
    /// - Throws: `DecodingError` when `data` does not fit the model.
    static func decode(type: String, data: JSONValue) throws -> EventPayload? {
        func decode<T: EventData>(_ model: T.Type) throws -> T { try JSONValueDecoder.decode(model, from: data) }
        switch type {
        case BirthRegistered.eventType: return .birthRegistered(try decode(BirthRegistered.self))
        case PersonRegistered.eventType: return .personRegistered(try decode(PersonRegistered.self))
        case HouseholdEstablished.eventType: return .householdEstablished(try decode(HouseholdEstablished.self))
        case MemberMovedIn.eventType: return .memberMovedIn(try decode(MemberMovedIn.self))
        case MemberMovedOut.eventType: return .memberMovedOut(try decode(MemberMovedOut.self))
        case NameChangedV2.eventType: return .nameChanged(try decode(NameChangedV2.self))
        case DeathRegistered.eventType: return .deathRegistered(try decode(DeathRegistered.self))
        case MarriageRegistered.eventType: return .marriageRegistered(try decode(MarriageRegistered.self))
        case DivorceRegistered.eventType: return .divorceRegistered(try decode(DivorceRegistered.self))
        case AdoptionRegistered.eventType: return .adoptionRegistered(try decode(AdoptionRegistered.self))
        case AdoptionDissolved.eventType: return .adoptionDissolved(try decode(AdoptionDissolved.self))
        case SocialInsuranceEnrolled.eventType:
            return .socialInsuranceEnrolled(try decode(SocialInsuranceEnrolled.self))
        case ContributionPosted.eventType: return .contributionPosted(try decode(ContributionPosted.self))
        case ContributionReversed.eventType: return .contributionReversed(try decode(ContributionReversed.self))
        case EnrollmentEnded.eventType: return .enrollmentEnded(try decode(EnrollmentEnded.self))
        case MedicalInsuranceEnrolled.eventType:
            return .medicalInsuranceEnrolled(try decode(MedicalInsuranceEnrolled.self))
        case EVoucherActivated.eventType: return .eVoucherActivated(try decode(EVoucherActivated.self))
        case CrossRegionCareFiled.eventType: return .crossRegionCareFiled(try decode(CrossRegionCareFiled.self))
        case CrossRegionCareCancelled.eventType:
            return .crossRegionCareCancelled(try decode(CrossRegionCareCancelled.self))
        case TitleRegistered.eventType: return .titleRegistered(try decode(TitleRegistered.self))
        case TitleTransferred.eventType: return .titleTransferred(try decode(TitleTransferred.self))
        case MortgageRegistered.eventType: return .mortgageRegistered(try decode(MortgageRegistered.self))
        case MortgageReleased.eventType: return .mortgageReleased(try decode(MortgageReleased.self))
        case SeizureRegistered.eventType: return .seizureRegistered(try decode(SeizureRegistered.self))
        case SeizureLifted.eventType: return .seizureLifted(try decode(SeizureLifted.self))
        default: return nil
        }
    }
}
