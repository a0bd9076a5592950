public import Foundation

/// Runs a program for a test and waits for it without blocking a thread (the process's termination handler resumes
/// the test): Python cross-checks, `psql`, a shell line.
public enum TestProcess {
    /// What a program did.
    public struct Result: Sendable {
        /// Its exit status.
        public var status: Int32
        /// What it wrote on standard output.
        public var output: String
        /// What it wrote on standard error.
        public var errors: String
    }

    /// Runs `executable` with `arguments`, `input` on its standard input, and waits for it.
    /// - Parameters:
    ///   - executable: the program's path (`/usr/bin/env` to look a name up in `PATH`).
    ///   - arguments: its arguments.
    ///   - environment: its whole environment (`nil`: this process's).
    ///   - input: what it reads on standard input (`nil`: nothing).
    /// - Returns: its status and output.
    /// - Throws: when it cannot be started, or its files cannot be written or read.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-test-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputURL = directory.appendingPathComponent("stdin")
        let outputURL = directory.appendingPathComponent("stdout")
        let errorsURL = directory.appendingPathComponent("stderr")
        try (input ?? "").write(to: inputURL, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        let errors = try FileHandle(forWritingTo: errorsURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = try FileHandle(forReadingFrom: inputURL)
        process.standardOutput = output
        process.standardError = errors
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try output.close()
        try errors.close()
        return Result(
            status: status, output: try String(contentsOf: outputURL, encoding: .utf8),
            errors: try String(contentsOf: errorsURL, encoding: .utf8))
    }
}
