public import Events

/// Deterministic Ed25519 keys, one per department, derived from a fixed public seed.
///
/// - Important: For development and tests only (`tongban dev`, `tongban generate --sign`). Anyone
///   can derive these private keys from this source file: never register them in production.
public enum DevKeys {
    /// The key name of every dev key: key ids are `<department>/dev-only`.
    public static let keyName = "dev-only"

    /// The department's dev key (key id `<department>/dev-only`).
    /// - Parameter department: the department.
    /// - Returns: the same key on every call and every machine.
    public static func key(for department: GeneratedEvent.Department) -> DepartmentSigningKey {
        var state: UInt64 = 0x746F_6E67_6261_6E00  // "tongban"
        for byte in department.name.utf8 { state = Xoshiro256StarStar.mix(state ^ UInt64(byte)) }
        let seed = (0..<4).flatMap { _ in
            withUnsafeBytes(of: Xoshiro256StarStar.splitMix(&state).littleEndian, Array.init)
        }
        do {
            return try DepartmentSigningKey(keyID: "\(department.name)/\(keyName)", seed: seed)
        } catch {
            // The key id and the 32-byte seed are well-formed by construction.
            preconditionFailure("dev key for \(department): \(error)")
        }
    }

    /// Every department's dev key, to put in ``PopulationConfiguration/signingKeys``.
    public static var all: [GeneratedEvent.Department: DepartmentSigningKey] {
        Dictionary(uniqueKeysWithValues: GeneratedEvent.Department.all.map { ($0, key(for: $0)) })
    }

    /// A registry holding the public halves of every dev key, as the hub would in development.
    public static var registry: EventKeyRegistry {
        var registry = EventKeyRegistry()
        for key in all.values {
            do { try registry.register(key) } catch { preconditionFailure("dev key \(key.keyID): \(error)") }
        }
        return registry
    }
}
