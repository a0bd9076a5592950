public import Events

/// Ed25519 keys, one per department, generated at random once per process: the keys of `tongban dev`, of
/// `tongban generate --signed` and of the tests.
///
/// Their key ids are `<department>/dev-only-<run>`, `<run>` eight random hex digits shared by the five keys of one
/// process, so that keys of two runs never share an id. `tongban project` refuses a key set holding such an id unless
/// the operator passes `--allow-development-keys` (see ``EventKeyRegistry/developmentKeyIDs``). Nothing in the source
/// derives them: whoever did not receive a run's key files cannot sign as a department of that run.
public enum DevKeys {
    /// The key name prefix of every development key: key ids are `<department>/dev-only-<run>`.
    public static let keyNamePrefix = EventKeyRegistry.developmentKeyNamePrefix

    /// This process's keys.
    private static let generated: [GeneratedEvent.Department: DepartmentSigningKey] = generate()

    /// Fresh keys, one per department, with ids `<department>/dev-only-<run>` for a new random `<run>`.
    /// - Returns: the keys.
    public static func generate() -> [GeneratedEvent.Department: DepartmentSigningKey] {
        let run = (0..<4).map { _ in UInt8.random(in: 0...255) }.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
        return Dictionary(
            uniqueKeysWithValues: GeneratedEvent.Department.all.map { department in
                do {
                    return (
                        department,
                        try DepartmentSigningKey.generate(
                            department: department.name, name: "\(keyNamePrefix)-\(run)")
                    )
                } catch {
                    // The department names and the key name are well-formed by construction.
                    preconditionFailure("development key for \(department): \(error)")
                }
            })
    }

    /// The department's development key of this process.
    /// - Parameter department: the department.
    /// - Returns: the same key on every call within one process; another in the next process.
    public static func key(for department: GeneratedEvent.Department) -> DepartmentSigningKey {
        generated[department]!
    }

    /// Every department's development key of this process, to put in ``PopulationConfiguration/signingKeys``.
    public static var all: [GeneratedEvent.Department: DepartmentSigningKey] { generated }

    /// A registry holding the public halves of this process's development keys.
    public static var registry: EventKeyRegistry {
        var registry = EventKeyRegistry()
        for key in generated.values {
            do { try registry.register(key) } catch { preconditionFailure("dev key \(key.keyID): \(error)") }
        }
        return registry
    }
}
