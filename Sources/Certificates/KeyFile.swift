import Foundation

#if canImport(Glibc)
    public import Glibc
#elseif canImport(Musl)
    public import Musl
#elseif canImport(Darwin)
    public import Darwin
#endif

/// Why a key file could not be created, read, replaced or removed.
public struct KeyFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// Something (a file, a folder, a symbolic link) is already at the path; it was left untouched.
        case exists
        /// Nothing is at the path.
        case notFound
        /// A private key file that others than its owner may read or write, or that is not a regular file.
        case insecure
        /// The system refused (permissions, a missing folder, a full disk…).
        case failed
    }

    /// What kind of failure.
    public let code: Code
    /// The file.
    public let path: String
    /// Plain words for a person (never any key material).
    public let reason: String
    public var description: String { reason }

    init(_ code: Code, _ path: String, _ reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    /// The error for the `errno` of a failed system call.
    static func system(_ what: String, _ path: String, _ code: Int32) -> KeyFileError {
        let words = String(cString: strerror(code))
        switch code {
        case EEXIST: return KeyFileError(.exists, path, "\(path) exists; a key file is never overwritten")
        case ENOENT: return KeyFileError(.notFound, path, "could not \(what) \(path): \(words)")
        case ELOOP: return KeyFileError(.insecure, path, "\(path) is a symbolic link; key files are never followed")
        default: return KeyFileError(.failed, path, "could not \(what) \(path): \(words)")
        }
    }
}

/// Key files on disk: created only where nothing is, readable by their owner alone, replaced whole or not at all.
public enum KeyFile {
    /// Creates a file that only its owner can read and writes `contents` to it, never replacing anything: one
    /// `open(2)` with `O_CREAT | O_EXCL` and mode 0600 both creates the file and refuses any file or symbolic link
    /// already there (left untouched), so there is no moment between a check and the creation, and none when the
    /// file exists with a wider mode. The bytes reach the disk (`fsync`) before this returns.
    /// - Parameters:
    ///   - path: the file to create.
    ///   - contents: its bytes.
    /// - Throws: ``KeyFileError`` `.exists` when something is at `path`; `.notFound` when its folder is missing;
    ///   `.failed` when it cannot be created or written (a file it created but could not write whole is removed).
    public static func createExclusive(at path: String, contents: [UInt8]) throws(KeyFileError) {
        try create(at: path, contents: contents, mode: 0o600)
    }

    /// Creates a new file with `mode` (refusing anything already at `path`), writes `contents` and syncs them.
    static func create(at path: String, contents: [UInt8], mode: mode_t) throws(KeyFileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw KeyFileError.system("create", path, errno) }
        var failure: Int32?
        contents.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count, let base = buffer.baseAddress {
                let count = write(descriptor, base + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                written += count
            }
        }
        // The umask may have narrowed the mode; a key file's mode is exactly what was asked.
        if failure == nil && fchmod(descriptor, mode) != 0 { failure = errno }
        if failure == nil && fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0 && failure == nil { failure = errno }
        if let failure {
            unlink(path)
            throw KeyFileError.system("write", path, failure)
        }
    }

    /// Replaces the file at `path` whole or not at all: the new bytes go to a new file beside it, created with
    /// exactly `mode` (never wider for a moment), reach the disk, and are renamed over the old one (a crash leaves
    /// either the old file or the new one, never a mix; a symbolic link at `path` is replaced, not followed), then the
    /// folder is synced so the rename itself survives a crash.
    /// - Parameters:
    ///   - path: the file to replace (or create).
    ///   - contents: its new bytes.
    ///   - mode: the new file's mode.
    /// - Throws: ``KeyFileError`` `.notFound` when the folder is missing, `.failed` otherwise (the old file is then as
    ///   it was).
    public static func replace(at path: String, contents: [UInt8], mode: mode_t) throws(KeyFileError) {
        let temporary = "\(path).\(UUID().uuidString.lowercased()).tmp"
        try create(at: temporary, contents: contents, mode: mode)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw KeyFileError.system("replace", path, code)
        }
        try syncFolder(of: path)
    }

    /// Removes a file and syncs its folder; a file already gone is not an error.
    /// - Parameter path: the file.
    /// - Throws: ``KeyFileError`` `.failed`.
    static func remove(at path: String) throws(KeyFileError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw KeyFileError.system("remove", path, errno) }
        try syncFolder(of: path)
    }

    /// Whether anything (even a dangling symbolic link) is at `path`.
    static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Reads a file of at most `maximumBytes` bytes.
    /// - Parameters:
    ///   - path: the file.
    ///   - private: whether it holds a secret: then it must be a regular file (not a symbolic link) that no one but
    ///     its owner can read or write (mode 0600 or narrower).
    ///   - maximumBytes: the largest size accepted.
    /// - Returns: the bytes.
    /// - Throws: ``KeyFileError``: `.notFound`, `.insecure`, or `.failed` (also for a file larger than allowed).
    static func read(at path: String, private: Bool, maximumBytes: Int = 1 << 20) throws(KeyFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | (`private` ? O_NOFOLLOW : 0))
        guard descriptor >= 0 else { throw KeyFileError.system("read", path, errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw KeyFileError.system("read", path, errno) }
        if `private` {
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw KeyFileError(.insecure, path, "\(path) is not a regular file")
            }
            let mode = status.st_mode & 0o777
            guard mode & 0o077 == 0 else {
                throw KeyFileError(
                    .insecure, path,
                    "\(path) holds a private key but others may read or change it (mode \(String(mode, radix: 8))): "
                        + "chmod 600 it, and ask whether it was copied")
            }
        }
        guard Int(status.st_size) <= maximumBytes else {
            throw KeyFileError(.failed, path, "\(path) is larger than \(maximumBytes) bytes: it is not a key file")
        }
        var bytes = [UInt8](repeating: 0, count: maximumBytes + 1)
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + total, buffer.count - total)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw KeyFileError.system("read", path, errno)
            }
            if count == 0 { break }
            total += count
        }
        guard total <= maximumBytes else {
            throw KeyFileError(.failed, path, "\(path) is larger than \(maximumBytes) bytes: it is not a key file")
        }
        return Array(bytes[..<total])
    }

    /// Runs `body` while holding an exclusive lock on `<folder>/hub-keys.lock`, so that two commands changing the
    /// same keys (two rotations at once) take turns instead of losing a key.
    /// - Parameters:
    ///   - folder: the keys' folder (it must exist).
    ///   - body: the work.
    /// - Returns: what `body` returns.
    /// - Throws: ``KeyFileError`` when the lock cannot be taken, or what `body` throws.
    static func withLock<Result>(
        in folder: String, _ body: () throws(HubKeyError) -> Result
    ) throws(HubKeyError) -> Result {
        let path = (folder as NSString).appendingPathComponent("hub-keys.lock")
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw HubKeyError(KeyFileError.system("lock", path, errno)) }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw HubKeyError(KeyFileError.system("lock", path, errno)) }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    /// Syncs the folder holding `path`, so that a file created, renamed or removed there stays so after a crash.
    static func syncFolder(of path: String) throws(KeyFileError) {
        let folder = (path as NSString).deletingLastPathComponent
        let descriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw KeyFileError.system("sync", folder, errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw KeyFileError.system("sync", folder, errno) }
    }
}

/// `read(2)`, named apart from ``KeyFile/read(at:private:maximumBytes:)``.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
