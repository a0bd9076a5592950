import Foundation
import Testing
import TongbanTesting

@testable import Certificates

@Suite("Base58 and multibase", .sharedMachine)
struct MultibaseTests {
    @Test("base58btc known values: leading zero bytes become 1s, text round-trips")
    func base58KnownValues() throws {
        let cases: [([UInt8], String)] = [
            ([], ""),
            ([0], "1"),
            ([0, 0, 0x28, 0x7F, 0xB4, 0xCD], "11233QC4"),
            (Array("Hello World!".utf8), "2NEpo7TZRRrLZSi2U"),
            (
                Array("The quick brown fox jumps over the lazy dog.".utf8),
                "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"
            ),
            ([0xFF], "5Q"),
            ([0x01, 0x00], "5R"),
        ]
        for (bytes, text) in cases {
            #expect(Base58.encode(bytes) == text)
            #expect(Base58.decode(text) == bytes)
        }
        // 0, O, I and l are not in the alphabet.
        for bad in ["0", "O", "I", "l", "abc+", "é"] { #expect(Base58.decode(bad) == nil) }
    }

    @Test("random bytes round-trip through base58btc and base64url multibase")
    func roundTrips() throws {
        var generator = SeededGenerator(seed: 7)
        for length in [0, 1, 2, 3, 31, 32, 33, 34, 64, 100] {
            for zeros in [0, 1, 3] {
                let bytes =
                    [UInt8](repeating: 0, count: min(zeros, length))
                    + (0..<max(0, length - zeros)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let z = Multibase.base58btc(bytes)
                let u = Multibase.base64url(bytes)
                #expect(z.first == "z" && u.first == "u")
                #expect(try Multibase.decode(z) == bytes)
                #expect(try Multibase.decode(u) == bytes)
                #expect(try Multibase.decode(u, expecting: .base64url) == bytes)
                #expect(!u.contains("=") && !u.contains("+") && !u.contains("/"))
            }
        }
    }

    @Test("multibase refusals name what is wrong")
    func refusals() {
        #expect(throws: Multibase.DecodingError.self) { try Multibase.decode("") }
        #expect(throws: Multibase.DecodingError.self) { try Multibase.decode("mAAAA") }  // base64 with padding
        #expect(throws: Multibase.DecodingError.self) { try Multibase.decode("z0OIl") }
        #expect(throws: Multibase.DecodingError.self) { try Multibase.decode("uAB+/") }  // plain base64 letters
        #expect(throws: Multibase.DecodingError.self) { try Multibase.decode("uAAA=") }  // padding
        #expect(throws: Multibase.DecodingError.self) { try Multibase.decode("uA") }  // a lone 6 bits
        do {
            _ = try Multibase.decode("z2NEpo7TZRRrLZSi2U", expecting: .base64url)
            Issue.record("a base58btc text was read as base64url")
        } catch {
            #expect(error.reason.contains("\"u\""))
        }
    }
}
