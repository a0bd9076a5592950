import Events
import Foundation
import SyntheticPopulation
import Testing

/// Shared helpers: generating into memory, the repository's schema files, running Python.
enum PopulationFixtures {
    /// The repository root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let schemas = repositoryRoot.appendingPathComponent("schemas/events")

    struct Output {
        var events: [GeneratedEvent]
        var expected: ExpectedAnswers
    }

    static func generate(
        people: Int, seed: UInt64, anomalyRate: Double = 0, signed: Bool = false, contributionMonths: Int = 24
    ) throws -> Output {
        var configuration = PopulationConfiguration(people: people, seed: seed)
        configuration.anomalyRate = anomalyRate
        configuration.contributionMonths = contributionMonths
        if signed { configuration.signingKeys = DevKeys.all }
        var events: [GeneratedEvent] = []
        let expected = try PopulationGenerator(configuration).generate { events.append($0) }
        return Output(events: events, expected: expected)
    }

    /// Parses a line into an envelope object.
    static func envelope(_ event: GeneratedEvent) throws -> JSONObject {
        let value = try JSONParser.parse(event.line)
        return try #require(value.objectValue)
    }

    /// The catalog's entries by type.
    static func catalog() throws -> [String: JSONObject] {
        let data = try Data(contentsOf: schemas.appendingPathComponent("catalog.json"))
        let catalog = try JSONParser.parse(Array(data))
        var entries: [String: JSONObject] = [:]
        for entry in catalog["events"]?.arrayValue ?? [] {
            if let object = entry.objectValue, let type = object["type"]?.stringValue { entries[type] = object }
        }
        return entries
    }

    /// Validates NDJSON lines with Python `jsonschema` against the repository's schemas; one verdict
    /// per line, `ok` or `error: …`.
    static func pythonVerdicts(for lines: [[UInt8]]) throws -> [String] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tongban-gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let events = directory.appendingPathComponent("events.ndjson")
        try Data(lines.flatMap { $0 + [0x0A] }).write(to: events)
        let script = directory.appendingPathComponent("check.py")
        try Data(pythonScript.utf8).write(to: script)
        let output = directory.appendingPathComponent("verdicts.txt")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, schemas.path, events.path, output.path]
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus == 3 || process.terminationStatus == 127 {
            Issue.record("python3 with jsonschema and referencing is missing: run scripts/bootstrap")
            return []
        }
        try #require(process.terminationStatus == 0, "the schema check script failed")
        return String(decoding: try Data(contentsOf: output), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    static let pythonScript = #"""
        import json, pathlib, sys
        try:
            from jsonschema import Draft202012Validator
            from referencing import Registry, Resource
        except ImportError:
            sys.exit(3)
        root = pathlib.Path(sys.argv[1])
        documents = {p: json.loads(p.read_text(encoding="utf-8")) for p in root.rglob("*.json")}
        registry = Registry().with_resources(
            (d["$id"], Resource.from_contents(d)) for d in documents.values() if "$id" in d)
        catalog = json.loads((root / "catalog.json").read_text(encoding="utf-8"))
        types = {e["type"]: e for e in catalog["events"]}
        envelope = Draft202012Validator(documents[root / "envelope.v1.json"], registry=registry)
        validators = {}
        verdicts = []
        for line in open(sys.argv[2], encoding="utf-8"):
            try:
                event = json.loads(line)
            except ValueError:
                verdicts.append("error: not JSON")
                continue
            errors = [e.message for e in envelope.iter_errors(event)]
            entry = types.get(event.get("type"))
            if entry is None:
                errors.append("unknown type")
            else:
                if entry["type"] not in validators:
                    validators[entry["type"]] = Draft202012Validator(documents[root / entry["schema"]], registry=registry)
                errors += [e.message for e in validators[entry["type"]].iter_errors(event.get("data"))]
            verdicts.append("ok" if not errors else "error: " + "; ".join(errors)[:400])
        pathlib.Path(sys.argv[3]).write_text("\n".join(verdicts) + "\n", encoding="utf-8")
        """#
}

/// Independent checks of the rules in schemas/README.md, written from the README (not from the generator).
enum ContractRules {
    /// GB 11643 check character (ISO 7064 MOD 11-2) and a real birth date.
    static func isValidCitizenID(_ id: String) -> Bool {
        let chars = Array(id.utf8)
        guard chars.count == 18, chars[..<17].allSatisfy({ (48...57).contains($0) }) else { return false }
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(chars[..<17], weights).reduce(0) { $0 + Int($1.0 - 48) * $1.1 }
        guard Array("10X98765432".utf8)[sum % 11] == chars[17] else { return false }
        return date(birthDate(of: id)) != nil
    }

    /// `YYYY-MM-DD` of the ID's birth-date digits.
    static func birthDate(of id: String) -> String {
        let digits = Array(id)
        guard digits.count == 18 else { return "" }
        return String(digits[6..<10]) + "-" + String(digits[10..<12]) + "-" + String(digits[12..<14])
    }

    static func isMale(_ id: String) -> Bool { (Int(String(Array(id)[16])) ?? 0) % 2 == 1 }

    /// A real calendar date as a comparable number, or `nil`.
    static func date(_ text: String) -> Int? {
        let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return nil }
        let leap = (parts[0] % 4 == 0 && parts[0] % 100 != 0) || parts[0] % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][parts[1] - 1]
        guard (1...days).contains(parts[2]) else { return nil }
        return parts[0] * 10_000 + parts[1] * 100 + parts[2]
    }

    /// Sum of fractions "n/d" compared with 1, exactly.
    static func sharesSumToOne(_ shares: [String]) -> Bool {
        var numerator = 0
        var denominator = 1
        for share in shares {
            let parts = share.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2, parts[1] > 0 else { return false }
            numerator = numerator * parts[1] + parts[0] * denominator
            denominator *= parts[1]
        }
        return numerator == denominator
    }

    /// Every value is a string, object or array.
    static func hasOnlyStringsObjectsArrays(_ value: JSONValue) -> Bool {
        switch value {
        case .string: true
        case .array(let elements): elements.allSatisfy(hasOnlyStringsObjectsArrays)
        case .object(let object): object.members.allSatisfy { hasOnlyStringsObjectsArrays($0.value) }
        default: false
        }
    }

    /// Every citizen ID in a value, found by the key names the schemas use.
    static func citizenIDs(in value: JSONValue, key: String = "") -> [String] {
        switch value {
        case .string(let s):
            let idKeys: Set<String> = [
                "personId", "childId", "motherId", "fatherId", "headId", "id", "ownerIds", "adoptiveParentIds",
                "birthParentIds",
            ]
            return idKeys.contains(key) ? [s] : []
        case .array(let elements): return elements.flatMap { citizenIDs(in: $0, key: key) }
        case .object(let object): return object.members.flatMap { citizenIDs(in: $0.value, key: $0.key) }
        default: return []
        }
    }
}
