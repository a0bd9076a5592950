import Events
import Foundation
import Testing
import TongbanTesting

/// The canonical forms one pass of RFC 8785 gives, and the idempotency hashes built on them.
@Suite("Canonical forms and event fingerprints", .sharedMachine)
struct FingerprintTests {
    static func object(_ value: JSONValue) throws -> JSONObject { try #require(value.objectValue) }

    @Test("canonical forms agree with canonicalizing each part on its own, for every schema example")
    func formsAgree() throws {
        for example in EventFixtures.examples {
            let envelope = try Self.object(EventFixtures.envelope(type: example.type, data: example.data))
            let forms = try EventCanonicalForms(envelope)
            #expect(forms.signingBytes == (try EventSignatures.signingBytes(of: envelope)), "\(example)")
            var content = envelope
            content["tbsig"] = nil
            content["tbkid"] = nil
            #expect(forms.contentBytes == (try JSONValue.object(content).canonicalBytes()), "\(example)")
            #expect(Array(forms.dataBytes) == (try example.data.canonicalBytes()), "\(example)")
        }
    }

    @Test("the README vector: signing bytes are the published canonical text")
    func readme() throws {
        let envelope = try Self.object(JSONParser.parse(ReadmeVector.envelopeText))
        let forms = try EventCanonicalForms(envelope)
        #expect(String(decoding: forms.signingBytes, as: UTF8.self) == ReadmeVector.canonical)
        #expect(!String(decoding: forms.contentBytes, as: UTF8.self).contains("tbkid"))
    }

    @Test("member names sort by UTF-16 code units, also past U+E000")
    func utf16Order() throws {
        // U+FF21 (FULLWIDTH A) is one UTF-16 unit 0xFF21; U+1F600 is the surrogate pair 0xD83D 0xDE00: by UTF-16
        // the emoji sorts first, by code point (and UTF-8 bytes) it would sort last.
        let value = try JSONParser.parse(#"{"\#u{FF21}":1,"\#u{1F600}":2,"b":3,"a":4,"ab":5,"é":6}"#)
        let text = String(decoding: try value.canonicalBytes(), as: UTF8.self)
        #expect(text == #"{"a":4,"ab":5,"b":3,"é":6,"\#u{1F600}":2,"\#u{FF21}":1}"#)
    }

    @Test("strings keep every character and escape only what RFC 8785 escapes")
    func escapes() throws {
        let value = JSONValue.string("a\"b\\c\u{08}\u{0C}\n\r\t\u{01}\u{1F}é中/")
        let text = String(decoding: try value.canonicalBytes(), as: UTF8.self)
        #expect(text == #""a\"b\\c\b\f\n\r\t\u0001\u001fé中/""#)
    }

    @Test("the content hash ignores member order, whitespace and the signature; the fact hash ignores the id")
    func fingerprints() throws {
        let data = EventFixtures.example("social-insurance.contribution-posted.v1")
        let event = try EventFixtures.validate(
            "social-insurance.contribution-posted.v1", data, key: data["personId"]?.stringValue)
        let print = try EventFingerprint(event)

        // The same envelope, members reversed, another signature and key id: the same content and fact.
        var reordered = JSONObject(try Self.object(event.json).members.reversed())
        reordered["tbsig"] = .string(String(repeating: "B", count: 85) + "A")
        reordered["tbkid"] = "social-insurance/test-2"
        let again = try EventFixtures.validator.validate(
            envelope: .object(reordered), key: data["personId"]?.stringValue.map { Array($0.utf8) },
            now: EventFixtures.now)
        #expect(try EventFingerprint(again) == print)
        // Computed from forms the caller already has: the same.
        #expect(try EventFingerprint(event, canonical: EventCanonicalForms(Self.object(event.json))) == print)

        // Another id: other content, the same fact.
        var renamed = try Self.object(event.json)
        renamed["id"] = "0193a5c2-7d4e-7c41-9a0e-000000000001"
        let resent = try EventFixtures.validator.validate(
            envelope: .object(renamed), key: data["personId"]?.stringValue.map { Array($0.utf8) },
            now: EventFixtures.now)
        #expect(try EventFingerprint(resent).content != print.content)
        #expect(try EventFingerprint(resent).fact == print.fact)

        // Another amount: another fact.
        var changed = try Self.object(data)
        changed["employeeAmount"] = "1.00"
        let other = try EventFixtures.validate(
            "social-insurance.contribution-posted.v1", .object(changed), key: data["personId"]?.stringValue)
        #expect(try EventFingerprint(other).fact != print.fact)
    }

    @Test("a v1 event and the v2 event it upcasts to are the same fact")
    func upcastFact() throws {
        let v1 = EventFixtures.example("household.name-changed.v1")
        var v2 = try Self.object(v1)
        v2["reasonCode"] = "unspecified"
        let old = try EventFixtures.validate("household.name-changed.v1", v1, key: "650102199502140485")
        // "unspecified" is not publishable in v2 (only upcasts produce it): read without the schema check.
        let new = try EventFixtures.validator.readAccepted(
            EventFixtures.envelope(type: "household.name-changed.v2", data: .object(v2)).serialized)
        #expect(try EventFingerprint(old).fact == EventFingerprint(new).fact)
        #expect(try EventFingerprint(old).content != EventFingerprint(new).content)
    }
}
