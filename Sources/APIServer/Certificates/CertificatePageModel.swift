import Certificates
import Events
import Foundation

/// Builds the verification page's model from a stored certificate: the answer in words from the claims as certified,
/// the evidence and dates from the signed credential, the status from the row now.
enum CertificatePageModel {
    /// The model.
    /// - Parameters:
    ///   - certificate: the certificate as stored.
    ///   - hub: the hub's configuration.
    ///   - now: when the status was read.
    /// - Returns: the page's model.
    /// - Throws: `JSONParseError` when the stored credential or claims cannot be read.
    static func make(_ certificate: StoredCertificate, hub: CertificateHub, now: Date = Date()) throws
        -> VerificationPage.Model
    {
        let claims = try JSONParser.parse(certificate.claims)
        let credential = try JSONParser.parse(certificate.credential).objectValue ?? JSONObject()
        let subject = credential["credentialSubject"]?.objectValue
        let title = CertificateWording.title(certificate.kind, claims: claims)
        let statements = CertificateWording.statements(certificate.kind, claims: claims).map {
            VerificationPage.Text(zh: $0.zh, en: $0.en)
        }
        let people = CertificateWording.people(certificate.kind, claims: claims).map {
            VerificationPage.Person(role: .init(zh: $0.role.zh, en: $0.role.en), name: $0.name ?? "—", citizenID: $0.id)
        }
        let evidence = (credential["evidence"]?.arrayValue ?? []).compactMap { item -> VerificationPage.Evidence? in
            guard let item = item.objectValue, let type = item["eventType"]?.stringValue else { return nil }
            let day = item["effectiveTime"]?.stringValue.flatMap { text in
                // The day in Beijing, the registers' day.
                Timestamp.parse(text).map(RFC3339.beijingDate)
            }
            return VerificationPage.Evidence(
                eventType: type, department: item["department"]?.stringValue ?? "", effectiveDate: day,
                eventID: item["id"]?.stringValue.map { String($0.dropFirst("urn:uuid:".count)) })
        }
        let state: VerificationPage.State =
            switch certificate.status.state {
            case .valid: .valid
            case .suspended: .suspended
            case .revoked: .revoked
            }
        let cause = certificate.causedByType.map {
            VerificationPage.Cause(eventType: $0, department: String($0.prefix { $0 != "." }))
        }
        let asOf = subject?["asOf"]?.stringValue.flatMap { CivilDate($0) } ?? CertificateServicesAPI.beijingToday()
        let method = credential["proof"]?.objectValue?["verificationMethod"]?.stringValue ?? ""
        return VerificationPage.Model(
            certificateID: certificate.id.uuidString.lowercased(), pageURL: hub.pageURL(certificate.id),
            kind: .init(zh: title.zh, en: title.en), statements: statements, people: people,
            issuedAt: certificate.issuedAt,
            validFrom: (credential["validFrom"]?.stringValue).flatMap(Timestamp.parse) ?? certificate.issuedAt,
            validUntil: certificate.validUntil, asOf: asOf, isAsOfCertificate: certificate.asOf != nil,
            status: .init(
                state: state, reason: certificate.status.reason, changedAt: certificate.status.changedAt,
                causedBy: cause),
            statusCheckedAt: now, evidence: evidence, issuerDID: hub.did,
            keyID: String(method.split(separator: "#").last ?? ""))
    }
}
