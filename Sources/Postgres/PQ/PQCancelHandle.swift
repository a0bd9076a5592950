internal import CLibPQ
import Dispatch
import Synchronization

/// Owns a `PGcancel*` and decides, per call, whether a task's cancellation must reach the server.
///
/// Every cancellable call gets an id. The connection's thread marks the id running (`begin`) and done (`end`);
/// `requestCancel` runs from `withTaskCancellationHandler`'s `onCancel` on any thread. A cancel request is sent
/// with `PQcancel` (thread-safe, blocking: it opens a connection to the postmaster) on a global dispatch queue,
/// never on the cooperative pool. The lock is held while `PQcancel` runs, so the connection thread cannot finish
/// that call and start the next one meanwhile: a late cancel arrives while the backend is idle, where the server
/// ignores it, and never cancels somebody else's statement.
final class PQCancelHandle: @unchecked Sendable {
    // @unchecked Sendable: `pointer` is immutable and only used by PQcancel (documented thread-safe) and by
    // PQfreeCancel in deinit; all mutable state is inside the Mutex.
    private let pointer: OpaquePointer
    private let state = Mutex(State())

    private struct State {
        var nextID: UInt64 = 0
        var running: UInt64?
        var requested: Set<UInt64> = []
    }

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        PQfreeCancel(pointer)
    }

    func makeID() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    /// Marks `id` running; `false` when it was cancelled before it started.
    func begin(_ id: UInt64) -> Bool {
        state.withLock { state in
            if state.requested.contains(id) { return false }
            state.running = id
            return true
        }
    }

    /// Marks `id` done; returns whether a cancel was requested while it ran.
    func end(_ id: UInt64) -> Bool {
        state.withLock { state in
            state.running = nil
            return state.requested.remove(id) != nil
        }
    }

    /// Forgets a late request for a call that has already finished.
    func forget(_ id: UInt64) {
        _ = state.withLock { state in state.requested.remove(id) }
    }

    /// Called from `onCancel`: remembers the request and, if the call is running, cancels it on the server.
    func requestCancel(_ id: UInt64) {
        let running = state.withLock { state in
            state.requested.insert(id)
            return state.running == id
        }
        guard running else { return }
        DispatchQueue.global().async { [self] in
            state.withLock { state in
                guard state.running == id else { return }
                var buffer = [CChar](repeating: 0, count: 256)
                _ = PQcancel(pointer, &buffer, Int32(buffer.count))
            }
        }
    }
}
