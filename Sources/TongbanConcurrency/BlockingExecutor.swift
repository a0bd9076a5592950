import Dispatch

/// A serial executor backed by its own dispatch queue, for code that makes blocking C calls.
///
/// Swift's cooperative pool has one thread per core; a blocking `PQexec` or `rd_kafka_consumer_poll`
/// on it stalls every task in the process (8 × `pg_sleep(1)` took 5 s here; README, "Concurrency").
/// An actor whose `unownedExecutor` is a `BlockingExecutor` runs its synchronous methods on this
/// queue's thread instead, so blocking there costs the pool nothing (README, "Concurrency", shape 4).
///
/// Use it as the serial executor of an actor that owns one C handle, or as a task executor
/// preference with `withTaskExecutorPreference(_:operation:)`.
public final class BlockingExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: the only stored state is an immutable reference to a serial
    // DispatchQueue, which is itself thread-safe.
    private let queue: DispatchQueue

    /// Creates an executor with a queue of its own.
    /// - Parameter label: the queue's label, shown in debuggers and crash reports.
    public init(label: String) {
        self.queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async {
            job.runSynchronously(
                isolatedTo: self.asUnownedSerialExecutor(),
                taskExecutor: self.asUnownedTaskExecutor()
            )
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Runs a blocking closure on this executor's queue and resumes the caller when it returns
    /// (README, "Concurrency", shape 3). The calling task's thread is free meanwhile.
    /// - Parameter body: the blocking work; it must not touch actor-isolated state.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(E) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
