import Certificates
import Events
import Foundation
import Postgres

/// Issues certificates: asks the question, states the answer as a W3C Verifiable Credential 2.0, signs it with a Data
/// Integrity proof (`eddsa-jcs-2022`) and stores it with its status slot.
struct CertificateIssuer: Sendable {
    /// The context every certificate names; the verifier accepts no other (and fetches none).
    static let credentialsContext = "https://www.w3.org/ns/credentials/v2"

    let hub: CertificateHub
    let store: CertificateStore
    let database: PostgresClient
    var asker = CertificateAsker()

    /// What issuing came to.
    enum Outcome: Sendable {
        case issued(StoredCertificate)
        /// The views are being rebuilt.
        case notReady
        /// The views hold nothing to certify (no relation between the two people).
        case nothingToCertify
    }

    /// Issues a certificate.
    /// - Parameters:
    ///   - question: the question, its parameters checked.
    ///   - day: the day it is answered for.
    ///   - asOfCertificate: whether it states what the registers said on `day` (before today) rather than what holds.
    ///   - validDays: how long it is valid.
    ///   - clientID: the issuing client.
    ///   - now: the time of issuance.
    /// - Returns: the outcome, with the certificate when issued.
    /// - Throws: `PostgresError`, or what signing throws.
    func issue(
        _ question: CertificateQuestion, on day: CivilDate, asOfCertificate: Bool, validDays: Int, clientID: String,
        now: Date = Date()
    ) async throws -> (outcome: Outcome, answer: CertifiedAnswer?) {
        let answer = try await asker.ask(question, on: day, database: database)
        guard answer.ready else { return (.notReady, answer) }
        guard answer.certifiable else { return (.nothingToCertify, answer) }
        let id = UUID()
        let issuedAt = Timestamp.wholeSeconds(now)
        let validUntil = issuedAt.addingTimeInterval(Double(validDays) * 86_400)
        let claimsText = String(decoding: answer.claims.serialized, as: UTF8.self)
        let position = String(decoding: try JSONEncoder().encode(answer.streamPosition), as: UTF8.self)
        // A slot drawn by two issuances at once goes to the first to store it: the other draws again and signs anew.
        for _ in 0..<16 {
            let slot = try await store.drawSlot()
            let document = credential(
                id: id, question: question, day: day, asOfCertificate: asOfCertificate, answer: answer, slot: slot,
                validFrom: issuedAt, validUntil: validUntil)
            let key = hub.keys.current
            let signed = try DataIntegrity.sign(
                document: document, with: key, verificationMethod: hub.verificationMethod(key.id), created: issuedAt)
            let text = String(decoding: try JSONValue.object(signed).canonicalBytes(), as: UTF8.self)
            let certificate = StoredCertificate(
                id: id, question: question,
                asOf: asOfCertificate ? day.description : nil, claims: claimsText, credential: text,
                clientID: clientID, issuedAt: issuedAt, validUntil: validUntil, status: StoredStatus(state: .valid))
            if try await store.insert(certificate, watch: answer.watch, readAt: position, slot: slot) {
                return (.issued(certificate), answer)
            }
        }
        throw CertificateStoreError.noStatusList
    }

    /// The unsigned credential.
    func credential(
        id: UUID, question: CertificateQuestion, day: CivilDate, asOfCertificate: Bool, answer: CertifiedAnswer,
        slot: StatusSlot, validFrom: Date, validUntil: Date
    ) -> JSONObject {
        let kind = question.kind
        let wording = CertificateWording.title(kind, claims: answer.claims)
        var types: [JSONValue] = [.string("VerifiableCredential"), .string(kind.credentialType)]
        if asOfCertificate { types.append(.string("TongbanAsOfCertificate")) }
        let evidence = answer.evidence.map { cited in
            JSONValue.members([
                ("id", .string("urn:uuid:\(cited.eventId)")), ("type", .array([.string("TongbanEvent")])),
                ("eventType", .string(cited._type)), ("department", .string(cited.department)),
                ("effectiveTime", .string(Timestamp.format(cited.effectiveTime))),
            ])
        }
        let position = answer.streamPosition.map {
            JSONValue.members([
                ("topic", .string($0.topic)), ("partition", .number(String($0.partition))),
                ("nextOffset", .number(String($0.nextOffset))),
            ])
        }
        let status: [JSONValue] = [
            (StatusPurpose.revocation, slot.revocationList), (StatusPurpose.suspension, slot.suspensionList),
        ].map { purpose, list in
            .object(
                BitstringStatusList.entry(
                    statusListCredential: hub.statusListURL(list), index: slot.index, statusPurpose: purpose))
        }
        return JSONObject([
            (key: "@context", value: .array([.string(Self.credentialsContext)])),
            (key: "id", value: .string("urn:uuid:\(id.uuidString.lowercased())")),
            (key: "type", value: .array(types)),
            (key: "issuer", value: .string(hub.did)),
            (key: "name", value: .string("\(wording.zh) / \(wording.en)")),
            (key: "validFrom", value: .string(Timestamp.format(validFrom))),
            (key: "validUntil", value: .string(Timestamp.format(validUntil))),
            (
                key: "credentialSubject",
                value: .members([
                    ("id", .string("urn:tongban:citizen:\(question.subject)")),
                    ("certificateKind", .string(kind.rawValue)), ("asOf", .string(day.description)),
                    ("asOfCertificate", .bool(asOfCertificate)), ("answer", answer.claims),
                    ("streamPosition", .array(position)),
                    ("verificationPage", .string(hub.pageURL(id))),
                ])
            ),
            (key: "evidence", value: .array(evidence)),
            (key: "credentialStatus", value: .array(status)),
        ])
    }

}
