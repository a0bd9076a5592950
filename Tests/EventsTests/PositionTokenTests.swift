import Events
import Foundation
import Testing

/// The read-your-writes position token: its text form (the `MinPosition` parameter of schemas/openapi.yaml), what
/// parsing refuses, merging, and when checkpoints include it.
@Suite("Position tokens")
struct PositionTokenTests {
    /// The parameter's pattern in schemas/openapi.yaml, with `\z` for its final `$` (in ECMA-262, which JSON Schema
    /// follows, `$` is the end of the text; in ICU it also matches before a final line break).
    static let contractPattern = try! NSRegularExpression(
        pattern: "^[A-Za-z0-9._-]+/[0-9]+/[0-9]+(,[A-Za-z0-9._-]+/[0-9]+/[0-9]+)*\\z")

    static func matchesContract(_ text: String) -> Bool {
        contractPattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    @Test("#20 text round trip: sorted by topic and partition, one entry per partition, the contract's pattern")
    func roundTrip() throws {
        let token = try PositionToken(parsing: "tongban.property/3/7,tongban.household/10/1041,tongban.household/2/0")
        #expect(token.description == "tongban.household/2/0,tongban.household/10/1041,tongban.property/3/7")
        #expect(try PositionToken(parsing: token.description) == token)
        #expect(Self.matchesContract(token.description))
        #expect(token.topics == ["tongban.household", "tongban.property"])
        #expect(token.offsets[PositionToken.Partition("tongban.household", 10)] == 1041)

        let one = try PositionToken(topic: "tongban.civil-affairs", partition: 0, offset: 87)
        #expect(one.description == "tongban.civil-affairs/0/87")
        #expect(try PositionToken(parsing: one.description) == one)

        // The largest numbers each part holds survive the trip.
        let largest = "a_b-c.D9/\(Int32.max)/\(Int64.max)"
        #expect(try PositionToken(parsing: largest).description == largest)
        // Leading zeros are read as the number and written without them.
        #expect(try PositionToken(parsing: "t/007/0010").description == "t/7/10")
    }

    @Test("#20 parsing refuses anything else than topic/partition/offset entries, saying what is wrong")
    func refusals() throws {
        let cases: [(text: String, says: String)] = [
            ("", "empty"),
            ("tongban.household/0", "not topic/partition/offset"),
            ("tongban.household/0/1/2", "not topic/partition/offset"),
            ("tongban.household/0/1,", "entry 2 is empty"),
            (",tongban.household/0/1", "entry 1 is empty"),
            ("tongban.household/0/1,,t/0/1", "entry 2 is empty"),
            ("/0/1", "topic is empty"),
            ("tongban household/0/1", "letters, digits"),
            ("tongban.household/0/1;DROP", "offset must be a number"),
            ("tongban/户籍/0/1", "not topic/partition/offset"),
            ("户籍/0/1", "letters, digits"),
            ("t/-1/1", "partition must be a number"),
            ("t/+1/1", "partition must be a number"),
            ("t/ 1/1", "partition must be a number"),
            ("t/1/-5", "offset must be a number"),
            ("t/1/1.5", "offset must be a number"),
            ("t/1/0x10", "offset must be a number"),
            ("t//1", "partition must be a number"),
            ("t/1/", "offset must be a number"),
            ("t/2147483648/1", "partition must be a number from 0 to 2147483647"),
            ("t/1/9223372036854775808", "offset must be a number from 0 to 9223372036854775807"),
            (String(repeating: "t", count: 250) + "/0/1", "longer than 249"),
            (" t/0/1", "letters, digits"),
            ("t/0/1\n", "offset must be a number"),
        ]
        // What the pattern lets through but a token cannot hold: numbers out of range, a topic Kafka refuses.
        let beyondPattern: Set = [
            "t/2147483648/1", "t/1/9223372036854775808", String(repeating: "t", count: 250) + "/0/1",
        ]
        for (text, says) in cases {
            #expect(Self.matchesContract(text) == beyondPattern.contains(text), "\(text.debugDescription)")
            #expect {
                try PositionToken(parsing: text)
            } throws: { error in
                guard let error = error as? PositionTokenError else { return false }
                #expect(error.reason.contains(says), "\(text.debugDescription): \(error.reason)")
                return true
            }
        }
        // Longer than the parameter's maxLength: refused before it is read.
        let long = Array(repeating: "tongban.household/1/1000000", count: 200).joined(separator: ",")
        #expect(long.count > PositionToken.maximumLength)
        #expect {
            try PositionToken(parsing: long)
        } throws: { ($0 as? PositionTokenError)?.reason.contains("longer than 4096") == true }
        // A short, printable entry is quoted back; anything else is named by its number only.
        #expect {
            try PositionToken(parsing: "t/0/1,t/x/1")
        } throws: { ($0 as? PositionTokenError)?.reason.hasPrefix("entry 2 (\"t/x/1\")") == true }
        #expect {
            try PositionToken(parsing: "t/0/1,t/\u{7}/1")
        } throws: { ($0 as? PositionTokenError)?.reason.hasPrefix("entry 2:") == true }
        // Made from numbers: the same rules.
        #expect(throws: PositionTokenError.self) { try PositionToken(topic: "t", partition: -1, offset: 0) }
        #expect(throws: PositionTokenError.self) { try PositionToken(topic: "t", partition: 0, offset: -1) }
        #expect(throws: PositionTokenError.self) { try PositionToken(topic: "t,u", partition: 0, offset: 0) }
        #expect(throws: PositionTokenError.self) { try PositionToken(offsets: [:]) }
        #expect(throws: PositionTokenError.self) {
            try PositionToken(offsets: [PositionToken.Partition("t", 0): 1, PositionToken.Partition("u/v", 0): 1])
        }
    }

    @Test("#20 merging keeps the larger offset of each partition; a partition named twice is its own merge")
    func merging() throws {
        let a = try PositionToken(parsing: "h/0/5,h/1/9,p/0/2")
        let b = try PositionToken(parsing: "h/0/7,h/1/3,c/2/1")
        let merged = a.merged(with: b)
        #expect(merged.description == "c/2/1,h/0/7,h/1/9,p/0/2")
        #expect(merged == b.merged(with: a))
        #expect(merged.merged(with: merged) == merged)
        #expect(merged.merged(with: a) == merged)
        #expect(PositionToken.merging([a, b]) == merged)
        #expect(PositionToken.merging([PositionToken]()) == nil)
        // Two tokens joined by a comma read as their merge.
        #expect(try PositionToken(parsing: "\(a),\(b)") == merged)
        #expect(try PositionToken(parsing: "h/0/5,h/0/3").description == "h/0/5")
    }

    @Test("#20 included when every partition's checkpoint (last applied + 1) is above the token's offset")
    func inclusion() throws {
        let token = try PositionToken(parsing: "h/0/5,h/1/9")
        let h0 = PositionToken.Partition("h", 0)
        let h1 = PositionToken.Partition("h", 1)
        #expect(token.isIncluded(in: [h0: 6, h1: 10]))
        #expect(token.isIncluded(in: [h0: 100, h1: 100, PositionToken.Partition("p", 0): 0]))
        // The checkpoint is the next offset to read: equal to the offset means that message is not applied yet.
        #expect(!token.isIncluded(in: [h0: 5, h1: 10]))
        #expect(!token.isIncluded(in: [h0: 6, h1: 9]))
        // A partition without a checkpoint includes nothing; another view group's partitions do not count.
        #expect(!token.isIncluded(in: [h0: 6]))
        #expect(!token.isIncluded(in: [:]))
        #expect(try PositionToken(parsing: "h/0/0").isIncluded(in: [h0: 1]))
        #expect(!(try PositionToken(parsing: "h/0/0").isIncluded(in: [h0: 0])))
    }
}
