import ArgumentParser
import Events
import Foundation

/// `tongban validate`: checks events offline exactly as the hub will.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract:
            "Check NDJSON events against the contract offline: a report per bad line, non-zero exit on any failure.",
        discussion: """
            Each line is one CloudEvents envelope. Checks: the envelope schema, the type's data schema, every rule
            of schemas/README.md, and, with --keys, the signature. Without --keys, events need not be signed yet
            (as before `tongban publish`). With --data --type T, each line is a `data` object of type T.
            """
    )

    @Argument(help: "NDJSON files; - for standard input.")
    var files: [String]

    @Option(help: "A JWK Set of department public keys; signatures are then required and verified.")
    var keys: String?

    @Flag(help: "Each line is a data object of --type, not an envelope.")
    var data = false

    @Option(help: "The event type of data lines, e.g. household.birth-registered.v1.")
    var type: String?

    @Flag(help: "Print one line per valid event too.")
    var verbose = false

    func run() async throws {
        let validator = try EventValidator()
        let registry: EventKeyRegistry?
        if let path = keys {
            guard let bytes = await FileInput.contents(of: path) else {
                throw ValidationError("cannot read the key set \(path)")
            }
            registry = try EventKeyRegistry.load(jwks: bytes)
        } else {
            registry = nil
        }
        if data && type == nil { throw ValidationError("--data needs --type") }
        let now = Date()
        var valid = 0
        var invalid = 0
        for file in files {
            let lines = try await NDJSONInput.read(file)
            let verdicts = await NDJSONInput.parallelMap(lines) { line -> String? in
                Self.check(line.bytes, validator: validator, registry: registry, dataType: data ? type : nil, now: now)
            }
            for (line, verdict) in zip(lines, verdicts) {
                if let verdict {
                    invalid += 1
                    print("\(file):\(line.number): \(verdict)")
                } else {
                    valid += 1
                    if verbose { print("\(file):\(line.number): ok") }
                }
            }
        }
        print("\(valid) valid, \(invalid) invalid")
        if invalid > 0 { throw ExitCode(1) }
    }

    /// The reason a line is rejected, or `nil` when it is valid.
    static func check(
        _ bytes: [UInt8], validator: EventValidator, registry: EventKeyRegistry?, dataType: String?, now: Date
    ) -> String? {
        do {
            if let dataType {
                _ = try validator.validate(data: try JSONParser.parse(bytes), type: dataType, now: now)
                return nil
            }
            let event = try validator.validate(
                bytes, options: EventValidator.Options(requireSignature: registry != nil), now: now)
            if let registry, let envelope = event.json.objectValue {
                try registry.verify(envelope)
            }
            return nil
        } catch let error as EventValidationError {
            return error.reason
        } catch let error as EventSignatureError {
            return "signature: \(error.reason)"
        } catch let error as JSONParseError {
            return error.description
        } catch {
            return "\(error)"
        }
    }
}
