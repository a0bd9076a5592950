/// Sex as recorded on the household register.
public enum Sex: String, Sendable, Hashable, Codable, CaseIterable {
    /// `male`.
    case male
    /// `female`.
    case female
}
