import Events
import Foundation
import Testing
import TongbanTesting

@testable import Certificates

@Suite("Bitstring Status List", .sharedMachine)
struct BitstringStatusListTests {
    @Test("bit 0 is the most significant bit of the first byte")
    func bitOrder() throws {
        var list = try BitstringStatusList()
        #expect(list.bitCount == 131_072 && list.bytes.count == 16_384)
        try list.setBit(true, at: 0)
        #expect(list.bytes[0] == 0x80)
        try list.setBit(true, at: 7)
        #expect(list.bytes[0] == 0x81)
        try list.setBit(true, at: 8)
        #expect(list.bytes[1] == 0x80)
        try list.setBit(true, at: 131_071)
        #expect(list.bytes[16_383] == 0x01)
        try list.setBit(false, at: 0)
        #expect(list.bytes[0] == 0x01)
        #expect(try list.bit(at: 7) && !(try list.bit(at: 6)))
        #expect(throws: BitstringStatusListError.self) { try list.bit(at: 131_072) }
        #expect(throws: BitstringStatusListError.self) { try list.setBit(true, at: -1) }
        #expect(throws: BitstringStatusListError.self) { try BitstringStatusList(bitCount: 131_064) }
        #expect(throws: BitstringStatusListError.self) { try BitstringStatusList(bitCount: 131_073) }
        #expect(throws: BitstringStatusListError.self) { try BitstringStatusList(bytes: [0, 1, 2]) }
    }

    @Test("bits set at random survive encoding and decoding", arguments: [1, 2, 3] as [UInt64])
    func roundTrip(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var list = try BitstringStatusList(bitCount: 131_072 * Int(seed))
        var set = Set<Int>()
        for _ in 0..<1_000 { set.insert(Int.random(in: 0..<list.bitCount, using: &generator)) }
        for index in set { try list.setBit(true, at: index) }
        let encoded = try list.encodedList()
        #expect(encoded.hasPrefix("uH4sI"))  // u, then base64url of the GZIP magic 1f 8b 08
        #expect(try list.encodedList() == encoded)  // the same bits, the same text
        let decoded = try BitstringStatusList.decode(encodedList: encoded)
        #expect(decoded == list)
        var found = Set<Int>()
        for index in 0..<decoded.bitCount where try decoded.bit(at: index) { found.insert(index) }
        #expect(found == set)
    }

    @Test("an encoded list that is not base64url, not GZIP, cut short, followed by bytes, or too short is refused")
    func refusals() throws {
        var list = try BitstringStatusList()
        try list.setBit(true, at: 42)
        let encoded = try list.encodedList()
        let gzip = try Multibase.decode(encoded)
        func code(_ text: String) -> BitstringStatusListError.Code? {
            do {
                _ = try BitstringStatusList.decode(encodedList: text)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(String(encoded.dropFirst())) == .notMultibase)  // no u
        #expect(code("z" + Base58.encode(gzip)) == .notMultibase)
        #expect(code(encoded + "=") == .notMultibase)
        #expect(code(Multibase.base64url(Array("not gzip at all, not at all".utf8))) == .notGzip)
        #expect(code(Multibase.base64url(gzip.dropLast(12))) == .notGzip)  // cut short
        #expect(code(Multibase.base64url(gzip + [0, 0, 0, 0])) == .notGzip)  // bytes after the end
        #expect(code(Multibase.base64url(gzip + [0, 1, 2])) != nil)
        var corrupt = gzip
        corrupt[corrupt.count - 6] ^= 0x01  // the CRC-32
        #expect(code(Multibase.base64url(corrupt)) == .notGzip)
        #expect(code(Multibase.base64url(try GZip.compress([UInt8](repeating: 0, count: 100)))) == .badLength)
    }

    @Test("a GZIP bomb is refused early, never inflated whole", .timeLimit(.minutes(20)))
    func bomb() throws {
        let limit = BitstringStatusList.defaultMaximumBytes
        // 64 MiB of zeros: about 64 KiB compressed.
        let bombBytes = 64 * 1024 * 1024
        let compressed = try GZip.compress([UInt8](repeating: 0, count: bombBytes))
        #expect(compressed.count < 200_000)
        let encoded = Multibase.base64url(compressed)

        // Its trailer says how big it is: refused before inflating anything.
        let clock = ContinuousClock()
        var refusal: BitstringStatusListError?
        let elapsed = clock.measure {
            do {
                _ = try BitstringStatusList.decode(encodedList: encoded)
            } catch {
                refusal = error as? BitstringStatusListError
            }
        }
        #expect(refusal?.code == .tooLarge && refusal?.reason.contains("\(limit) allowed") == true)
        #expect(elapsed < .seconds(2), "took \(elapsed)")
        var inflated = 0
        #expect(throws: BitstringStatusListError.self) {
            try GZip.inflate(compressed, maximumBytes: limit) { inflated = max(inflated, $0) }
        }
        #expect(inflated == 0)

        // A bomb whose trailer lies (says 16 KiB): inflated chunk by chunk and refused once past the limit, holding
        // no more than the limit.
        var lying = compressed
        lying.replaceSubrange(lying.count - 4..<lying.count, with: [0x00, 0x40, 0x00, 0x00])
        inflated = 0
        let lyingElapsed = clock.measure {
            let error = #expect(throws: BitstringStatusListError.self) {
                try GZip.inflate(lying, maximumBytes: limit) { inflated = max(inflated, $0) }
            }
            #expect(error?.code == .tooLarge)
        }
        #expect(inflated <= limit && inflated > limit - 64 * 1024)
        #expect(lyingElapsed < .seconds(10), "took \(lyingElapsed)")
        #expect(code(ofDecoding: Multibase.base64url(lying), maximumBytes: 1 << 20) == .tooLarge)

