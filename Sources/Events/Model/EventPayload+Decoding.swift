import Foundation

/// Reading the typed models from validated `data`, member by member, without `Codable`.
///
/// `Codable` through a `Decoder` goes through existential containers and unspecialized generics for every member;
/// it cost a projector more than reading the JSON did. These readers give the same values (a test compares them with
/// `JSONValueDecoder` on every schema example and a generated population), and name the member that does not fit.

/// Why `data` does not fit its model.
struct PayloadFieldError: Error, CustomStringConvertible {
    let description: String
}

/// A value of a model's member, read from its JSON.
protocol JSONFieldValue {
    /// The value, or `nil` when the JSON does not hold one of this type.
    static func read(_ json: JSONValue) -> Self?
}

/// The members of one JSON object, for a model's reader.
struct JSONFields {
    let object: JSONObject

    init(_ json: JSONValue) throws(PayloadFieldError) {
        guard case .object(let object) = json else { throw PayloadFieldError(description: "not an object") }
        self.object = object
    }

    /// A required member.
    func callAsFunction<T: JSONFieldValue>(_ key: String) throws(PayloadFieldError) -> T {
        guard let json = object[key], json != .null else { throw PayloadFieldError(description: "\(key) is missing") }
        guard let value = T.read(json) else { throw PayloadFieldError(description: "\(key) is not a \(T.self)") }
        return value
    }

    /// An optional member (absent or `null` is `nil`).
    func callAsFunction<T: JSONFieldValue>(_ key: String) throws(PayloadFieldError) -> T? {
        guard let json = object[key], json != .null else { return nil }
        guard let value = T.read(json) else { throw PayloadFieldError(description: "\(key) is not a \(T.self)") }
        return value
    }
}

extension String: JSONFieldValue {
    static func read(_ json: JSONValue) -> String? { json.stringValue }
}

extension Date: JSONFieldValue {
    static func read(_ json: JSONValue) -> Date? { json.stringValue.flatMap { RFC3339.parse($0)?.date } }
}

extension CivilDate: JSONFieldValue {
    static func read(_ json: JSONValue) -> CivilDate? { json.stringValue.flatMap { CivilDate($0) } }
}

extension CivilMonth: JSONFieldValue {
    static func read(_ json: JSONValue) -> CivilMonth? { json.stringValue.flatMap { CivilMonth($0) } }
}

extension Money: JSONFieldValue {
    static func read(_ json: JSONValue) -> Money? { json.stringValue.flatMap { Money($0) } }
}

extension Area: JSONFieldValue {
    static func read(_ json: JSONValue) -> Area? { json.stringValue.flatMap { Area($0) } }
}

extension Share: JSONFieldValue {
    static func read(_ json: JSONValue) -> Share? { json.stringValue.flatMap { Share($0) } }
}

extension Array: JSONFieldValue where Element: JSONFieldValue {
    static func read(_ json: JSONValue) -> [Element]? {
        guard case .array(let elements) = json else { return nil }
        var result: [Element] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let value = Element.read(element) else { return nil }
            result.append(value)
        }
        return result
    }
}

/// Enumerations written as their raw string.
protocol JSONFieldEnum: JSONFieldValue, RawRepresentable where RawValue == String {}

extension JSONFieldEnum {
    static func read(_ json: JSONValue) -> Self? { json.stringValue.flatMap { Self(rawValue: $0) } }
}

/// Nested objects, read with their own reader.
protocol JSONFieldObject: JSONFieldValue {
    init(fields: JSONFields) throws(PayloadFieldError)
}

extension JSONFieldObject {
    static func read(_ json: JSONValue) -> Self? {
        guard let fields = try? JSONFields(json) else { return nil }
        return try? Self(fields: fields)
    }
}

extension Sex: JSONFieldEnum {}
extension RelationshipToHead: JSONFieldEnum {}
extension InsuranceType: JSONFieldEnum {}
extension CoOwnership: JSONFieldEnum {}
extension NameChangedV2.ReasonCode: JSONFieldEnum {}
extension DivorceRegistered.Kind: JSONFieldEnum {}
extension AdoptionDissolved.Kind: JSONFieldEnum {}
extension ContributionReversed.ReasonCode: JSONFieldEnum {}
extension EnrollmentEnded.ReasonCode: JSONFieldEnum {}
extension MedicalInsuranceEnrolled.Scheme: JSONFieldEnum {}
extension CrossRegionCareFiled.Category: JSONFieldEnum {}
extension TitleRegistered.Use: JSONFieldEnum {}
extension TitleTransferred.Kind: JSONFieldEnum {}

