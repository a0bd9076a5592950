import Events
import Foundation
import Testing
import TongbanTesting

/// One hub rule exercised on an example: edits to the envelope (pointers into the envelope, so data
/// fields are `/data/…`), and the code expected (`nil`: must pass).
struct RuleCase: CustomTestStringConvertible, Sendable {
    let name: String
    let type: String
    var example = 0
    let edits: [(String, JSONValue?)]
    var key: String?
    var now = "2030-01-01T00:00:00Z"
    let expected: EventValidationError.Code?

    var testDescription: String { name }

    func run() throws -> EventValidationError? {
        var envelope = EventFixtures.envelope(type: type, data: EventFixtures.example(type, example))
        for (pointer, value) in edits { envelope = EventFixtures.setting(value, at: pointer, in: envelope) }
        let clock = try #require(ISO8601DateFormatter().date(from: now))
        do {
            _ = try EventFixtures.validator.validate(envelope: envelope, key: key.map { Array($0.utf8) }, now: clock)
            return nil
        } catch {
            return error
        }
    }
}

@Suite("Rules beyond the schemas", .sharedMachine)
struct RuleTests {
    static let birth = "household.birth-registered.v1"
    static let person = "household.person-registered.v1"
    static let death = "household.death-registered.v1"
    static let filed = "medical-insurance.cross-region-care-filed.v1"
    static let title = "property.title-registered.v1"
    static let transfer = "property.title-transferred.v1"

