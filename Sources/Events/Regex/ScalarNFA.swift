/// A Thompson NFA over Unicode scalars that answers "does the pattern match anywhere in the string".
///
/// Runs in time linear in the input times the program size, without backtracking, allocation or
/// bridging: the whole search is one pass over `String.unicodeScalars` with two thread lists kept
/// in stack memory.
struct ScalarNFA: Sendable {
    private enum Operation: UInt8, Sendable {
        case set, split, jump, assertStart, assertEnd, match
    }

    private struct Instruction: Sendable {
        var operation: Operation
        var a: Int32 = 0
        var b: Int32 = 0
    }

    /// A compiled character set: a bitmap for ASCII and sorted ranges for the rest.
    struct Matcher: Sendable {
        let ascii: (UInt64, UInt64)
        let ranges: [ClosedRange<UInt32>]
        let negated: Bool

        init(_ set: ECMARegex.ScalarSet) {
            var low: UInt64 = 0
            var high: UInt64 = 0
            for range in set.ranges where range.lowerBound < 128 {
                for value in range.lowerBound...min(range.upperBound, 127) {
                    if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
                }
            }
            if set.negated {
                low = ~low
                high = ~high
            }
            ascii = (low, high)
            ranges = set.ranges.filter { $0.upperBound >= 128 }
            negated = set.negated
        }

        @inline(__always)
        func contains(_ value: UInt32) -> Bool {
            if value < 64 { return ascii.0 & (1 << UInt64(value)) != 0 }
            if value < 128 { return ascii.1 & (1 << UInt64(value - 64)) != 0 }
            var lower = 0
            var upper = ranges.count
            while lower < upper {
                let middle = (lower + upper) / 2
                let range = ranges[middle]
                if value < range.lowerBound {
                    upper = middle
                } else if value > range.upperBound {
                    lower = middle + 1
                } else {
                    return !negated
                }
            }
            return negated
        }
    }

    private var program: [Instruction] = []
    private var sets: [Matcher] = []
    /// The pattern starts with `^` on every path, so threads start only at position 0.
    private var anchoredAtStart = false

    static let maximumProgramSize = 20_000

    /// Compiles a native pattern; `nil` if it uses ICU-only constructs or grows too large.
    init?(_ regex: ECMARegex) {
        guard regex.isNative else { return nil }
        guard emit(regex.root) else { return nil }
        program.append(Instruction(operation: .match))
        anchoredAtStart = Self.startsAnchored(regex.root)
    }

    private static func startsAnchored(_ node: ECMARegex.Node) -> Bool {
        switch node {
        case .start: true
        case .sequence(let nodes): nodes.first.map(startsAnchored) ?? false
        case .alternation(let nodes): nodes.allSatisfy(startsAnchored)
        case .group(let inner, _, _): startsAnchored(inner)
        default: false
        }
    }

    private mutating func emit(_ node: ECMARegex.Node) -> Bool {
        guard program.count < Self.maximumProgramSize else { return false }
        switch node {
        case .set(let set):
            sets.append(Matcher(set))
            program.append(Instruction(operation: .set, a: Int32(sets.count - 1)))
        case .sequence(let nodes):
            for inner in nodes where !emit(inner) { return false }
        case .alternation(let nodes):
            var jumps: [Int] = []
            for (index, inner) in nodes.enumerated() {
                if index < nodes.count - 1 {
                    let split = program.count
                    program.append(Instruction(operation: .split, a: Int32(split + 1)))
                    guard emit(inner) else { return false }
                    jumps.append(program.count)
                    program.append(Instruction(operation: .jump))
                    program[split].b = Int32(program.count)
                } else {
                    guard emit(inner) else { return false }
                }
            }
            for jump in jumps { program[jump].a = Int32(program.count) }
        case .group(let inner, _, _):
            return emit(inner)
        case .repetition(let inner, let min, let max, _):
            for _ in 0..<min where !emit(inner) { return false }
            if let max {
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    program.append(Instruction(operation: .split, a: Int32(program.count + 1)))
                    guard emit(inner) else { return false }
                }
                for split in splits { program[split].b = Int32(program.count) }
            } else {
                let loop = program.count
                program.append(Instruction(operation: .split, a: Int32(loop + 1)))
                guard emit(inner) else { return false }
                program.append(Instruction(operation: .jump, a: Int32(loop)))
                program[loop].b = Int32(program.count)
            }
        case .start:
            program.append(Instruction(operation: .assertStart))
        case .end:
            program.append(Instruction(operation: .assertEnd))
        case .wordBoundary, .lookaround, .backreference:
            return false
        }
        return true
    }

    /// Whether the pattern matches some part of `string` (JSON Schema `pattern` semantics).
    func matches(_ string: String) -> Bool {
        let size = program.count
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 5 * size + 4) { buffer in
            guard let base = buffer.baseAddress else { return false }
            var current = base
            var next = base + size
            let marks = base + 2 * size
            let stack = base + 3 * size
            marks.initialize(repeating: -1, count: size)
            var currentCount = 0
            var generation: Int32 = 0

            return program.withUnsafeBufferPointer { program in
                // Adds the closure of `start` to `list`; returns true when it reaches `match`.
                func addThread(
                    _ start: Int32, to list: UnsafeMutablePointer<Int32>, count: inout Int,
                    atStart: Bool, atEnd: Bool
                ) -> Bool {
                    var top = 0
                    stack[top] = start
                    top += 1
                    while top > 0 {
                        top -= 1
                        let pc = Int(stack[top])
                        if marks[pc] == generation { continue }
                        marks[pc] = generation
                        let instruction = program[pc]
                        switch instruction.operation {
                        case .set:
                            list[count] = Int32(pc)
                            count += 1
                        case .split:
                            stack[top] = instruction.b
                            stack[top + 1] = instruction.a
                            top += 2
                        case .jump:
                            stack[top] = instruction.a
                            top += 1
                        case .assertStart:
                            if atStart {
                                stack[top] = Int32(pc + 1)
                                top += 1
                            }
                        case .assertEnd:
                            if atEnd {
                                stack[top] = Int32(pc + 1)
                                top += 1
                            }
                        case .match:
                            return true
                        }
                    }
                    return false
                }

                var iterator = string.unicodeScalars.makeIterator()
                var scalar = iterator.next()
                if addThread(0, to: current, count: &currentCount, atStart: true, atEnd: scalar == nil) {
                    return true
                }
                while let value = scalar?.value {
                    scalar = iterator.next()
                    let atEnd = scalar == nil
                    generation += 1
                    var nextCount = 0
                    for index in 0..<currentCount {
                        let pc = Int(current[index])
                        if sets[Int(program[pc].a)].contains(value),
                            addThread(Int32(pc + 1), to: next, count: &nextCount, atStart: false, atEnd: atEnd)
                        {
                            return true
                        }
                    }
                    if !anchoredAtStart,
                        addThread(0, to: next, count: &nextCount, atStart: false, atEnd: atEnd)
                    {
                        return true
                    }
                    if nextCount == 0, anchoredAtStart { return false }
                    swap(&current, &next)
                    currentCount = nextCount
                }
                return false
            }
        }
    }
}