        // Under a limit above its size, the same bomb is just a (large) list.
        #expect(try GZip.inflate(compressed, maximumBytes: bombBytes).count == bombBytes)
    }

    @Test("a member of exactly the limit is read, one byte more is not; a member missing only its trailer is refused")
    func exactLimitAndTrailer() throws {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let gzip = try GZip.compress(bytes)
        #expect(try GZip.inflate(gzip, maximumBytes: bytes.count) == bytes)
        let over = #expect(throws: BitstringStatusListError.self) {
            try GZip.inflate(gzip, maximumBytes: bytes.count - 1)
        }
        #expect(over?.code == .tooLarge)
        // Every byte of the data but no CRC-32 and no length (under a limit no trailer can pass): not a whole member.
        let cut = #expect(throws: BitstringStatusListError.self) {
            try GZip.inflate(Array(gzip.dropLast(8)), maximumBytes: 1 << 40)
        }
        #expect(cut?.code == .notGzip)
    }

    func code(ofDecoding text: String, maximumBytes: Int) -> BitstringStatusListError.Code? {
        do {
            _ = try BitstringStatusList.decode(encodedList: text, maximumBytes: maximumBytes)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("the status list credential and the entries pointing into it")
    func credential() throws {
        var list = try BitstringStatusList()
        try list.setBit(true, at: 5)
        let validFrom = try #require(Timestamp.parse("2026-12-06T08:30:00Z"))
        let url = "https://hub.example.gov.cn/v1/status-lists/1"
        let credential = try list.statusListCredential(
            id: url, issuer: "did:web:hub.example.gov.cn", statusPurpose: .revocation, validFrom: validFrom,
            validUntil: validFrom.addingTimeInterval(300))
        #expect(credential["@context"] == ["https://www.w3.org/ns/credentials/v2"])
        #expect(credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"])
        #expect(credential["id"] == .string(url) && credential["issuer"] == "did:web:hub.example.gov.cn")
        #expect(credential["validFrom"] == "2026-12-06T08:30:00Z" && credential["validUntil"] == "2026-12-06T08:35:00Z")
        let subject = try #require(credential["credentialSubject"])
        #expect(subject["id"] == .string(url + "#list") && subject["type"] == "BitstringStatusList")
        #expect(subject["statusPurpose"] == "revocation")
        let decoded = try BitstringStatusList.decode(encodedList: try #require(subject["encodedList"]?.stringValue))
        #expect(decoded == list)
        let noEnd = try list.statusListCredential(
            id: url, issuer: "did:web:x", statusPurpose: .suspension, validFrom: validFrom)
        #expect(noEnd["validUntil"] == nil && noEnd["credentialSubject"]?["statusPurpose"] == "suspension")

        let entry = BitstringStatusList.entry(statusListCredential: url, index: 5, statusPurpose: .suspension)
        #expect(
            JSONValue.object(entry) == [
                "id": .string(url + "#5"), "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
                "statusListIndex": "5", "statusListCredential": .string(url),
            ])
    }
}
