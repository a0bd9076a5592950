import Events
import Foundation
import Postgres

/// The kinds of certificate, each the answer to one of the API's questions (the enum of `schemas/openapi.yaml`).
typealias CertificateKind = Components.Schemas.CertificateKind

extension CertificateKind {
    /// The credential type naming the kind.
    var credentialType: String {
        switch self {
        case .kinship: "TongbanKinshipCertificate"
        case .socialInsurance: "TongbanSocialInsuranceCertificate"
        case .property: "TongbanPropertyCertificate"
        case .medicalInsurance: "TongbanMedicalInsuranceCertificate"
        }
    }
}

/// The question a certificate answers, with its parameters read and checked: what is stored with the certificate so
/// that the re-checker can ask it again.
struct CertificateQuestion: Sendable, Hashable, Codable {
    var kind: CertificateKind
    var subject: String
    var relative: String?
    var from: String?
    var to: String?
    var family: Bool?
}

/// What the views answered to a certificate's question on a day, split into what the certificate states (`claims`,
/// compared on every re-check) and what it cites (`evidence`, the stream position).
struct CertifiedAnswer: Sendable {
    /// Whether the views can be certified from (`view_state().ready`).
    var ready: Bool
    /// The answer as the certificate states it: no event ids, nothing beyond the question (no household, no address).
    var claims: JSONValue
    /// Whether there is anything to certify (a kinship question with no relation has nothing).
    var certifiable: Bool
    /// The citizen IDs and record numbers the answer names: an event naming one of them re-checks the certificate.
    var watch: [String]
    /// Every citizen whose data the answer read (for the audit log).
    var people: [String]
    var evidence: [Components.Schemas.Evidence]
    var streamPosition: [Components.Schemas.StreamPosition]
}

/// Asks a certificate's question of the views, with the API's own question statements, and turns the answer into
/// claims.
struct CertificateAsker: Sendable {
    var kinship = KinshipQuestion()
    var contributions = ContributionQuestion()
    var titles = TitlesQuestion()
    var medical = MedicalInsuranceQuestion()

