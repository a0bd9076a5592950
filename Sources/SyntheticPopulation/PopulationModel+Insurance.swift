/// Employment spells with monthly contributions (gaps, reversals, re-postings, supplementary
/// duplicates, ends of enrollment), medical-insurance enrollments, e-vouchers and cross-region filings.
extension PopulationModel {
    mutating func planInsurance(months: Int, rng: inout Xoshiro256StarStar) {
        for region in Region.all {
            for _ in 0..<InsuranceRecords.employersPerRegion {
                insurance.employers.append(GeneratedCreditCode.make(region: region.code, &rng))
            }
        }
        // The last month whose contributions are posted by "as of" (postings come early next month).
        insurance.windowEnd = asOf.monthIndex - 1
        insurance.windowStart = insurance.windowEnd - max(1, months) + 1
        for person in people.indices {
            let spells = planContributions(of: person, rng: &rng)
            planMedical(of: person, employment: spells, rng: &rng)
        }
    }

    /// Plans one person's employment spells; returns them as (first month, end month exclusive, employer).
    mutating func planContributions(of person: Int, rng: inout Xoshiro256StarStar) -> [(Int, Int, Int?)] {
        let p = people[person]
        let adult = p.birth.adding(years: 18).monthIndex + 1
        let retirement = p.birth.adding(years: p.male ? 60 : 55).monthIndex
        let deathMonth = p.death?.monthIndex ?? Int.max
        let workEnd = min(retirement, deathMonth, insurance.windowEnd + 1)
        var month = max(insurance.windowStart, adult, p.registered.monthIndex + 1)
        guard month < workEnd, rng.chance(0.78) else { return [] }
        var spells: [(Int, Int, Int?)] = []
        while month < workEnd {
            let spellEnd = min(month + rng.int(6...72), workEnd)
            let flexible = rng.chance(0.15)
            let region =
                membership(of: person, at: .firstDay(ofMonth: month)).map { households[$0.household].region }
                ?? p.region
            let employer =
                flexible
                ? nil
                : region * InsuranceRecords.employersPerRegion + rng.int(0...InsuranceRecords.employersPerRegion - 1)
            spells.append((month, spellEnd, employer))
            let base = rng.int(35...320) * 10_000
            let lines: [InsuranceRecords.Line] =
                flexible
                ? [.pension, .medical] : [.pension, .medical, .unemployment] + (rng.chance(0.6) ? [.workInjury] : [])
            // Someone already working when the window opens was enrolled earlier.
            let startMonth =
                month == insurance.windowStart
                ? max(adult, p.registered.monthIndex + 1, month - rng.int(0...48)) : month
            let registered = max(CivilDay.firstDay(ofMonth: startMonth) - rng.int(0...20), p.registered + 1)
            let endReason: StaticString? =
                spellEnd == deathMonth
                ? "deceased"
                : spellEnd == retirement
                    ? "retired"
                    : spellEnd < workEnd ? (rng.chance(0.8) ? "left-employment" : "transferred-out") : nil
            let endDay =
                spellEnd == deathMonth ? p.death ?? asOf : CivilDay.firstDay(ofMonth: spellEnd) + rng.int(0...10)
            for line in lines {
                var enrollment = InsuranceRecords.Enrollment(
                    person: person, line: line, region: region, employer: employer, startMonth: startMonth,
                    registered: registered, name: p.name(at: registered))
                if let endReason, endDay <= asOf {
                    enrollment.endMonth = spellEnd - 1
                    enrollment.endDay = endDay
                    enrollment.endReason = endReason
                }
                insurance.enrollments.append(enrollment)
                plan(.insuranceEnrolled(insurance.enrollments.count - 1), on: registered)
                if enrollment.endMonth != nil { plan(.enrollmentEnded(insurance.enrollments.count - 1), on: endDay) }
            }
            for m in month..<spellEnd {
                let day = CivilDay.firstDay(ofMonth: m + 1) + rng.int(4...19)
                guard day <= asOf, p.death.map({ day < $0 }) ?? true else { break }
                for line in lines {
                    let (employerRate, employeeRate) = line.rates(flexible: flexible)
                    var posting = InsuranceRecords.Posting(
                        serial: insurance.postings.count + 1, person: person, month: m, line: line, region: region,
                        base: base, employerAmount: base * employerRate / 10_000,
                        employeeAmount: base * employeeRate / 10_000,
                        employer: employer, day: day)
                    post(posting)
                    guard rng.chance(0.012) else { continue }
                    let reversal = day + rng.int(5...60)
                    guard reversal <= asOf, p.death.map({ reversal < $0 }) ?? true else { continue }
                    switch rng.int(0...2) {
                    case 0:  // wrong base: reversed, then posted again with the corrected base
                        reverse(insurance.postings.count - 1, on: reversal, reason: "base-corrected")
                        posting.serial = insurance.postings.count + 1
                        posting.base += 50_000
                        posting.employerAmount = posting.base * employerRate / 10_000
                        posting.employeeAmount = posting.base * employeeRate / 10_000
                        posting.day = reversal
                        post(posting)
                    case 1:  // posted in error: the month stays uncovered
                        reverse(insurance.postings.count - 1, on: reversal, reason: "posting-error")
                    default:  // posted twice the same day, the second one reversed
                        posting.serial = insurance.postings.count + 1
                        post(posting)
                        reverse(insurance.postings.count - 1, on: reversal, reason: "duplicate")
                    }
                }
            }
            month = spellEnd + (rng.chance(0.35) ? rng.int(1...8) : 0)
        }
        return spells
    }

