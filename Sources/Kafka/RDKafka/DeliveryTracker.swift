import Synchronization

/// Matches librdkafka's delivery reports to the `send` calls waiting for them.
///
/// Each message's opaque pointer encodes its batch id (high 32 bits, never 0) and its index in
/// the batch (low 32 bits), so no allocation is made per message. The delivery callback runs on
/// the producer's poll thread; it records the outcome under the lock and resumes the waiting task
/// outside it, exactly once.
final class DeliveryTracker: Sendable {
    struct Outcome: Sendable {
        var partition: Int32 = -1
        var offset: Int64 = -1
        /// `rd_kafka_resp_err_t` raw value; 0 is success.
        var error: Int32 = RDKafkaErrorCodes.notDelivered
    }

    private final class Pending {
        var outcomes: [Outcome]
        var remaining: Int
        var continuation: CheckedContinuation<[Outcome], Never>?
        init(count: Int) {
            outcomes = Array(repeating: Outcome(), count: count)
            remaining = count
        }
    }

    private struct State {
        var nextID: UInt32 = 0
        var pending: [UInt32: Pending] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// Registers a batch of `count` messages and returns its id.
    func register(count: Int) -> UInt32 {
        state.withLock { state in
            repeat { state.nextID &+= 1 } while state.nextID == 0 || state.pending[state.nextID] != nil
            state.pending[state.nextID] = Pending(count: count)
            return state.nextID
        }
    }

    static func opaque(batch: UInt32, index: Int) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer(bitPattern: UInt(batch) << 32 | UInt(UInt32(truncatingIfNeeded: index)))
    }

    /// Records a delivery report. Called from librdkafka's thread.
    func complete(opaque: UnsafeMutableRawPointer?, partition: Int32, offset: Int64, error: Int32) {
        let bits = UInt(bitPattern: opaque)
        let batch = UInt32(truncatingIfNeeded: bits >> 32)
        let index = Int(UInt32(truncatingIfNeeded: bits))
        record(batch: batch, index: index, outcome: Outcome(partition: partition, offset: offset, error: error))
    }

    /// Records a message that librdkafka refused to enqueue, so no report will come for it.
    func fail(batch: UInt32, index: Int, error: Int32) {
        record(batch: batch, index: index, outcome: Outcome(error: error))
    }

    private func record(batch: UInt32, index: Int, outcome: Outcome) {
        let ready: (CheckedContinuation<[Outcome], Never>, [Outcome])? = state.withLock { state in
            guard let pending = state.pending[batch], pending.outcomes.indices.contains(index) else { return nil }
            pending.outcomes[index] = outcome
            pending.remaining -= 1
            guard pending.remaining == 0, let continuation = pending.continuation else { return nil }
            state.pending[batch] = nil
            return (continuation, pending.outcomes)
        }
        if let (continuation, outcomes) = ready { continuation.resume(returning: outcomes) }
    }

    /// Waits until every message of the batch has an outcome.
    func wait(batch: UInt32) async -> [Outcome] {
        await withCheckedContinuation { continuation in
            let ready: [Outcome]? = state.withLock { state in
                guard let pending = state.pending[batch] else { return [] }
                if pending.remaining == 0 || state.closed {
                    state.pending[batch] = nil
                    return pending.outcomes
                }
                pending.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Fails every outstanding message (the client is gone; no report will come).
    func closeAll() {
        let waiting: [(CheckedContinuation<[Outcome], Never>, [Outcome])] = state.withLock { state in
            state.closed = true
            let waiting = state.pending.values.compactMap { p in p.continuation.map { ($0, p.outcomes) } }
            state.pending = state.pending.filter { $0.value.continuation == nil }
            return waiting
        }
        for (continuation, outcomes) in waiting { continuation.resume(returning: outcomes) }
    }
}