    /// Asks `question` as of `day`.
    /// - Parameters:
    ///   - question: the certificate's question.
    ///   - day: the day (the as-of day, or today for a certificate stating what holds now).
    ///   - database: the pool.
    /// - Returns: the answer.
    /// - Throws: `PostgresError`, or a decoding error if the views answered something unexpected.
    func ask(_ question: CertificateQuestion, on day: CivilDate, database: PostgresClient) async throws
        -> CertifiedAnswer
    {
        let subject = question.subject
        switch question.kind {
        case .kinship:
            let relative = question.relative ?? ""
            let answer = try await kinship.ask(
                subject: subject, relative: relative, asOf: day.description, on: database)
            let people = try await PersonFacts.lookup([subject, relative], asOf: day, on: database)
            let relations = answer.relations.map {
                JSONValue.members([
                    ("relation", .string($0.relation.rawValue)), ("basis", .string($0.basis.rawValue)),
                    ("via", .array($0.via.map(JSONValue.string))),
                ])
            }
            let claims = JSONValue.members([
                ("subject", people[0].claim), ("relative", people[1].claim), ("relations", .array(relations)),
            ])
            let via = answer.relations.flatMap(\.via)
            return CertifiedAnswer(
                ready: answer.ready, claims: claims, certifiable: !answer.relations.isEmpty,
                watch: Self.unique([subject, relative] + via), people: Self.unique([subject, relative]),
                evidence: answer.evidence + people.compactMap(\.deathEvidence),
                streamPosition: answer.streamPosition)
        case .socialInsurance:
            let from = question.from ?? ""
            let to = question.to ?? ""
            let answer = try await contributions.ask(subject: subject, from: from, to: to, on: database)
            let people = try await PersonFacts.lookup([subject], asOf: day, on: database)
            let insurance = answer.insurance.map {
                JSONValue.members([
                    ("insuranceType", .string($0.insuranceType.rawValue)),
                    ("monthsPaid", .number(String($0.monthsPaid))), ("firstMonth", .string($0.firstMonth)),
                    ("lastMonth", .string($0.lastMonth)),
                    ("unpaidMonths", .array($0.unpaidMonths.map(JSONValue.string))),
                    ("longestRun", .number(String($0.longestRun))), ("continuous", .bool($0.continuous)),
                ])
            }
            let claims = JSONValue.members([
                ("subject", people[0].nameOnly), ("from", .string(from)), ("to", .string(to)),
                ("insurance", .array(insurance)),
            ])
            return CertifiedAnswer(
                ready: answer.ready, claims: claims, certifiable: true, watch: [subject], people: [subject],
                evidence: answer.evidence, streamPosition: answer.streamPosition)
        case .property:
            let family = question.family ?? false
            let answer = try await titles.ask(subject: subject, asOf: day.description, family: family, on: database)
            let people = try await PersonFacts.lookup([subject], asOf: day, on: database)
            let members = answer.members.map {
                JSONValue.members([("citizenId", .string($0.personId)), ("role", .string($0.role.rawValue))])
            }
            let held = answer.titles.map { title in
                JSONValue.members(
                    [
                        ("titleNumber", .string(title.titleNumber)), ("holderId", .string(title.holderId)),
                        ("share", .string(title.share)), ("coOwnership", .string(title.coOwnership.rawValue)),
                        ("certificateNumber", .string(title.certificateNumber)),
                        ("ownedFrom", .string(title.ownedFrom)),
                    ] + (title.region.map { [("region", JSONValue.string($0))] } ?? []) + [
                        (
                            "encumbrances",
                            .array(
                                title.encumbrances.map {
                                    .members([
                                        ("kind", .string($0.kind.rawValue)),
                                        ("registeredOn", .string($0.registeredOn)),
                                    ])
                                })
                        )
                    ])
            }
            let claims = JSONValue.members([
                ("subject", people[0].nameOnly), ("family", .bool(family)), ("members", .array(members)),
                ("holdsProperty", .bool(!answer.titles.isEmpty)), ("titles", .array(held)),
            ])
            let memberIDs = answer.members.map(\.personId)
            return CertifiedAnswer(
                ready: answer.ready, claims: claims, certifiable: true,
                watch: Self.unique([subject] + memberIDs + answer.titles.map(\.titleNumber)),
                people: Self.unique([subject] + memberIDs), evidence: answer.evidence,
                streamPosition: answer.streamPosition)
        case .medicalInsurance:
            let answer = try await medical.ask(subject: subject, asOf: day.description, region: nil, on: database)
            let people = try await PersonFacts.lookup([subject], asOf: day, on: database)
            var fields: [(String, JSONValue)] = [
                ("subject", people[0].nameOnly), ("enrolled", .bool(answer.enrollment != nil)),
            ]
            if let enrollment = answer.enrollment {
                fields.append(
                    (
                        "enrollment",
                        .members([
                            ("scheme", .string(enrollment.scheme.rawValue)),
                            ("regionCode", .string(enrollment.regionCode)),
                            ("startDate", .string(enrollment.startDate)),
                        ])
                    ))
            }
            let filings = answer.filings.map { filing in
                JSONValue.members(
                    [
                        ("filingId", .string(filing.filingId)), ("fromRegion", .string(filing.fromRegion)),
                        ("toRegion", .string(filing.toRegion)), ("category", .string(filing.category)),
                        ("validFrom", .string(filing.validFrom)),
                    ] + (filing.validTo.map { [("validTo", JSONValue.string($0))] } ?? []))
            }
            fields.append(("filings", .array(filings)))
            return CertifiedAnswer(
                ready: answer.ready, claims: .members(fields), certifiable: true,
                watch: Self.unique([subject] + answer.filings.map(\.filingId)), people: [subject],
                evidence: answer.evidence, streamPosition: answer.streamPosition)
        }
    }

