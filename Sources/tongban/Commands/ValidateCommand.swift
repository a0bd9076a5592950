import ArgumentParser
import Events
import Foundation

/// `tongban validate`: checks events offline as the hub's projectors will; with the departments' public keys
/// (`--keys` or `TONGBAN_DEPARTMENT_KEYS`) their signatures too, and without them it says that it did not.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract:
            "Check NDJSON events against the contract offline: a report per bad line, non-zero exit on any failure.",
        discussion: """
            Each line is one CloudEvents envelope. Checks: the envelope schema, the type's data schema, every rule \
            of schemas/README.md, and, with the departments' public keys (--keys FILE, a JWK Set, or \
            TONGBAN_DEPARTMENT_KEYS), the signature, as the projectors verify it (the key must be registered, \
            belong to the event's department and be active). Without keys, events need not be signed yet (as \
            before `tongban publish`), and it says on standard error that signatures were not checked. With \
            --data --type T, each line is a `data` object of type T.
            """
    )

    @Argument(help: "NDJSON files; - for standard input.")
    var files: [String]

    @Option(
        help: """
            A JWK Set of the departments' public keys (env TONGBAN_DEPARTMENT_KEYS: a file path); signatures are then \
            required and verified.
            """)
    var keys: String?

    @Flag(help: "Each line is a data object of --type, not an envelope.")
    var data = false

    @Option(help: "The event type of data lines, e.g. household.birth-registered.v1.")
    var type: String?

    @Flag(help: "Print one line per valid event too.")
    var verbose = false

    /// What it says on standard error, once, when it checked envelopes without the departments' keys.
    static let signaturesNotChecked =
        "note: signatures were not checked (no --keys FILE or TONGBAN_DEPARTMENT_KEYS): the hub refuses an event "
        + "whose signature does not verify against its department's registered, active key"

    func run() async throws {
        try await perform(say: { print($0) }, warn: printError)
    }

    /// Checks the files, saying one line per problem and a summary.
    /// - Parameters:
    ///   - environment: where `TONGBAN_DEPARTMENT_KEYS` is read when `--keys` is not given.
    ///   - say: where the report goes (standard output).
    ///   - warn: where the note that signatures were not checked goes (standard error).
    /// - Throws: `ExitCode(1)` when a line is invalid; `ValidationError` or ``CommandFailure`` when the key set or a
    ///   file cannot be read.
    func perform(
        environment: [String: String] = ProcessInfo.processInfo.environment, say: (String) -> Void,
        warn: (String) -> Void
    ) async throws {
        if data && type == nil { throw ValidationError("--data needs --type") }
        let validator = try EventValidator()
        let registry: EventKeyRegistry?
        if let path = keys ?? environment["TONGBAN_DEPARTMENT_KEYS"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let bytes = await FileInput.contents(of: path) else {
                throw ValidationError("cannot read the key set \(path)")
            }
            registry = try EventKeyRegistry.load(jwks: bytes)
        } else {
            registry = nil
        }
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
                    say("\(file):\(line.number): \(verdict)")
                } else {
                    valid += 1
                    if verbose { say("\(file):\(line.number): ok") }
                }
            }
        }
        say("\(valid) valid, \(invalid) invalid")
        if registry == nil && !data { warn(Self.signaturesNotChecked) }
        if invalid > 0 { throw ExitCode(1) }
    }

    /// The reason a line is rejected, or `nil` when it is valid. With a registry, the signature is required and
    /// verified as the projectors verify a new event (``EventKeyRegistry/verify(_:purpose:canonical:)`` with
    /// `.ingest`: a retired or revoked key, or a key of another department, is refused).
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
            if let registry {
                guard let envelope = event.json.objectValue else { return "the envelope is not an object" }
                try registry.verify(envelope, purpose: .ingest)
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
