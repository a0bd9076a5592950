/// One registered owner of a title (a natural person; titles held only by organisations are not published to Tongban).
public struct Owner: Sendable, Hashable, Codable {
    /// Citizen ID of the owner.
    public var personId: String
    /// Owner's name as on the title.
    public var name: String
    /// Owner's share of the title, e.g.
    public var share: Share

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the owner.
    ///   - name: Owner's name as on the title.
    ///   - share: Owner's share of the title, e.g.
    public init(personId: String, name: String, share: Share) {
        self.personId = personId
        self.name = name
        self.share = share
    }
}
