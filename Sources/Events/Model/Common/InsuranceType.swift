/// Social insurance line (险种): pension (养老), medical (医疗), unemployment (失业), work-injury (工伤), maternity (生育).
public enum InsuranceType: String, Sendable, Hashable, Codable, CaseIterable {
    /// `pension`.
    case pension
    /// `medical`.
    case medical
    /// `unemployment`.
    case unemployment
    /// `work-injury`.
    case workInjury = "work-injury"
    /// `maternity`.
    case maternity
}
