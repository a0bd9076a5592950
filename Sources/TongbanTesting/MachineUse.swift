public import Testing

/// Keeps timing-sensitive tests from running while other tests load the machine.
///
/// Swift Testing runs tests in parallel. A test that proves the cooperative pool keeps its cadence
/// (or that a cancel lands within a second) measures wall-clock time, and on a 2-core machine any
/// CPU-heavy test running beside it — generating a population, validating thousands of events in a
/// debug build — makes it late for reasons that have nothing to do with what it checks. Suites that
/// use the machine take ``Trait/sharedMachine`` (they run together as usual); timing-sensitive tests
/// take ``Trait/quietMachine`` and run alone, and so do the heavy end-to-end tests (projectors through
/// Kafka, processes killed and restarted), which would otherwise starve everything beside them.
public actor MachineGate {
    /// The gate of this test process.
    public static let shared = MachineGate()

    private var sharedHolders = 0
    private var exclusiveHeld = false
    private var waiting: [(exclusive: Bool, continuation: CheckedContinuation<Void, Never>)] = []

    func acquire(exclusive: Bool) async {
        if waiting.isEmpty && canEnter(exclusive: exclusive) {
            enter(exclusive: exclusive)
            return
        }
        await withCheckedContinuation { waiting.append((exclusive, $0)) }
    }

    func release(exclusive: Bool) {
        if exclusive { exclusiveHeld = false } else { sharedHolders -= 1 }
        // First come, first served: a waiting exclusive test holds back later shared ones.
        while let next = waiting.first, canEnter(exclusive: next.exclusive) {
            waiting.removeFirst()
            enter(exclusive: next.exclusive)
            next.continuation.resume()
        }
    }

    private func canEnter(exclusive: Bool) -> Bool {
        exclusive ? !exclusiveHeld && sharedHolders == 0 : !exclusiveHeld
    }

    private func enter(exclusive: Bool) {
        if exclusive { exclusiveHeld = true } else { sharedHolders += 1 }
    }
}

/// A trait that runs each test case inside the ``MachineGate``.
public struct MachineUseTrait: TestTrait, SuiteTrait, TestScoping {
    let exclusive: Bool

    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> MachineUseTrait? {
        test.isSuite || testCase == nil ? nil : self
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's trait and its test's both apply: taking the gate twice would wait for ourselves (a shared hold
        // never lets an exclusive one in), and every gated test after it would wait too.
        if let held = Self.held {
            guard held || !exclusive else { throw MachineUseConflict(test: test.name) }
            try await function()
            return
        }
        await MachineGate.shared.acquire(exclusive: exclusive)
        do {
            try await Self.$held.withValue(exclusive) { try await function() }
        } catch {
            await MachineGate.shared.release(exclusive: exclusive)
            throw error
        }
        await MachineGate.shared.release(exclusive: exclusive)
    }

    /// Whether this task holds the gate already, and how (`true`: exclusive).
    @TaskLocal static var held: Bool?
}

/// A test asks for a quiet machine inside a suite that took a shared one: it could never run.
struct MachineUseConflict: Error, CustomStringConvertible {
    let test: String
    var description: String {
        "\(test) takes .quietMachine inside a suite that takes .sharedMachine: give the suite no machine-use trait "
            + "and each of its tests its own"
    }
}

extension Trait where Self == MachineUseTrait {
    /// The test measures wall-clock time: it runs with no other gated test beside it.
    public static var quietMachine: Self { MachineUseTrait(exclusive: true) }
    /// The test uses the machine as tests do; it runs beside others, but never beside a quiet one.
    public static var sharedMachine: Self { MachineUseTrait(exclusive: false) }
}
