import Events
import Foundation
import Testing
import TongbanSchemas
import TongbanTesting

/// The worked example of schemas/README.md: RFC 8032 §7.1 TEST 1 key, a name-changed.v2 event.
enum ReadmeVector {
    static let seedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let canonical =
        #"{"data":{"effectiveDate":"2026-06-15","newName":"阿依古丽·买买提","personId":"650102199502140485","previousName":"阿依古丽","reasonCode":"correction"},"datacontenttype":"application/json","id":"0193a5c2-7d4e-7c41-9a0e-5b2f6c8d1e3f","source":"/departments/household/650102","specversion":"1.0","subject":"650102199502140485","tbkid":"household/rfc8032-test-1","time":"2026-06-15T00:00:00+08:00","type":"household.name-changed.v2"}"#
    static let tbsig = "_7T9O-H3U_l2JaFMRIBdvV2lUSig1UlcwOWYEOsfTAZKyJgMxuqoMQoHb3Lf8zafq8-lpCeQer_sEoor_8cLBQ"

    static var seed: [UInt8] {
        stride(from: 0, to: seedHex.count, by: 2).map { i in
            let start = seedHex.index(seedHex.startIndex, offsetBy: i)
            return UInt8(seedHex[start..<seedHex.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    static func key() throws -> DepartmentSigningKey {
        try DepartmentSigningKey(keyID: "household/rfc8032-test-1", seed: seed)
    }

    /// The README's envelope, members in a non-canonical order, with whitespace.
    static let envelopeText = """
        {
          "specversion": "1.0",
          "id": "0193a5c2-7d4e-7c41-9a0e-5b2f6c8d1e3f",
          "source": "/departments/household/650102",
          "type": "household.name-changed.v2",
          "subject": "650102199502140485",
          "time": "2026-06-15T00:00:00+08:00",
          "datacontenttype": "application/json",
          "tbkid": "household/rfc8032-test-1",
          "data": {
            "personId": "650102199502140485",
            "previousName": "阿依古丽",
            "newName": "阿依古丽·买买提",
            "effectiveDate": "2026-06-15",
            "reasonCode": "correction"
          }
        }
        """
}

@Suite("Event signatures (Ed25519 over RFC 8785 canonical bytes)", .sharedMachine)
struct SignatureTests {
    func signedReadmeEvent() throws -> JSONObject {
        try #require(try ReadmeVector.key().sign(JSONParser.parse(ReadmeVector.envelopeText)).objectValue)
    }

    func registry(_ keys: [(DepartmentSigningKey, EventKeyRegistry.Status)]) throws -> EventKeyRegistry {
        var registry = EventKeyRegistry()
        for (key, status) in keys { try registry.register(key, status: status) }
        return registry
    }

    @Test("the README's worked example: same canonical bytes, same signature, and it verifies")
    func readmeVector() throws {
        let envelope = try JSONParser.parse(ReadmeVector.envelopeText)
        let canonical = try envelope.canonicalBytes()
        #expect(String(decoding: canonical, as: UTF8.self) == ReadmeVector.canonical)
        #expect(canonical.count == 441)
        let signed = try signedReadmeEvent()
        #expect(signed["tbsig"]?.stringValue == ReadmeVector.tbsig)
        try registry([(ReadmeVector.key(), .active)]).verify(signed)
    }

    @Test("the signed example in schemas/events/envelope.v1.json verifies with the published test key")
    func embeddedEnvelopeExample() throws {
        let schema = try JSONParser.parse(try #require(TongbanSchemaFiles.bytes("events/envelope.v1.json")))
        let first = try #require(schema["examples"]?.arrayValue?.first?.objectValue)
        #expect(first["tbsig"]?.stringValue == ReadmeVector.tbsig)
        try registry([(ReadmeVector.key(), .active)]).verify(first)
    }

    @Test("a fresh key signs and verifies; member order and whitespace do not matter")
    func roundTrip() throws {
        let key = try DepartmentSigningKey.generate(department: "property", name: "2026-test")
        let envelope: JSONValue = [
            "specversion": "1.0", "type": "property.seizure-lifted.v1",
            "data": ["b": "2", "a": "1", "c": ["x", "中文\n"]],
        ]
        let signed = try #require(try key.sign(envelope).objectValue)
        let reparsed = try #require(try JSONParser.parse(JSONValue.object(signed).serialized).objectValue)
        try registry([(key, .active)]).verify(reparsed)
        // Reordered members: still the same canonical bytes.
        let reordered = JSONObject(signed.members.reversed())
        try registry([(key, .active)]).verify(reordered)
    }

    @Test("a flipped byte anywhere fails with badSignature")
    func flippedByte() throws {
        let signed = try signedReadmeEvent()
        let registry = try registry([(ReadmeVector.key(), .active)])
        var altered = signed
        altered["data"] = try JSONParser.parse(
            #"{"personId":"650102199502140485","previousName":"阿依古丽","newName":"阿依古丽·买买堤","effectiveDate":"2026-06-15","reasonCode":"correction"}"#
        )
        #expect(throws: EventSignatureError.self) { try registry.verify(altered) }
        do { try registry.verify(altered) } catch { #expect(error.code == .badSignature) }

        var badSig = signed
        var sig = Array(ReadmeVector.tbsig)
        sig[10] = sig[10] == "A" ? "B" : "A"
        badSig["tbsig"] = .string(String(sig))
        do {
            try registry.verify(badSig)
            Issue.record("a flipped signature byte verified")
        } catch { #expect(error.code == .badSignature) }
    }

    @Test("wrong key, unknown key id, retired, revoked, other department, unsigned: each its own error")
    func distinctErrors() throws {
        let signed = try signedReadmeEvent()
        let impostor = try DepartmentSigningKey.generate(department: "household", name: "impostor")

        func code(_ registry: EventKeyRegistry, _ envelope: JSONObject, _ purpose: EventKeyRegistry.Purpose = .ingest)
            -> EventSignatureError.Code?
        {
            do {
                try registry.verify(envelope, purpose: purpose)
                return nil
            } catch { return error.code }
        }

        // The registry holds another public key under the same id: the signature does not match.
        var wrong = EventKeyRegistry()
        try wrong.register(keyID: "household/rfc8032-test-1", publicKey: impostor.publicKeyBytes)
        #expect(code(wrong, signed) == .badSignature)

        #expect(code(EventKeyRegistry(), signed) == .unknownKey)

        let retired = try registry([(ReadmeVector.key(), .retired)])
        #expect(code(retired, signed, .ingest) == .keyRetired)
        #expect(code(retired, signed, .evidence) == nil, "a retired key still verifies old events")

        let revoked = try registry([(ReadmeVector.key(), .revoked)])
        #expect(code(revoked, signed, .evidence) == .keyRevoked)

        let propertyKey = try DepartmentSigningKey.generate(department: "property", name: "p1")
        let crossSigned = try #require(try propertyKey.sign(.object(signed)).objectValue)
        #expect(code(try registry([(propertyKey, .active)]), crossSigned) == .departmentMismatch)

        var unsigned = signed
        unsigned["tbsig"] = nil
        #expect(code(try registry([(ReadmeVector.key(), .active)]), unsigned) == .missingSignature)

        // The same 64 bytes spelled differently (unused trailing bits set) is not accepted either.
        var respelled = signed
        var letters = Array(ReadmeVector.tbsig)
        letters[letters.count - 1] = letters.last == "Q" ? "R" : "Q"
        respelled["tbsig"] = .string(String(letters))
        #expect(code(try registry([(ReadmeVector.key(), .active)]), respelled) == .malformedSignature)

        var malformed = signed
        malformed["tbsig"] = "not+base64/=="
        #expect(code(try registry([(ReadmeVector.key(), .active)]), malformed) == .malformedSignature)
    }

    @Test("keys: private JWK round-trips, public JWK Set loads with statuses, bad files are named")
    func jwk() throws {
        let key = try DepartmentSigningKey.generate(department: "civil-affairs", name: "2026-01")
        let loaded = try DepartmentSigningKey.load(jwk: Array(key.privateJWK.utf8))
        #expect(loaded.keyID == "civil-affairs/2026-01")
        #expect(loaded.publicKeyBytes == key.publicKeyBytes)
        #expect(!key.publicJWK.contains("\"d\""))

        var registry = EventKeyRegistry()
        try registry.register(key, status: .retired)
        let reloaded = try EventKeyRegistry.load(jwks: Array(registry.jwks.utf8))
        #expect(reloaded.status(of: "civil-affairs/2026-01") == .retired)

        #expect(throws: EventSignatureError.self) { try DepartmentSigningKey.load(jwk: Array(key.publicJWK.utf8)) }
        // A key set naming a key twice (which could turn a revoked key active again) or holding a
        // private part is refused.
        let twice = "{\"keys\":[\(key.publicJWK),\(key.publicJWK)]}"
        #expect(throws: EventSignatureError.self) { try EventKeyRegistry.load(jwks: Array(twice.utf8)) }
        #expect(throws: EventSignatureError.self) { try EventKeyRegistry.load(jwks: Array(key.privateJWK.utf8)) }
        #expect(throws: EventSignatureError.self) { try DepartmentSigningKey.generate(department: "police", name: "x") }
        #expect(throws: EventSignatureError.self) {
            var r = EventKeyRegistry()
            try r.register(key)
            try r.register(keyID: key.keyID, publicKey: Array(repeating: 7, count: 32))
        }
    }
}

@Suite("Strict JSON and RFC 8785", .sharedMachine)
struct JSONTests {
    @Test("canonical form: sorted members, minimal escapes, unicode as is")
    func canonical() throws {
        let value = try JSONParser.parse(#"{"b": [1, true, null], "a": "x\"y\\z\u0001\n\u4e2d\u2028", "A": {}}"#)
        let text = String(decoding: try value.canonicalBytes(), as: UTF8.self)
        #expect(text == "{\"A\":{},\"a\":\"x\\\"y\\\\z\\u0001\\n中\u{2028}\",\"b\":[1,true,null]}")
    }

    @Test(
        "ambiguous or malformed input is refused",
        arguments: [
            #"{"a":1,"a":2}"#, #"{"a":"\ud800"}"#, #"[1,]"#, #"{"a":1} x"#, "\u{FEFF}{}", #"[01]"#, "{\"a\":\"tab\t\"}",
            String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
        ])
    func refused(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("numbers other than small integers have no canonical form")
    func numbers() throws {
        #expect(String(decoding: try JSONParser.parse("[-0, 12]").canonicalBytes(), as: UTF8.self) == "[0,12]")
        #expect(throws: JSONCanonicalizationError.self) { try JSONParser.parse("[1.5]").canonicalBytes() }
    }
}
