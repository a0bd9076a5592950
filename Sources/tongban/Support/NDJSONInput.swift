import ArgumentParser
import Foundation

/// Reads NDJSON from a file or standard input (`-`), as lines of bytes with their line numbers.
enum NDJSONInput {
    struct Line: Sendable {
        let number: Int
        let bytes: [UInt8]
    }

    /// Reads and splits a file (off the cooperative pool: ``FileInput``).
    /// - Parameter path: the file, or `-` for standard input.
    /// - Returns: the lines that are not blank, with their numbers.
    /// - Throws: ``CommandFailure`` when the file cannot be read.
    static func read(_ path: String) async throws -> [Line] {
        guard let data = await FileInput.contents(of: path) else {
            throw CommandFailure("cannot read \(path): no such file, or not readable")
        }
        var lines: [Line] = []
        var number = 0
        for slice in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var bytes = Array(slice)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            lines.append(Line(number: number, bytes: bytes))
        }
        return lines
    }

    /// Runs `body` over `items` on all cores, in chunks, keeping the order.
    static func parallelMap<T: Sendable, R: Sendable>(
        _ items: [T], chunk: Int = 2_000, _ body: @escaping @Sendable (T) -> R
    ) async -> [R] {
        await withTaskGroup(of: (Int, [R]).self) { group in
            for start in stride(from: 0, to: items.count, by: chunk) {
                let slice = Array(items[start..<min(start + chunk, items.count)])
                group.addTask { (start, slice.map(body)) }
            }
            var results = [R?](repeating: nil, count: items.count)
            for await (start, chunkResults) in group {
                for (i, r) in chunkResults.enumerated() { results[start + i] = r }
            }
            return results.map { $0! }
        }
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A failure while a command runs (not a mistake in its arguments): printed as `Error: …` without
/// the usage text, with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
