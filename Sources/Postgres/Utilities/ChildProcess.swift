import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a program and waits for it without blocking a thread: `posix_spawn`, then `waitpid(WNOHANG)` polls with
/// `Task.sleep` in between (README, "Concurrency", shape 1), under a time limit.
///
/// Why not Foundation's `Process`: on Linux it learns of termination through a socket that the child inherits,
/// and `pg_ctl start` leaves a daemon (the postmaster) holding that socket forever, so `terminationHandler` never
/// fires. Here the child gets only stdin (/dev/null) and stdout/stderr (a log file); every other descriptor is
/// closed (`posix_spawn_file_actions_addclosefrom_np`), so no server inherits anything of ours.
enum ChildProcess {
    struct Outcome {
        /// The exit status, or `nil` when the time limit ran out and the process was killed.
        let status: Int32?
        /// What it printed on stdout and stderr, interleaved.
        let output: String
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not export
    /// (it needs `_GNU_SOURCE`). Without it, children inherit only descriptors lacking `FD_CLOEXEC`.
    private static let addCloseFrom:
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
            #if canImport(Glibc)
                guard
                    let symbol = dlsym(
                        UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
                else {
                    return nil
                }
                return unsafeBitCast(
                    symbol,
                    to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self
                )
            #else
                return nil
            #endif
        }()

    static func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws(PostgresError)
        -> Outcome
    {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("tongban-process-\(UUID().uuidString).log").path
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else { throw PostgresError(.embeddedServer, "cannot create \(outputPath)") }
        defer { unlink(outputPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        if let addCloseFrom = addCloseFrom {
            _ = addCloseFrom(&actions, 3)
        }

        var pid = pid_t()
        let argv = [executable] + arguments
        let spawned = withCStringArray(argv) { pointers in
            pointers.withMemoryRebound(to: UnsafeMutablePointer<CChar>?.self, capacity: argv.count + 1) { argv in
                posix_spawn(&pid, executable, &actions, nil, argv, environ)
            }
        }
        close(outputFD)
        guard spawned == 0 else {
            throw PostgresError(.embeddedServer, "cannot run \(executable): \(String(cString: strerror(spawned)))")
        }

        let deadline = ContinuousClock.now + timeout
        var status: Int32? = nil
        var interval = Duration.milliseconds(2)
        while true {
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid {
                // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
                status = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
                break
            }
            if result < 0 && errno != EINTR {
                status = -1
                break
            }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &raw, 0)  // SIGKILL cannot be caught: this returns at once
                break
            }
            try? await Task.sleep(for: interval)
            interval = min(interval * 2, .milliseconds(50))
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Outcome(status: status, output: output)
    }
}
