import Events

/// Writing, signing and corrupting the planned events, in publication order.
extension PopulationGenerator {
    /// 128 bits for the envelope id of message `index`, from the seed.
    func idBits(_ index: Int) -> (UInt64, UInt64) {
        let high = Xoshiro256StarStar.mix(configuration.seed &+ Xoshiro256StarStar.mix(UInt64(index) &+ 0x7462_6964))
        return (high, Xoshiro256StarStar.mix(high ^ 0x5DEE_CE66_D1CE_4E5B))
    }

    func emit(_ model: inout PopulationModel, _ anomalies: AnomalyPlan, into sink: (GeneratedEvent) throws -> Void)
        throws
    {
        let count = model.events.count
        let indexBits: UInt64 = (1 << 40) - 1
        var order: [UInt64] = []
        order.reserveCapacity(count + anomalies.extras.count)
        for (index, event) in model.events.enumerated() {
            order.append(UInt64(event.publishDay.value + 100_000) << 40 | UInt64(index))
        }
        for (k, extra) in anomalies.extras.enumerated() {
            order.append(UInt64(extra.publishDay.value + 100_000) << 40 | UInt64(count + k))
        }
        order.sort()
        let typeNames = EventKind.allCases.map(\.type)
        var resent: [Int: [UInt8]] = [:]
        let duplicated = Set(anomalies.extras.lazy.filter { $0.kind == .duplicate }.map(\.source))
        var buffer = EventBuffer()
        for packed in order {
            let index = Int(packed & indexBits)
            buffer.reset()
            if index < count {
                let written = model.write(model.events[index], id: idBits(index), into: &buffer)
                var line = buffer.bytes
                if let key = configuration.signingKeys[written.kind.department] { line = try sign(line, with: key) }
                if duplicated.contains(index) { resent[index] = line }
                try sink(
                    GeneratedEvent(
                        department: written.kind.department, type: typeNames[written.kind.rawValue], key: written.key,
                        id: Self.id(of: buffer.bytes), line: line, anomaly: anomalies.labels[index]))
                continue
            }
            let extra = anomalies.extras[index - count]
            let written = model.write(
                model.events[extra.source], id: idBits(extra.kind == .duplicate ? extra.source : index), into: &buffer)
            if extra.kind == .duplicate {
                try sink(
                    GeneratedEvent(
                        department: written.kind.department, type: typeNames[written.kind.rawValue], key: written.key,
                        id: Self.id(of: buffer.bytes), line: resent[extra.source] ?? buffer.bytes, anomaly: .duplicate))
            } else {
                try sink(corrupt(buffer.bytes, written, extra.kind, model: model))
            }
        }
    }

    /// The id of an envelope this generator wrote (it is always the second member).
    static func id(of line: [UInt8]) -> String {
        String(decoding: line[27..<63], as: UTF8.self)
    }

    func sign(_ line: [UInt8], with key: DepartmentSigningKey) throws(PopulationError) -> [UInt8] {
        do {
            return try key.sign(JSONParser.parse(line)).serialized
        } catch {
            throw PopulationError(code: .signing, reason: "cannot sign an event with \(key.keyID): \(error)")
        }
    }

    /// A key no hub knows, for the `unknown-key-id` anomaly.
    func unknownKey(for department: GeneratedEvent.Department) throws(PopulationError) -> DepartmentSigningKey {
        var state = configuration.seed ^ 0x756E_6B6E_6F77_6E00
        let seed = (0..<4).flatMap { _ in
            withUnsafeBytes(of: Xoshiro256StarStar.splitMix(&state).littleEndian, Array.init)
        }
        do {
            return try DepartmentSigningKey(keyID: "\(department.name)/not-registered", seed: seed)
        } catch {
            throw PopulationError(code: .signing, reason: "cannot make a test key: \(error)")
        }
    }

    /// An invalid copy of an event (with its own id), labelled with what is wrong.
    func corrupt(
        _ line: [UInt8], _ written: PopulationModel.WrittenEvent, _ kind: AnomalyKind, model: PopulationModel
    ) throws -> GeneratedEvent {
        let department = written.kind.department
        var event = GeneratedEvent(
            department: department, type: written.kind.type, key: written.key, id: Self.id(of: line), line: line,
            anomaly: kind)
        guard case .object(var envelope) = try JSONParser.parse(line), var data = envelope["data"]?.objectValue else {
            return event
        }
        let other = model.people[0].id == written.subject ? model.people[1 % model.people.count].id : model.people[0].id
        switch kind {
        case .unknownType:
            event.type = "\(department.name).unknown-fact.v1"
            envelope["type"] = .string(event.type)
        case .missingRequiredField:
            data[written.kind.requiredField] = nil
        case .patternViolation:
            envelope["time"] = envelope["time"]?.stringValue.map { .string($0.replacing("T", with: " ")) }
        case .extraProperty:
            data["remark"] = "补录"
        case .badCheckCharacter:
            let bad = GeneratedCitizenID.withBadCheckCharacter(written.subject)
            envelope["subject"] = .string(bad)
            data = Self.replacing(written.subject, with: bad, in: .object(data)).objectValue ?? data
            if event.key == written.subject { event.key = bad }
        case .birthDateMismatch:
            if let text = data["birthDate"]?.stringValue, let day = CivilDay(parsing: text) {
                data["birthDate"] = .string((day + 1).text)
            }
        case .sexMismatch:
            data["sex"] = data["sex"]?.stringValue == "male" ? "female" : "male"
        case .futureDate:
            let future = asOf.adding(years: 10)
            if let field = written.kind.pastDateField { data[field] = .string(future.text) }
            envelope["time"] = .string(future.text + "T00:00:00+08:00")
        case .sharesNotSummingToOne:
            let field = data["owners"] != nil ? "owners" : "newOwners"
            if var owners = data[field]?.arrayValue, case .object(var first) = owners[0] {
                first["share"] = owners.count == 1 ? "1/2" : "1/1"
                owners[0] = .object(first)
                data[field] = .array(owners)
            }
        case .kafkaKeyMismatch:
            event.key = other
        case .subjectMismatch:
            envelope["subject"] = .string(other)
        default:
            break
        }
        envelope["data"] = .object(data)
        var value = JSONValue.object(envelope)
        let keys = configuration.signingKeys
        switch kind {
        case .unsigned:
            break
        case .badSignature:
            if let key = keys[department], case .object(var signed) = try key.sign(value),
                var signature = signed["tbsig"]?.stringValue.map(Array.init)
            {
                signature[10] = signature[10] == "A" ? "B" : "A"
                signed["tbsig"] = .string(String(signature))
                value = .object(signed)
            }
        case .unknownKeyID:
            value = try unknownKey(for: department).sign(value)
        case .wrongDepartmentKey:
            let others = GeneratedEvent.Department.all.filter { $0 != department }
            if let key = keys[others[Int(configuration.seed % UInt64(others.count))]] { value = try key.sign(value) }
        default:
            if let key = keys[department] { value = try key.sign(value) }
        }
        event.line = value.serialized
        if kind == .unparsableJSON {
            event.line.removeLast(min(event.line.count, 9))
            event.id = nil
        }
        return event
    }

    static func replacing(_ old: String, with new: String, in value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s) where s == old: .string(new)
        case .array(let elements): .array(elements.map { replacing(old, with: new, in: $0) })
        case .object(let object):
            .object(JSONObject(object.members.map { ($0.key, replacing(old, with: new, in: $0.value)) }))
        default: value
        }
    }
}