    static let cases: [RuleCase] = [
        // 2. birth date and sex agree with the ID
        RuleCase(name: "birth: birth date as in the ID", type: birth, edits: [], expected: nil),
        RuleCase(
            name: "birth: birth date differs from the ID", type: birth, edits: [("/data/birthDate", "2026-03-07")],
            expected: .inconsistentFields),
        RuleCase(
            name: "birth: sex differs from the 17th digit", type: birth, edits: [("/data/sex", "male")],
            expected: .inconsistentFields),
        RuleCase(
            name: "person: birth date differs from the ID", type: person, edits: [("/data/birthDate", "1988-11-03")],
            expected: .inconsistentFields),
        RuleCase(
            name: "person: sex differs from the ID", type: person, edits: [("/data/sex", "female")],
            expected: .inconsistentFields),
        // 3. real dates, nothing that already happened in the future
        RuleCase(
            name: "a date that does not exist", type: "household.member-moved-in.v1",
            edits: [("/data/effectiveDate", "2026-02-30")], expected: .invalidDate),
        RuleCase(
            name: "a date-time that does not exist", type: "medical-insurance.e-voucher-activated.v1",
            edits: [("/data/activatedAt", "2026-02-30T10:00:00+08:00")], expected: .invalidDate),
        RuleCase(
            name: "death today in Beijing (still yesterday in UTC)", type: death, edits: [],
            now: "2026-09-02T16:30:00Z", expected: nil),
        RuleCase(
            name: "death tomorrow in Beijing", type: death, edits: [], now: "2026-09-02T12:00:00Z",
            expected: .futureDate),
        RuleCase(
            name: "filing period may lie in the future", type: filed, example: 1,
            edits: [("/time", "2026-02-20T00:00:00+08:00")], now: "2026-03-01T00:00:00Z", expected: nil),
        RuleCase(
            name: "seizure validTo may lie in the future", type: "property.seizure-registered.v1", edits: [],
            now: "2026-06-01T00:00:00Z", expected: nil),
        RuleCase(
            name: "enrollment startMonth may be a coming month", type: "social-insurance.enrolled.v1",
            edits: [("/time", "2026-02-20T00:00:00+08:00")], now: "2026-03-01T00:00:00Z", expected: nil),
        RuleCase(
            name: "a contribution month may not be a coming month", type: "social-insurance.contribution-posted.v1",
            edits: [], now: "2026-09-15T00:00:00Z", expected: .futureDate),
        RuleCase(name: "time 4 minutes ahead", type: death, edits: [("/time", "2029-12-31T16:04:00Z")], expected: nil),
        RuleCase(
            name: "time 6 minutes ahead", type: death, edits: [("/time", "2030-01-01T08:06:00+08:00")],
            expected: .futureDate),
        // 4. order of dates
        RuleCase(
            name: "validTo before validFrom", type: filed, example: 1, edits: [("/data/validTo", "2026-02-28")],
            expected: .inconsistentFields),
        RuleCase(
            name: "validTo equal to validFrom", type: filed, example: 1, edits: [("/data/validTo", "2026-03-01")],
            expected: nil),
        RuleCase(
            name: "death before birth", type: death, edits: [("/data/dateOfDeath", "1948-07-29")],
            expected: .inconsistentFields),
        // 5. distinct people
        RuleCase(
            name: "father is the mother", type: birth, edits: [("/data/fatherId", "110105199208230248")],
            expected: .duplicatePerson),
        RuleCase(
            name: "mother is the child", type: birth, example: 1, edits: [("/data/motherId", "440106202607190113")],
            expected: .duplicatePerson),
        RuleCase(
            name: "spouses are one person", type: "civil-affairs.marriage-registered.v1",
            edits: [("/data/spouseB/id", "110105199005120137")], expected: .duplicatePerson),
        RuleCase(
            name: "the child adopts itself", type: "civil-affairs.adoption-registered.v1",
            edits: [("/data/adoptiveParentIds/1", "510104201906010179")], expected: .duplicatePerson),
        RuleCase(
            name: "an owner listed twice", type: title, edits: [("/data/owners/1/personId", "110105199005120137")],
            expected: .duplicatePerson),
        // 6. amounts and areas
        RuleCase(name: "area zero", type: title, edits: [("/data/areaSquareMeters", "0.00")], expected: .invalidAmount),
        RuleCase(name: "area one hundredth", type: title, edits: [("/data/areaSquareMeters", "0.01")], expected: nil),
        RuleCase(
            name: "zero amounts are fine", type: "social-insurance.contribution-posted.v1",
            edits: [("/data/employerAmount", "0.00")], expected: nil),
        // 7. shares
        RuleCase(
            name: "shares 1/2 + 1/3", type: title, edits: [("/data/owners/1/share", "1/3")], expected: .invalidShares),
        RuleCase(
            name: "shares not in lowest terms", type: title,
            edits: [("/data/owners/0/share", "2/4"), ("/data/owners/1/share", "2/4")], expected: .invalidShares),
        RuleCase(
            name: "a share above 1", type: title,
            edits: [("/data/owners/0/share", "3/2"), ("/data/owners/1/share", "1/2")], expected: .invalidShares),
        RuleCase(
            name: "sole with two owners", type: title, edits: [("/data/coOwnership", "sole")], expected: .invalidShares),
        RuleCase(
            name: "sole with one owner 1/1", type: title,
            edits: [("/data/coOwnership", "sole"), ("/data/owners/1", nil), ("/data/owners/0/share", "1/1")],
            expected: nil),
        RuleCase(
            name: "joint with equal shares", type: transfer, edits: [("/data/coOwnership", "joint")], expected: nil),
        RuleCase(
            name: "joint with unequal shares", type: transfer,
            edits: [
                ("/data/coOwnership", "joint"), ("/data/newOwners/0/share", "1/6"), ("/data/newOwners/1/share", "1/2"),
            ], expected: .invalidShares),
        RuleCase(name: "three heirs with 1/3 each", type: transfer, edits: [], expected: nil),
        // 8. credit codes
        RuleCase(
            name: "credit code with a wrong check character", type: "medical-insurance.enrolled.v1",
            edits: [("/data/employerId", "91110105MA01K3P7HA")], expected: .invalidCreditCode),
        RuleCase(
            name: "creditor code checked too", type: "property.mortgage-registered.v1",
            edits: [("/data/creditor/creditCode", "91110105802100123A")], expected: .invalidCreditCode),
        // 9. names change
        RuleCase(
            name: "v2 name unchanged", type: "household.name-changed.v2", edits: [("/data/newName", "阿依古丽")],
            expected: .inconsistentFields),
        RuleCase(
            name: "v1 name unchanged", type: "household.name-changed.v1", edits: [("/data/newName", "阿依古丽")],
            expected: .inconsistentFields),
        // names: supplementary-plane characters must be Han
        RuleCase(
            name: "a CJK Extension B character", type: birth, edits: [("/data/childName", "王\u{20000}")], expected: nil),
        RuleCase(
            name: "an emoji in a name", type: birth, edits: [("/data/childName", "王\u{1F600}")], expected: .invalidName),
        RuleCase(
            name: "a Tangut ideograph in a name", type: birth, edits: [("/data/childName", "王\u{17000}")],
            expected: .invalidName),
        // 10. envelope consistency
        RuleCase(
            name: "subject is another person", type: birth, edits: [("/subject", "110105199208230248")],
            expected: .subjectMismatch),
        RuleCase(
            name: "Kafka key equals data at the key pointer", type: birth, edits: [], key: "110105202603080029",
            expected: nil),
        RuleCase(
            name: "Kafka key of another record", type: birth, edits: [], key: "110105199208230248",
            expected: .keyMismatch),
        RuleCase(
            name: "marriage keyed by record number", type: "civil-affairs.marriage-registered.v1", edits: [],
            key: "J110105-2025-000318", expected: nil),
        RuleCase(
            name: "source of another department", type: birth,
            edits: [("/source", "/departments/civil-affairs/110105")], expected: .departmentMismatch),
        RuleCase(
            name: "tbkid of another department", type: birth, edits: [("/tbkid", "property/test-1")],
            expected: .departmentMismatch),
        RuleCase(
            name: "dataschema of the type", type: birth,
            edits: [("/dataschema", "https://tongban.example/schemas/events/household/birth-registered.v1.json")],
            expected: nil),
        RuleCase(
            name: "dataschema of another type", type: birth,
            edits: [("/dataschema", "https://tongban.example/schemas/events/household/death-registered.v1.json")],
            expected: .schemaMismatch),
        RuleCase(
            name: "type not in the catalog", type: birth, edits: [("/type", "household.flew-away.v1")],
            expected: .unknownType),
        RuleCase(
            name: "schema violation deep inside data", type: title, edits: [("/data/owners/1/share", "0/2")],
            expected: .schemaViolation),
    ]

