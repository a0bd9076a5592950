import Foundation
import TongbanConcurrency

/// Reads whole files, or standard input, for the async commands, off Swift's cooperative pool (README, "Concurrency"): a read
/// blocks its thread until the disk answers or the pipe ends, and a pool thread blocked there stalls every task.
enum FileInput {
    private static let executor = BlockingExecutor(label: "tongban.file-input")

    /// The bytes of a file, or of standard input for `-`.
    /// - Parameter path: the file's path, or `-`.
    /// - Returns: the bytes, or `nil` when there is no such file or it cannot be read.
    static func contents(of path: String) async -> [UInt8]? {
        await executor.run { () -> [UInt8]? in
            if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
            return FileManager.default.contents(atPath: path).map { Array($0) }
        }
    }
}
