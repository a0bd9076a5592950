import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGTERM and SIGINT, trapped from the moment a long-running command starts.
///
/// A `ServiceGroup` traps its shutdown signals only once it runs. Before that, during start-up (migrations, an
/// embedded cluster starting, a population being published), a signal's default action ended the process at once:
/// `tongban project` exited by the signal instead of with status 0, and `tongban dev` left its embedded
/// PostgreSQL running. With this, a stop asked for at any moment is graceful: the command finishes the step in
/// hand, skips the rest of its start-up, stops what it started and exits with status 0.
///
/// ```swift
/// let stop = await StopSignals.trap()       // first thing in run()
/// … start-up steps, each followed by `try stop.check()` …
/// try await stop.run(group)                 // the group is shut down gracefully on a signal
/// ```
final class StopSignals: Sendable {
    private struct State: Sendable {
        var requested = false
        var group: ServiceGroup?
    }

    private let state = Mutex(State())

    private init() {}

    /// Starts trapping SIGTERM and SIGINT (for the rest of the process).
    static func trap() async -> StopSignals {
        let stop = StopSignals()
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        Task {
            for await _ in signals { await stop.request() }
        }
        return stop
    }

    /// Whether a stop was asked for.
    var isRequested: Bool { state.withLock { $0.requested } }

    /// Asks for a stop, as a signal does: the group, if it runs, shuts down gracefully.
    func request() async {
        let group = state.withLock { (current: inout State) -> ServiceGroup? in
            current.requested = true
            return current.group
        }
        await group?.triggerGracefulShutdown()
    }

    /// Throws ``StopRequested`` when a stop was asked for; call it between start-up steps.
    func check() throws(StopRequested) {
        if isRequested { throw StopRequested() }
    }

    /// Runs `group` until its services end. A stop asked for before it runs starts and stops its services at once
    /// (gracefully); one asked for while it runs shuts it down gracefully. Create `group` with no shutdown signals
    /// of its own.
    func run(_ group: ServiceGroup) async throws {
        let early = state.withLock { (current: inout State) -> Bool in
            current.group = group
            return current.requested
        }
        if early { await group.triggerGracefulShutdown() }
        try await group.run()
    }
}

/// A stop was asked for (SIGTERM or SIGINT) during a command's start-up.
struct StopRequested: Error, CustomStringConvertible {
    var description: String { "stopped by a signal during start-up" }
}
