import Synchronization

/// Lets a partition revocation wait until the batch being applied has committed (or failed), so that the next
/// owner of the partition reads the checkpoint this instance wrote last.
final class ApplyGate: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func begin() { state.withLock { $0.busy = true } }

    func end() {
        let waiting = state.withLock { state in
            state.busy = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Returns once no batch is being applied.
    func waitIdle() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state in
                if !state.busy { return true }
                state.waiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}
