internal import CLibPQ
import Dispatch
import Synchronization

/// Owns a `PGcancel*` and decides, per call, whether a task's cancellation must reach the server.
///
/// Every cancellable call gets an id. The connection's thread marks the id running (`begin`) and done (`end`);
/// `requestCancel` runs from `withTaskCancellationHandler`'s `onCancel` on any thread, often one of Swift's
/// cooperative pool, and `makeID`/`forget` run on the caller's executor, usually that pool too.
///
/// `PQcancel` blocks: it opens a connection to the server, sends the request and waits until the server closes it,
/// which takes as long as the network and the server take. So it runs on this handle's own serial dispatch queue,
/// never on the cooperative pool (nor on `DispatchQueue.global()`, whose threads on Linux are the ones the
/// cooperative pool's jobs run on; a queue made with `DispatchQueue(label:)` gets a thread of its own when it has
/// work), and no lock is held while it runs: `state` guards only a few assignments, so a task that takes it never
/// waits for the network.
///
/// A late cancel must never cancel the next statement. A request is sent only while its call is running, and
/// `end` (on the connection's thread, which may block) waits until a request sent for the ending call has been
/// delivered, before the connection can start anything else: a cancel that arrives after its statement finished
/// finds the backend idle, where the server ignores it.
///
/// The `PGcancel*` is freed once, in `deinit`; the work sent to the queue holds the handle, so it is never freed
/// while `PQcancel` uses it.
final class PQCancelHandle: @unchecked Sendable {
    // @unchecked Sendable: `pointer` is immutable and only used by PQcancel (documented thread-safe) and by
    // PQfreeCancel in deinit; all mutable state is inside the Mutex; `queue` and `delivering` are thread-safe.
    private let pointer: OpaquePointer
    private let state = Mutex(State())
    /// Where `PQcancel` runs: a serial queue of this handle's own, so a slow server delays only this connection.
    private let queue = DispatchQueue(label: "tongban.postgres.cancel")
    /// Entered while a `PQcancel` is under way; `end` waits on it.
    private let delivering = DispatchGroup()

    private struct State {
        var nextID: UInt64 = 0
        var running: UInt64?
        var requested: Set<UInt64> = []
        /// Whether a `PQcancel` for `running` has been handed to `queue` and has not returned yet.
        var sending = false
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

    /// Marks `id` running; `false` when it was cancelled before it started. Called on the connection's thread.
    func begin(_ id: UInt64) -> Bool {
        state.withLock { state in
            if state.requested.contains(id) { return false }
            state.running = id
            return true
        }
    }

    /// Marks `id` done and returns whether a cancel was requested while it ran. Called on the connection's thread
    /// (never on the cooperative pool): it blocks until a `PQcancel` sent for `id` has returned, so that the
    /// request reaches the server before the connection can send its next statement.
    func end(_ id: UInt64) -> Bool {
        let requested = state.withLock { state in
            state.running = nil
            return state.requested.remove(id) != nil
        }
        // No cancel for `id` can be sent from here on (`running` is nil); wait for one already sent, outside the lock.
        delivering.wait()
        return requested
    }

    /// Forgets a late request for a call that has already finished.
    func forget(_ id: UInt64) {
        _ = state.withLock { state in state.requested.remove(id) }
    }

    /// Called from `onCancel`: remembers the request and, if the call is running, has it cancelled on the server.
    /// Never blocks: `PQcancel` runs on the handle's queue.
    func requestCancel(_ id: UInt64) {
        let send = state.withLock { state in
            state.requested.insert(id)
            guard state.running == id, !state.sending else { return false }
            state.sending = true
            delivering.enter()  // inside the lock: `end` cannot clear `running` and pass its wait before this
            return true
        }
        guard send else { return }
        queue.async { [self] in
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(pointer, &buffer, Int32(buffer.count))
            state.withLock { state in state.sending = false }
            delivering.leave()
        }
    }
}
