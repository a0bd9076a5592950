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
    /// The ASCII bitmaps of `sets`, two words per set, so that ASCII input never touches a `Matcher`.
    private var asciiBitmaps: [UInt64] = []
    /// The pattern starts with `^` on every path, so threads start only at position 0.
    private var anchoredAtStart = false

    static let maximumProgramSize = 20_000
    /// Largest DFA built ahead of time; beyond it the NFA runs directly.
    static let maximumDFAStates = 2_000

    /// The equivalent DFA over classes of code points, when it is small enough.
    private var dfa: DFA?

    /// Compiles a native pattern; `nil` if it uses ICU-only constructs or grows too large.
    init?(_ regex: ECMARegex) {
        guard regex.isNative else { return nil }
        guard emit(regex.root) else { return nil }
        program.append(Instruction(operation: .match))
        anchoredAtStart = Self.startsAnchored(regex.root)
        dfa = DFA(self)
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
            let matcher = Matcher(set)
            sets.append(matcher)
            asciiBitmaps += [matcher.ascii.0, matcher.ascii.1]
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
        if let dfa { return dfa.matches(string) }
        return simulate(string)
    }

    /// The epsilon closure of `roots`: the `set` instructions reached and whether `match` is reached.
    private func closure(_ roots: [Int32], atStart: Bool, atEnd: Bool) -> (sets: [Int32], matched: Bool) {
        var seen = [Bool](repeating: false, count: program.count)
        var stack = roots.reversed().map { $0 }
        var sets: [Int32] = []
        var matched = false
        while let pc = stack.popLast().map(Int.init) {
            if seen[pc] { continue }
            seen[pc] = true
            let instruction = program[pc]
            switch instruction.operation {
            case .set: sets.append(Int32(pc))
            case .split: stack += [instruction.b, instruction.a]
            case .jump: stack.append(instruction.a)
            case .assertStart: if atStart { stack.append(Int32(pc + 1)) }
            case .assertEnd: if atEnd { stack.append(Int32(pc + 1)) }
            case .match: matched = true
            }
        }
        return (sets, matched)
    }

    /// A DFA built by subset construction over classes of code points that every set treats alike.
    private struct DFA: Sendable {
        /// Class of each ASCII code point.
        let asciiClass: [UInt16]
        /// Lower bounds of the non-ASCII classes, ascending (class of a scalar: last bound ≤ it).
        let bounds: [UInt32]
        let boundClass: [UInt16]
        let classCount: Int
        /// `transitions[state * classCount + class]`, -1 for a dead end.
        let transitions: [Int32]
        let acceptsNow: [Bool]
        let acceptsAtEnd: [Bool]

        init?(_ nfa: ScalarNFA) {
            // Intervals between every range boundary of every set (and each ASCII code point) are uniform: every set
            // holds all of an interval or none of it. Intervals held by the same sets are one class, since sets are
            // all the program reads of a character: a dozen classes instead of hundreds keep the table in L1.
            var cuts: Set<UInt32> = [0, 128]
            for matcher in nfa.sets {
                for range in matcher.ranges {
                    cuts.insert(range.lowerBound)
                    if range.upperBound < 0x10FFFF { cuts.insert(range.upperBound + 1) }
                }
            }
            for value in 0..<128 { cuts.insert(UInt32(value)) }
            let sortedCuts = cuts.sorted()
            var asciiClass = [UInt16](repeating: 0, count: 128)
            var bounds: [UInt32] = []
            var boundClass: [UInt16] = []
            var representatives: [UInt32] = []
            var classOfMembership: [[Bool]: UInt16] = [:]
            for cut in sortedCuts {
                let membership = nfa.sets.map { $0.contains(cut) }
                let classIndex: UInt16
                if let known = classOfMembership[membership] {
                    classIndex = known
                } else {
                    guard representatives.count < Int(UInt16.max) else { return nil }
                    classIndex = UInt16(representatives.count)
                    classOfMembership[membership] = classIndex
                    representatives.append(cut)
                }
                if cut < 128 {
                    asciiClass[Int(cut)] = classIndex
                } else {
                    bounds.append(cut)
                    boundClass.append(classIndex)
                }
            }
            let classCount = representatives.count

            // Subset construction; a state is its closure roots plus whether it is the start.
            struct Key: Hashable {
                let roots: [Int32]
                let start: Bool
            }
            var index: [Key: Int32] = [:]
            var keys: [Key] = []
            var transitions: [Int32] = []
            var acceptsNow: [Bool] = []
            var acceptsAtEnd: [Bool] = []
            func state(_ key: Key) -> Int32? {
                if let existing = index[key] { return existing }
                guard keys.count < ScalarNFA.maximumDFAStates else { return nil }
                let id = Int32(keys.count)
                index[key] = id
                keys.append(key)
                acceptsNow.append(nfa.closure(key.roots, atStart: key.start, atEnd: false).matched)
                acceptsAtEnd.append(nfa.closure(key.roots, atStart: key.start, atEnd: true).matched)
                return id
            }
            guard state(Key(roots: [0], start: true)) != nil else { return nil }
            var next = 0
            while next < keys.count {
                let key = keys[next]
                let sets = nfa.closure(key.roots, atStart: key.start, atEnd: false).sets
                for representative in representatives {
                    var roots = Set<Int32>()
                    for pc in sets where nfa.sets[Int(nfa.program[Int(pc)].a)].contains(representative) {
                        roots.insert(pc + 1)
                    }
                    if !nfa.anchoredAtStart { roots.insert(0) }
                    if roots.isEmpty {
                        transitions.append(-1)
                    } else {
                        guard let target = state(Key(roots: roots.sorted(), start: false)) else { return nil }
                        transitions.append(target)
                    }
                }
                next += 1
            }
            self.asciiClass = asciiClass
            self.bounds = bounds
            self.boundClass = boundClass
            self.classCount = classCount
            self.transitions = transitions
            self.acceptsNow = acceptsNow
            self.acceptsAtEnd = acceptsAtEnd
        }

        func matches(_ string: String) -> Bool {
            if acceptsNow[0] { return true }
            var state = 0
            // ASCII bytes step straight through the table: the verdict, or nil and the offset of the first
            // non-ASCII byte, from which on the string is read by scalars.
            func ascii(_ bytes: some Collection<UInt8>) -> (verdict: Bool?, stop: Int) {
                transitions.withUnsafeBufferPointer { table in
                    asciiClass.withUnsafeBufferPointer { classes in
                        acceptsNow.withUnsafeBufferPointer { acceptsNow in
                            var offset = 0
                            for byte in bytes {
                                if byte >= 0x80 { return (nil, offset) }
                                let target = table[state &* classCount &+ Int(classes[Int(byte)])]
                                if target < 0 { return (false, offset) }
                                state = Int(target)
                                if acceptsNow[state] { return (true, offset) }
                                offset &+= 1
                            }
                            return (acceptsAtEnd[state], offset)
                        }
                    }
                }
            }
            // Native strings (all the parser makes) are contiguous: then a plain loop over their bytes.
            let (verdict, stop) = string.utf8.withContiguousStorageIfAvailable(ascii) ?? ascii(string.utf8)
            if let verdict { return verdict }
            let rest = string.utf8.index(string.utf8.startIndex, offsetBy: stop)
            for scalar in string.unicodeScalars[rest...] {
                let value = scalar.value
                let classIndex: Int
                if value < 128 {
                    classIndex = Int(asciiClass[Int(value)])
                } else {
                    var lower = 0
                    var upper = bounds.count
                    while lower < upper {
                        let middle = (lower + upper) / 2
                        if bounds[middle] <= value { lower = middle + 1 } else { upper = middle }
                    }
                    classIndex = Int(boundClass[lower - 1])
                }
                let target = transitions[state &* classCount &+ classIndex]
                if target < 0 { return false }
                state = Int(target)
                if acceptsNow[state] { return true }
            }
            return acceptsAtEnd[state]
        }
    }

    /// Runs the NFA directly (patterns whose DFA would be too large).
    func simulate(_ string: String) -> Bool {
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
                asciiBitmaps.withUnsafeBufferPointer { bitmaps in
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
                            let set = Int(program[pc].a)
                            let member =
                                value < 128
                                ? bitmaps[2 &* set &+ Int(value >> 6)] & (1 &<< UInt64(value & 63)) != 0
                                : sets[set].contains(value)
                            if member,
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
}
