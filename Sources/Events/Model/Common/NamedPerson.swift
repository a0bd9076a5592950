/// A person named in a record, by citizen ID and the name recorded.
public struct NamedPerson: Sendable, Hashable, Codable {
    /// Citizen ID of the person.
    public var id: String
    /// Name as recorded in the registration.
    public var name: String

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - id: Citizen ID of the person.
    ///   - name: Name as recorded in the registration.
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}
