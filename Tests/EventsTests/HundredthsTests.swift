import Events
import Testing
import TongbanTesting

@Suite("Amounts and areas in hundredths", .sharedMachine)
struct HundredthsTests {
    @Test("two fraction digits parse exactly and print back")
    func parses() {
        for (text, hundredths) in [
            ("0.00", 0), ("1234.50", 123_450), ("-7.05", -705), ("9999999999999999.99", 999_999_999_999_999_999),
        ] as [(String, Int64)] {
            #expect(Money(text)?.hundredths == hundredths, "\(text)")
            #expect(Money(text)?.description == text, "\(text)")
        }
        #expect(Area("89.37")?.hundredths == 8_937)
    }

    @Test("anything else is refused")
    func refuses() {
        for text in [
            "", "1", "1.5", "1.500", ".50", "1.", "12a.00", "--1.00", "1-.00", "1.0.0", "10000000000000000.00", " 1.00",
        ] {
            #expect(Money(text) == nil, "\(text)")
        }
    }
}