    @Test("each rule", arguments: cases)
    func rule(_ testCase: RuleCase) throws {
        let error = try testCase.run()
        #expect(error?.code == testCase.expected, "\(error?.debugDescription ?? "passed")")
        if let error {
            #expect(!error.reason.contains("\n"))
            #expect(!error.violations.isEmpty)
        }
    }

    @Test("reasons are specific and plain")
    func reasons() throws {
        let cases: [(RuleCase, String)] = [
            (
                RuleCase(name: "", type: Self.birth, edits: [("/data/sex", "male")], expected: nil),
                "data/sex: does not match the 17th digit of childId (even, female) (male)"
            ),
            (
                RuleCase(name: "", type: Self.title, edits: [("/data/owners/1/share", "1/3")], expected: nil),
                "data/owners: shares sum to 5/6, not 1"
            ),
            (
                RuleCase(name: "", type: Self.title, edits: [("/data/owners/1/share", "0/2")], expected: nil),
                "data/owners/1/share: is not a valid share (does not match its pattern) (0/2)"
            ),
            (
                RuleCase(name: "", type: Self.birth, edits: [("/data/extra", "x")], expected: nil),
                "data/extra: is not an allowed field (x)"
            ),
            (
                RuleCase(name: "", type: Self.birth, edits: [("/data/childName", nil)], expected: nil),
                "data/childName: is required but missing"
            ),
            (
                RuleCase(name: "", type: Self.birth, edits: [], key: "110105199208230248", expected: nil),
                "data/childId: differs from the Kafka key 110105***********8 (110105***********9)"
            ),
        ]
        for (testCase, reason) in cases {
            #expect(try testCase.run()?.reason == reason)
        }
    }

    @Test("unparsable messages and duplicate keys")
    func unparsable() {
        for bytes in [Array("{".utf8), Array(#"{"id":"a","id":"b"}"#.utf8), Array("[]".utf8)] {
            do {
                _ = try EventFixtures.validator.validate(bytes)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.code == (bytes == Array("[]".utf8) ? .schemaViolation : .unparsable))
            }
        }
    }

    @Test("several violations are all reported")
    func allViolations() throws {
        let data = EventFixtures.setting(
            "110105199208230249", at: "/motherId",
            in: EventFixtures.setting("110105199005120138", at: "/fatherId", in: EventFixtures.example(Self.birth)))
        let error = try #require(EventFixtures.failure(Self.birth, data))
        #expect(error.violations.map(\.pointer) == ["/data/motherId", "/data/fatherId"])
        #expect(error.reason.hasSuffix("(and 1 more)"))
    }
}