extension NamedPerson: JSONFieldObject {
    init(fields f: JSONFields) throws(PayloadFieldError) { self.init(id: try f("id"), name: try f("name")) }
}

extension Owner: JSONFieldObject {
    init(fields f: JSONFields) throws(PayloadFieldError) {
        self.init(personId: try f("personId"), name: try f("name"), share: try f("share"))
    }
}

extension MortgageRegistered.Creditor: JSONFieldObject {
    init(fields f: JSONFields) throws(PayloadFieldError) {
        self.init(name: try f("name"), creditCode: try f("creditCode"))
    }
}

extension EventPayload {
    /// Reads `data` of a current type into its model.
    /// - Parameters:
    ///   - type: a current catalog type (upcast superseded types first).
    ///   - data: the `data` object.
    /// - Returns: the payload, or `nil` when the type has no model.
    /// - Throws: `PayloadFieldError` naming the member that does not fit.
    static func read(type: String, data: JSONValue) throws(PayloadFieldError) -> EventPayload? {
        let f = try JSONFields(data)
        switch type {
        case BirthRegistered.eventType:
            return .birthRegistered(
                BirthRegistered(
                    childId: try f("childId"), childName: try f("childName"), sex: try f("sex"),
                    birthDate: try f("birthDate"), birthPlace: try f("birthPlace"), motherId: try f("motherId"),
                    fatherId: try f("fatherId"), householdId: try f("householdId"),
                    relationshipToHead: try f("relationshipToHead")))
        case PersonRegistered.eventType:
            return .personRegistered(
                PersonRegistered(
                    personId: try f("personId"), name: try f("name"), sex: try f("sex"), birthDate: try f("birthDate"),
                    householdId: try f("householdId"), relationshipToHead: try f("relationshipToHead"),
                    previousRegion: try f("previousRegion"), effectiveDate: try f("effectiveDate")))
        case HouseholdEstablished.eventType:
            return .householdEstablished(
                HouseholdEstablished(
                    householdId: try f("householdId"), addressRegionCode: try f("addressRegionCode"),
                    address: try f("address"), headId: try f("headId"), establishedDate: try f("establishedDate")))
        case MemberMovedIn.eventType:
            return .memberMovedIn(
                MemberMovedIn(
                    householdId: try f("householdId"), personId: try f("personId"),
                    relationshipToHead: try f("relationshipToHead"), effectiveDate: try f("effectiveDate")))
        case MemberMovedOut.eventType:
            return .memberMovedOut(
                MemberMovedOut(
                    householdId: try f("householdId"), personId: try f("personId"),
                    relationshipToHead: try f("relationshipToHead"), effectiveDate: try f("effectiveDate")))
        case NameChangedV2.eventType:
            return .nameChanged(
                NameChangedV2(
                    personId: try f("personId"), previousName: try f("previousName"), newName: try f("newName"),
                    effectiveDate: try f("effectiveDate"), reasonCode: try f("reasonCode"), note: try f("note")))
        case DeathRegistered.eventType:
            return .deathRegistered(
                DeathRegistered(
                    personId: try f("personId"), dateOfDeath: try f("dateOfDeath"), deathPlace: try f("deathPlace")))
        case MarriageRegistered.eventType:
            return .marriageRegistered(
                MarriageRegistered(
                    marriageRecordNumber: try f("marriageRecordNumber"), spouseA: try f("spouseA"),
                    spouseB: try f("spouseB"), registrationDate: try f("registrationDate"),
                    registryRegion: try f("registryRegion")))
        case DivorceRegistered.eventType:
            return .divorceRegistered(
                DivorceRegistered(
                    marriageRecordNumber: try f("marriageRecordNumber"), spouseA: try f("spouseA"),
                    spouseB: try f("spouseB"), divorceDate: try f("divorceDate"), kind: try f("kind"),
                    registryRegion: try f("registryRegion"), courtCaseNumber: try f("courtCaseNumber")))
        case AdoptionRegistered.eventType:
            return .adoptionRegistered(
                AdoptionRegistered(
                    adoptionRecordNumber: try f("adoptionRecordNumber"), childId: try f("childId"),
                    adoptiveParentIds: try f("adoptiveParentIds"), birthParentIds: try f("birthParentIds"),
                    effectiveDate: try f("effectiveDate"), registryRegion: try f("registryRegion")))
        case AdoptionDissolved.eventType:
            return .adoptionDissolved(
                AdoptionDissolved(
                    adoptionRecordNumber: try f("adoptionRecordNumber"), childId: try f("childId"),
                    dissolvedDate: try f("dissolvedDate"), kind: try f("kind")))
        case SocialInsuranceEnrolled.eventType:
            return .socialInsuranceEnrolled(
                SocialInsuranceEnrolled(
                    personId: try f("personId"), name: try f("name"), insuranceType: try f("insuranceType"),
                    employerId: try f("employerId"), regionCode: try f("regionCode"),
                    startMonth: try f("startMonth")))
        case ContributionPosted.eventType:
            return .contributionPosted(
                ContributionPosted(
                    postingId: try f("postingId"), personId: try f("personId"), month: try f("month"),
                    insuranceType: try f("insuranceType"), regionCode: try f("regionCode"), base: try f("base"),
                    employerAmount: try f("employerAmount"), employeeAmount: try f("employeeAmount"),
                    employerId: try f("employerId")))
        case ContributionReversed.eventType:
            return .contributionReversed(
                ContributionReversed(
                    postingId: try f("postingId"), personId: try f("personId"), reasonCode: try f("reasonCode"),
                    note: try f("note")))
        case EnrollmentEnded.eventType:
            return .enrollmentEnded(
                EnrollmentEnded(
                    personId: try f("personId"), insuranceType: try f("insuranceType"),
                    regionCode: try f("regionCode"), endMonth: try f("endMonth"), reasonCode: try f("reasonCode"),
                    note: try f("note")))
        case MedicalInsuranceEnrolled.eventType:
            return .medicalInsuranceEnrolled(
                MedicalInsuranceEnrolled(
                    personId: try f("personId"), name: try f("name"), scheme: try f("scheme"),
                    regionCode: try f("regionCode"), startDate: try f("startDate"), employerId: try f("employerId")))
        case EVoucherActivated.eventType:
            return .eVoucherActivated(
                EVoucherActivated(
                    personId: try f("personId"), voucherId: try f("voucherId"), activatedAt: try f("activatedAt")))
        case CrossRegionCareFiled.eventType:
            return .crossRegionCareFiled(
                CrossRegionCareFiled(
                    filingId: try f("filingId"), personId: try f("personId"), fromRegion: try f("fromRegion"),
                    toRegion: try f("toRegion"), category: try f("category"), validFrom: try f("validFrom"),
                    validTo: try f("validTo")))
        case CrossRegionCareCancelled.eventType:
            return .crossRegionCareCancelled(
                CrossRegionCareCancelled(
                    filingId: try f("filingId"), personId: try f("personId"), cancelledDate: try f("cancelledDate")))
        case TitleRegistered.eventType:
            return .titleRegistered(
                TitleRegistered(
                    titleNumber: try f("titleNumber"), certificateNumber: try f("certificateNumber"),
                    propertyRegion: try f("propertyRegion"), address: try f("address"),
                    areaSquareMeters: try f("areaSquareMeters"), use: try f("use"),
                    coOwnership: try f("coOwnership"), owners: try f("owners"),
                    registrationDate: try f("registrationDate")))
        case TitleTransferred.eventType:
            return .titleTransferred(
                TitleTransferred(
                    titleNumber: try f("titleNumber"), certificateNumber: try f("certificateNumber"),
                    coOwnership: try f("coOwnership"), newOwners: try f("newOwners"),
                    transferDate: try f("transferDate"), kind: try f("kind")))
        case MortgageRegistered.eventType:
            return .mortgageRegistered(
                MortgageRegistered(
                    mortgageRecordNumber: try f("mortgageRecordNumber"), titleNumber: try f("titleNumber"),
                    ownerIds: try f("ownerIds"), creditor: try f("creditor"), amount: try f("amount"),
                    registrationDate: try f("registrationDate")))
        case MortgageReleased.eventType:
            return .mortgageReleased(
                MortgageReleased(
                    mortgageRecordNumber: try f("mortgageRecordNumber"), titleNumber: try f("titleNumber"),
                    ownerIds: try f("ownerIds"), releaseDate: try f("releaseDate")))
        case SeizureRegistered.eventType:
            return .seizureRegistered(
                SeizureRegistered(
                    seizureRecordNumber: try f("seizureRecordNumber"), titleNumber: try f("titleNumber"),
                    ownerIds: try f("ownerIds"), court: try f("court"), caseNumber: try f("caseNumber"),
                    registrationDate: try f("registrationDate"), validTo: try f("validTo")))
        case SeizureLifted.eventType:
            return .seizureLifted(
                SeizureLifted(
                    seizureRecordNumber: try f("seizureRecordNumber"), titleNumber: try f("titleNumber"),
                    ownerIds: try f("ownerIds"), liftedDate: try f("liftedDate")))
        default:
            return nil
        }
    }
}
