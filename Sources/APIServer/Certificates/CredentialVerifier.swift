import Certificates
import Events
import Foundation

/// Checks a certificate as any verifier should, and says why it is not valid.
///
/// Nothing is fetched from elsewhere: the only `@context` accepted is the VC 2.0 context (named, never dereferenced;
/// the JCS cryptosuite signs the document as JSON), the keys are the hub's own (current and retired), and the status
/// comes from the hub's own lists, or from a status list credential handed in with the request — checked like a
/// certificate and refused if it would inflate beyond ``maximumStatusListBytes``.
struct CredentialVerifier: Sendable {
    /// The largest status list accepted, inflated: 16 MiB (a list of 131,072 entries is 16 KiB).
    static let maximumStatusListBytes = 16 << 20

    let hub: CertificateHub
    let store: CertificateStore

    /// One check and its outcome.
    struct Check: Sendable {
        enum Name: String, Sendable { case context, issuer, key, signature, dates, status }
        var check: Name
        var passed: Bool
        var detail: String
    }

    /// The outcome.
    struct Verdict: Sendable {
        var checks: [Check]
        var id: String?
        /// The certificate as this hub stored it, when it is one of its own.
        var certificate: StoredCertificate?
        var verified: Bool { !checks.isEmpty && checks.allSatisfy(\.passed) }
        var failed: [String] { checks.filter { !$0.passed }.map(\.check.rawValue) }
        /// The citizens the certificate is about (for the audit log).
        var subjects: [String] { certificate.map { [$0.question.subject] } ?? [] }
    }

    /// A request that cannot be checked at all (400).
    struct Refusal: Error, Sendable {
        var code: String
        var title: String
        var detail: String
    }

    /// Checks `credential`.
    /// - Parameters:
    ///   - credential: the certificate.
    ///   - statusLists: status list credentials the verifier holds (optional).
    ///   - now: the time to check the dates against.
    /// - Returns: the verdict, check by check.
    /// - Throws: ``Refusal`` for a status list too large to inflate; `PostgresError`.
    func verify(_ credential: JSONObject, statusLists: [JSONObject], now: Date = Date()) async throws -> Verdict {
        var checks: [Check] = []
        let id = credential["id"]?.stringValue
        var stored: StoredCertificate?
        if let id, id.hasPrefix("urn:uuid:"), let uuid = UUID(uuidString: String(id.dropFirst(9))) {
            stored = try await store.certificate(uuid)
        }
        checks.append(Self.contextCheck(credential))
        checks.append(issuerCheck(credential))
        let (keyCheck, _) = self.keyCheck(credential)
        checks.append(keyCheck)
        checks.append(signatureCheck(credential))
        checks.append(Self.datesCheck(credential, now: now))
        checks.append(try await statusCheck(credential, given: statusLists))
        return Verdict(checks: checks, id: id, certificate: stored)
    }

    /// Only the VC 2.0 context, first; nothing else is accepted, so nothing is ever fetched.
    static func contextCheck(_ credential: JSONObject) -> Check {
        guard let contexts = credential["@context"]?.arrayValue, !contexts.isEmpty else {
            return Check(
                check: .context, passed: false, detail: "@context must be a list starting with the VC 2.0 context")
        }
        guard contexts[0] == .string(CertificateIssuer.credentialsContext) else {
            return Check(
                check: .context, passed: false,
                detail: "the first @context must be \(CertificateIssuer.credentialsContext)")
        }
        for context in contexts.dropFirst() where context != .string(CertificateIssuer.credentialsContext) {
            let named = context.stringValue ?? "an embedded context"
            return Check(
                check: .context, passed: false,
                detail: "the @context \(named) is not one this verifier knows; remote contexts are never fetched")
        }
        return Check(check: .context, passed: true, detail: "VC 2.0")
    }

    /// The issuer is this hub's DID.
    func issuerCheck(_ credential: JSONObject) -> Check {
        let issuer = credential["issuer"]?.stringValue ?? credential["issuer"]?.objectValue?["id"]?.stringValue
        guard let issuer else { return Check(check: .issuer, passed: false, detail: "no issuer") }
        guard issuer == hub.did else {
            return Check(check: .issuer, passed: false, detail: "issued by \(issuer), not by this hub (\(hub.did))")
        }
        return Check(check: .issuer, passed: true, detail: issuer)
    }

    /// The proof names a key this hub publishes (current or retired).
    func keyCheck(_ credential: JSONObject) -> (Check, HubKey?) {
        guard let method = credential["proof"]?.objectValue?["verificationMethod"]?.stringValue else {
            return (Check(check: .key, passed: false, detail: "the proof names no verification method"), nil)
        }
        let prefix = "\(hub.did)#"
        guard method.hasPrefix(prefix), let key = hub.keys.key(id: String(method.dropFirst(prefix.count))) else {
            return (
                Check(check: .key, passed: false, detail: "\(method) is not a key this hub publishes"), nil
            )
        }
        let state = key.retiredAt == nil ? "current" : "retired, still published"
        return (Check(check: .key, passed: true, detail: "\(key.id) (\(state))"), key)
    }

