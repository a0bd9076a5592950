/// Relationship to the head of household (与户主关系) as recorded in the register: head (户主), spouse (配偶), child (子女, including adopted and step-children), parent (父母), grandchild (孙子女/外孙子女), sibling (兄弟姐妹), other (其他).
public enum RelationshipToHead: String, Sendable, Hashable, Codable, CaseIterable {
    /// `head`.
    case head
    /// `spouse`.
    case spouse
    /// `child`.
    case child
    /// `parent`.
    case parent
    /// `grandchild`.
    case grandchild
    /// `sibling`.
    case sibling
    /// `other`.
    case other
}
