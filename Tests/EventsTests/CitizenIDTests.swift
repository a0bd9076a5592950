import Events
import Testing
import TongbanTesting

@Suite("Citizen IDs (GB 11643)", .sharedMachine)
struct CitizenIDTests {
    @Test(
        "check characters of known IDs",
        arguments: [
            ("11010519900512013", "7"), ("11010519920823024", "8"), ("65010219950214048", "5"),
            ("11010520260308002", "9"), ("11010519491231002", "X"),
        ])
    func checkCharacter(first17: String, expected: Character) {
        #expect(CitizenID.checkCharacter(for: first17) == expected)
    }

    @Test("a valid ID has no problem, also with check character X")
    func valid() {
        #expect(CitizenID.problem(with: "110105199005120137") == nil)
        #expect(CitizenID.problem(with: "11010519491231002X") == nil)
    }

    @Test("a wrong check character is named with the expected one")
    func wrongCheckCharacter() {
        #expect(CitizenID.problem(with: "110105199005120138") == "check character is 8, expected 7")
        #expect(CitizenID.problem(with: "110105194912310021") == "check character is 1, expected X")
    }

    @Test("impossible embedded birth dates", arguments: ["1101051990023000", "1101051990023100", "1101051900022900"])
    func impossibleDate(prefix16: String) {
        let id = EventFixtures.citizenID(prefix16 + "1")
        #expect(CitizenID.problem(with: id)?.contains("is not a real date") == true)
    }

    @Test("leap days: 2000-02-29 exists, 1900-02-29 does not")
    func leapDays() {
        #expect(CitizenID.birthDate(of: EventFixtures.citizenID("11010520000229001")) != nil)
        #expect(CitizenID.birthDate(of: EventFixtures.citizenID("11010519000229001")) == nil)
    }

    @Test("the 17th digit gives the sex")
    func sex() {
        #expect(CitizenID.isMale("110105199005120137") == true)
        #expect(CitizenID.isMale("110105199208230248") == false)
    }

    @Test("an ID with a bad check character is rejected wherever it appears, with a masked value")
    func rejectedInEvent() throws {
        let data = EventFixtures.setting(
            "110105199208230249", at: "/motherId", in: EventFixtures.example("household.birth-registered.v1"))
        let error = try #require(EventFixtures.failure("household.birth-registered.v1", data))
        #expect(error.code == .invalidCitizenID)
        #expect(error.reason == "data/motherId: check character is 9, expected 8 (110105***********9)")
        #expect(error.violations.first?.pointer == "/data/motherId")
        #expect(error.violations.first?.rule == "citizenId")
    }

    @Test("the envelope subject is checked too")
    func subjectChecked() throws {
        let data = EventFixtures.example("household.death-registered.v1")
        var envelope = EventFixtures.envelope(type: "household.death-registered.v1", data: data)
        envelope = EventFixtures.setting("110105199005120138", at: "/subject", in: envelope)
        #expect(throws: EventValidationError.self) {
            try EventFixtures.validator.validate(envelope: envelope, now: EventFixtures.now)
        }
    }
}