    /// The Data Integrity proof (`eddsa-jcs-2022`) holds.
    func signatureCheck(_ credential: JSONObject) -> Check {
        let verdict = DataIntegrity.verify(credential) { hub.didWeb.publicKey(for: $0, in: hub.keys) }
        guard verdict.isValid else { return Check(check: .signature, passed: false, detail: verdict.reason) }
        return Check(check: .signature, passed: true, detail: "eddsa-jcs-2022 proof verified")
    }

    /// `validFrom` ≤ now ≤ `validUntil`.
    static func datesCheck(_ credential: JSONObject, now: Date) -> Check {
        guard let fromText = credential["validFrom"]?.stringValue, let from = Timestamp.parse(fromText) else {
            return Check(check: .dates, passed: false, detail: "validFrom is missing or not a date-time")
        }
        if from > now { return Check(check: .dates, passed: false, detail: "not valid before \(fromText)") }
        if let untilText = credential["validUntil"]?.stringValue {
            guard let until = Timestamp.parse(untilText) else {
                return Check(check: .dates, passed: false, detail: "validUntil is not a date-time")
            }
            if until < now { return Check(check: .dates, passed: false, detail: "expired at \(untilText)") }
            return Check(check: .dates, passed: true, detail: "valid from \(fromText) until \(untilText)")
        }
        return Check(check: .dates, passed: true, detail: "valid from \(fromText)")
    }

    /// Every status entry's bit is clear.
    func statusCheck(_ credential: JSONObject, given: [JSONObject]) async throws -> Check {
        let entries: [JSONValue]
        switch credential["credentialStatus"] {
        case .array(let list): entries = list
        case .object(let one): entries = [.object(one)]
        default: return Check(check: .status, passed: false, detail: "no credentialStatus: it cannot be revoked")
        }
        var findings: [String] = []
        for entry in entries {
            guard let entry = entry.objectValue, entry["type"] == .string("BitstringStatusListEntry"),
                let purpose = entry["statusPurpose"]?.stringValue,
                let indexText = entry["statusListIndex"]?.stringValue, let index = Int(indexText), index >= 0,
                let url = entry["statusListCredential"]?.stringValue
            else {
                return Check(check: .status, passed: false, detail: "a credentialStatus entry is malformed")
            }
            let set: Bool
            if let list = given.first(where: { $0["id"]?.stringValue == url }) {
                set = try listBit(list, index: index, purpose: purpose)
            } else if url.hasPrefix("\(hub.publicBaseURL)/v1/status-lists/"),
                let number = Int(url.dropFirst("\(hub.publicBaseURL)/v1/status-lists/".count)),
                let bits = try await store.listBits(number)
            {
                guard bits.purpose == purpose, index < bits.size else {
                    return Check(check: .status, passed: false, detail: "\(url) is not a \(purpose) list of this size")
                }
                set = bits.setIndexes.contains(index)
            } else {
                return Check(
                    check: .status, passed: false,
                    detail: "\(url) is not one of this hub's lists and was not given; nothing remote is fetched")
            }
            if set { findings.append(purpose == "revocation" ? "revoked" : "suspended") }
        }
        guard findings.isEmpty else {
            return Check(check: .status, passed: false, detail: findings.joined(separator: ", "))
        }
        return Check(check: .status, passed: true, detail: "neither revoked nor suspended")
    }

    /// The bit at `index` of a status list credential handed in, after checking it like a certificate.
    func listBit(_ list: JSONObject, index: Int, purpose: String) throws -> Bool {
        guard let subject = list["credentialSubject"]?.objectValue,
            subject["statusPurpose"]?.stringValue == purpose, let encoded = subject["encodedList"]?.stringValue
        else {
            throw Refusal(
                code: "status-list-invalid", title: "Status list invalid",
                detail: "the status list given has no encodedList for \(purpose)")
        }
        let bits: BitstringStatusList
        do {
            bits = try BitstringStatusList.decode(encodedList: encoded, maximumBytes: Self.maximumStatusListBytes)
        } catch let error where error.code == .tooLarge {
            throw Refusal(
                code: "status-list-too-large", title: "Status list too large",
                detail: "the status list would inflate beyond \(Self.maximumStatusListBytes >> 20) MiB: refused")
        } catch {
            throw Refusal(
                code: "status-list-invalid", title: "Status list invalid",
                detail: "the encodedList cannot be read: \(error)")
        }
        // Inflated first, within its bound (cheap, and refused before anything else if it is a bomb), then checked.
        let issuer = issuerCheck(list)
        let signature = signatureCheck(list)
        guard issuer.passed, signature.passed else {
            throw Refusal(
                code: "status-list-invalid", title: "Status list invalid",
                detail:
                    "the status list given is not signed by this hub: \(issuer.passed ? signature.detail : issuer.detail)"
            )
        }
        guard index < bits.bitCount, let set = try? bits.bit(at: index) else {
            throw Refusal(
                code: "status-list-invalid", title: "Status list invalid",
                detail: "index \(index) is past the list's end")
        }
        return set
    }
}