    /// The values in their first order, once each.
    static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}

/// What a certificate says of a person: name, sex and whether they were alive on the day, from the register.
struct PersonFacts: Sendable {
    var citizenID: String
    var name: String?
    var sex: String?
    /// The date of death, when one is registered on or before the day.
    var diedOn: String?
    /// The death's event, cited as evidence.
    var deathEvidence: Components.Schemas.Evidence?

    /// The person as a kinship certificate states them (whether alive is part of the claim).
    var claim: JSONValue {
        var fields: [(String, JSONValue)] = [("citizenId", .string(citizenID))]
        if let name { fields.append(("name", .string(name))) }
        if let sex { fields.append(("sex", .string(sex))) }
        fields.append(("living", .bool(diedOn == nil)))
        if let diedOn { fields.append(("diedOn", .string(diedOn))) }
        return .members(fields)
    }

    /// The person as the other certificates name them.
    var nameOnly: JSONValue {
        var fields: [(String, JSONValue)] = [("citizenId", .string(citizenID))]
        if let name { fields.append(("name", .string(name))) }
        return .members(fields)
    }

    /// Looks people up, in one statement read through the per-person indexes.
    /// - Parameters:
    ///   - ids: citizen IDs.
    ///   - day: the day.
    ///   - database: the pool.
    /// - Returns: one entry per ID, in order.
    /// - Throws: `PostgresError`.
    static func lookup(_ ids: [String], asOf day: CivilDate, on database: PostgresClient) async throws -> [PersonFacts]
    {
        let rows = try await database.query(
            """
            SELECT p.id,
                coalesce((SELECT c.new_name FROM tongban.name_change c
                          WHERE c.person_id = p.id AND c.effective_on <= \(day.description)::date
                          ORDER BY c.effective_on DESC, c.effective_time DESC, c.event_id DESC LIMIT 1), r.name),
                r.sex, d.date_of_death::text, d.event_id::text, d.type, d.effective_time, d.topic,
                d.partition, d.message_offset
            FROM unnest(\(ids)::text[]) WITH ORDINALITY AS p(id, n)
            LEFT JOIN LATERAL (
                SELECT x.name, x.sex FROM tongban.person_registration x WHERE x.person_id = p.id
                ORDER BY x.registered_on, x.effective_time, x.event_id LIMIT 1
            ) r ON true
            LEFT JOIN LATERAL (
                SELECT x.date_of_death, x.event_id, e.type, e.effective_time, e.topic, e.partition,
                    e.message_offset
                FROM tongban.death x JOIN tongban.event e ON e.event_id = x.event_id
                WHERE x.person_id = p.id AND x.date_of_death <= \(day.description)::date
                ORDER BY x.date_of_death, x.effective_time, x.event_id LIMIT 1
            ) d ON true
            ORDER BY p.n
            """)
        return try rows.map { row in
            var facts = PersonFacts(
                citizenID: try row.decode(String.self, at: 0), name: try row.decode(String?.self, at: 1),
                sex: try row.decode(String?.self, at: 2), diedOn: try row.decode(String?.self, at: 3))
            if let eventID = try row.decode(String?.self, at: 4) {
                let type = try row.decode(String.self, at: 5)
                facts.deathEvidence = Components.Schemas.Evidence(
                    eventId: eventID, _type: type, department: String(type.prefix { $0 != "." }),
                    effectiveTime: try row.decode(Date.self, at: 6), topic: try row.decode(String.self, at: 7),
                    partition: Int(try row.decode(Int32.self, at: 8)), offset: try row.decode(Int64.self, at: 9))
            }
            return facts
        }
    }
}

extension JSONValue {
    /// An object of these members, in this order.
    static func members(_ pairs: [(String, JSONValue)]) -> JSONValue {
        .object(JSONObject(pairs.map { (key: $0.0, value: $0.1) }))
    }
}
