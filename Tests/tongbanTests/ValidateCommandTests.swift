import ArgumentParser
import Events
import Foundation
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban validate checks signatures as the projectors do", .sharedMachine)
struct ValidateCommandTests {
    /// What one run of the command said.
    struct Run {
        var said: [String] = []
        var warned: [String] = []
        var exitCode: Int32 = 0
    }

    @Test("with --keys (or TONGBAN_DEPARTMENT_KEYS) a bad signature, an unknown key and a retired key are reported")
    func signatures() async throws {
        // Keys of this test only: all departments but civil affairs are registered with the "hub".
        var keys: [GeneratedEvent.Department: DepartmentSigningKey] = [:]
        var registry = EventKeyRegistry()
        for department in GeneratedEvent.Department.all {
            let key = try DepartmentSigningKey.generate(department: department.name, name: "validate-test")
            keys[department] = key
            if department != .civilAffairs { try registry.register(key) }
        }
        var configuration = PopulationConfiguration(people: 3, seed: 91)
        configuration.signingKeys = keys
        var events: [GeneratedEvent] = []
        _ = try PopulationGenerator(configuration).generate { events.append($0) }
        let household = try #require(events.first { $0.department == .household })
        let civil = try #require(events.first { $0.department == .civilAffairs })
        let id = try #require(household.id)
        // Altered after signing: another id, the signature unchanged.
        let altered = Array(
            String(decoding: household.line, as: UTF8.self)
                .replacingOccurrences(of: id, with: UUID().uuidString.lowercased()).utf8)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-validate-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("events.ndjson").path
        try Data([household.line, altered, civil.line].flatMap { $0 + [0x0A] }).write(to: URL(fileURLWithPath: file))
        let jwks = directory.appendingPathComponent("departments.jwks").path
        try Data(registry.jwks.utf8).write(to: URL(fileURLWithPath: jwks))

        let expected = [
            "\(file):2: signature: the signature does not match the event: it was altered after signing, or not "
                + "signed by household/validate-test",
            "\(file):3: signature: unknown key id civil-affairs/validate-test: its public key is not registered with "
                + "the hub",
            "1 valid, 2 invalid",
        ]
        let withFlag = try await Self.validate([file, "--keys", jwks], environment: [:])
        #expect(withFlag.said == expected)
        #expect(withFlag.warned.isEmpty)
        #expect(withFlag.exitCode == 1)
        let fromEnvironment = try await Self.validate([file], environment: ["TONGBAN_DEPARTMENT_KEYS": jwks])
        #expect(fromEnvironment.said == expected)
        #expect(fromEnvironment.warned.isEmpty)

        // A retired key verifies old events only: a new one signed with it is refused, as the projectors refuse it.
        var retired = EventKeyRegistry()
        try retired.register(try #require(keys[.household]), status: .retired)
        let retiredJWKS = directory.appendingPathComponent("retired.jwks").path
        try Data(retired.jwks.utf8).write(to: URL(fileURLWithPath: retiredJWKS))
        let single = directory.appendingPathComponent("one.ndjson").path
        try Data(household.line + [0x0A]).write(to: URL(fileURLWithPath: single))
        let withRetired = try await Self.validate([single, "--keys", retiredJWKS], environment: [:])
        #expect(
            withRetired.said == [
                "\(single):1: signature: key household/validate-test is retired: sign new events with an active key",
                "0 valid, 1 invalid",
            ])

        // Without keys: the signatures are not checked, and it says so once, on standard error.
        let withoutKeys = try await Self.validate([file, single], environment: [:])
        #expect(withoutKeys.said == ["4 valid, 0 invalid"])
        #expect(withoutKeys.warned == [ValidateCommand.signaturesNotChecked])
        #expect(withoutKeys.warned.first?.contains("signatures were not checked") == true)
        #expect(withoutKeys.exitCode == 0)
    }

    /// Runs `tongban validate` with `arguments`, reading `TONGBAN_DEPARTMENT_KEYS` from `environment`.
    static func validate(_ arguments: [String], environment: [String: String]) async throws -> Run {
        var run = Run()
        do {
            try await ValidateCommand.parse(arguments).perform(
                environment: environment, say: { run.said.append($0) }, warn: { run.warned.append($0) })
        } catch let code as ExitCode {
            run.exitCode = code.rawValue
        }
        return run
    }
}