    private mutating func post(_ posting: InsuranceRecords.Posting) {
        insurance.postings.append(posting)
        plan(.contributionPosted(insurance.postings.count - 1), on: posting.day)
    }

    private mutating func reverse(_ posting: Int, on day: CivilDay, reason: StaticString) {
        insurance.postings[posting].reversal = day
        insurance.postings[posting].reversalReason = reason
        plan(.contributionReversed(posting), on: day)
    }

    mutating func planMedical(of person: Int, employment: [(Int, Int, Int?)], rng: inout Xoshiro256StarStar) {
        let p = people[person]
        let end = min(p.end(asOf: asOf), asOf + 1)
        let registered = max(asOf.adding(years: -6) + rng.int(0...400), p.registered + rng.int(7...60))
        guard registered < end else { return }
        let month = registered.monthIndex
        let employer = employment.first { $0.0 <= month && month < $0.1 }?.2
        let region = membership(of: person, at: registered).map { households[$0.household].region } ?? p.region
        let start = rng.chance(0.5) ? registered : .firstDay(ofMonth: month + 1)
        medical.enrollments.append(
            MedicalRecords.Enrollment(
                person: person, employer: employer, region: region, start: start, registered: registered,
                name: p.name(at: registered)))
        plan(.medicalEnrolled(medical.enrollments.count - 1), on: registered)
        let latest = min(end, asOf)  // an instant on a day before "as of"
        if rng.chance(0.6) {
            let day = max(registered + rng.int(1...2000), p.birth.adding(years: 16))
            if day < latest {
                medical.vouchers.append(
                    MedicalRecords.Voucher(
                        person: person, serial: medical.vouchers.count + 1, region: region, day: day,
                        second: rng.int(8 * 3600...22 * 3600)))
                plan(.voucherActivated(medical.vouchers.count - 1), on: day)
            }
        }
        let retired = p.age(at: asOf) >= 60
        guard rng.chance(retired ? 0.12 : 0.04) else { return }
        let filed = registered + rng.int(30...1800)
        guard filed < latest else { return }
        var to = retired ? Region.retirementRegion : rng.int(0...Region.all.count - 1)
        if to == region { to = (region + 1) % Region.all.count }
        let category: StaticString
        var validTo: CivilDay?
        let validFrom = filed + rng.int(0...30)
        if p.age(at: filed) >= 60 {
            category = "retired-relocated"
        } else {
            switch rng.int(0...3) {
            case 0: category = "long-term-resident"
            case 1: category = "temporary-work"; validTo = validFrom.adding(years: 1) - 1
            case 2: category = "referral"; validTo = validFrom + rng.int(30...90)
            default: category = "emergency"; validTo = validFrom + rng.int(3...30)
            }
        }
        var filing = MedicalRecords.Filing(
            person: person, serial: medical.filings.count + 1, from: region, to: to, category: category,
            validFrom: validFrom, validTo: validTo, registered: filed)
        let cancelRegistered = filed + rng.int(10...400)
        if rng.chance(0.3), cancelRegistered < latest {
            filing.cancelRegistered = cancelRegistered
            filing.cancelled = max(validFrom, cancelRegistered + rng.int(0...30))
        }
        medical.filings.append(filing)
        plan(.careFiled(medical.filings.count - 1), on: filed)
        if let cancelRegistered = filing.cancelRegistered {
            plan(.careCancelled(medical.filings.count - 1), on: cancelRegistered)
        }
    }
}
