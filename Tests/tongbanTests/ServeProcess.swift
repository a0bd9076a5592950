import Foundation
import TongbanTesting

/// The built `tongban` executable, next to the test bundle.
enum TongbanExecutable {
    /// Its path; nothing may be there yet (see ``required()``).
    static var path: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tongban")
            .path
    }

    /// Its path, once it is known to be there.
    /// - Returns: the path.
    /// - Throws: `ScenarioError` saying to build it, when it is not.
    static func required() throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ScenarioError("the tongban executable is not at \(path): build it with `swift build`")
        }
        return path
    }
}

/// A `tongban serve` child process on a test database, what it logs kept in a file; ports are read from its log (pass
/// `--port 0 --metrics-port 0` to let the system pick them). The process is killed, and its log removed, when the
/// value goes away.
final class ServeProcess: @unchecked Sendable {
    /// What the process logs before the API's port.
    static let apiAnnouncement = "serving the certificate services' API on http://127.0.0.1:"
    /// What the process logs before the operations endpoint's port.
    static let operationsAnnouncement = "/health/ready on http://127.0.0.1:"

    let process = Process()
    let output: URL

    /// Starts `tongban serve ARGUMENTS` with `DATABASE_URL` set to `database`.
    /// - Parameters:
    ///   - database: the test database.
    ///   - arguments: what follows `serve`.
    /// - Throws: `ScenarioError` when the executable is not built; what starting it throws.
    init(database: TestDatabase, arguments: [String]) throws {
        let binary = try TongbanExecutable.required()
        output = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID()).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = database.conninfo
        process.environment = environment
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// What the process logged so far.
    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Waits (up to 60 s) until the process logs the port after `prefix` (`…on http://127.0.0.1:PORT`).
    /// - Parameter prefix: the text before the port.
    /// - Returns: the port.
    /// - Throws: `ScenarioError`, with the log's end, when the process exits or 60 s pass first.
    func port(after prefix: String) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let text = log
            if let range = text.range(of: prefix) {
                let digits = text[range.upperBound...].drop { !$0.isNumber }.prefix { $0.isNumber }
                if let port = Int(digits), port > 0 { return port }
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw ScenarioError("tongban serve never logged \"\(prefix)\":\n\(log.suffix(3_000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The certificate services' API port, once the process logs it.
    /// - Throws: as ``port(after:)``.
    func apiPort() async throws -> Int { try await port(after: Self.apiAnnouncement) }

    /// The operations endpoint's port (`/health`, `/metrics`), once the process logs it.
    /// - Throws: as ``port(after:)``.
    func operationsPort() async throws -> Int { try await port(after: Self.operationsAnnouncement) }

    /// SIGTERM, and waits for the graceful exit.
    /// - Returns: the exit status.
    func terminate() async -> Int32 {
        process.terminate()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: output)
    }
}
