/// Form of ownership as registered: 'sole' (单独所有, exactly one owner, share "1/1"); 'joint' (共同共有, e.g.
public enum CoOwnership: String, Sendable, Hashable, Codable, CaseIterable {
    /// `sole`.
    case sole
    /// `joint`.
    case joint
    /// `in-shares`.
    case inShares = "in-shares"
}
