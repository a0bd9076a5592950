/// The typed `data` of one event type, decoded from a validated event.
public protocol EventData: Codable, Sendable, Hashable {
    /// The catalog type the struct models, e.g. `household.birth-registered.v1`.
    static var eventType: String { get }
}
