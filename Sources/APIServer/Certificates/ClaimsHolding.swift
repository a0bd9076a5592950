import Events

/// Whether what a certificate states still holds, given what the views answer now.
///
/// The rule: everything the certificate states must still be stated. An object's members must each still hold; a
/// list's elements must each still be in the new list (new elements do not matter: a second relation found, a voucher
/// activated, a month paid late outside a stated summary); a value must be equal. So a death (`living` true → false),
/// a divorce (the spouse relation gone), a transfer (the title gone from the list), a cancelled filing or a reversed
/// contribution (the month's summary changed) each take the basis away, while facts that only add do not.
enum ClaimsHolding {
    /// The first statement of `old` that `new` no longer makes, as a path (e.g. `relative.living`), or `nil` when every
    /// statement still holds.
    /// - Parameters:
    ///   - old: the claims as certified.
    ///   - new: the claims the views give now.
    ///   - path: where in the claims this is (for the reason).
    /// - Returns: the path of the first statement that no longer holds.
    static func firstBroken(old: JSONValue, new: JSONValue, path: String = "") -> String? {
        switch (old, new) {
        case (.object(let was), .object(let now)):
            for (key, value) in was.members {
                let here = path.isEmpty ? key : "\(path).\(key)"
                guard let current = now[key] else { return here }
                if let broken = firstBroken(old: value, new: current, path: here) { return broken }
            }
            return nil
        case (.array(let was), .array(let now)):
            for (index, element) in was.enumerated() where !now.contains(element) {
                return "\(path)[\(index)]"
            }
            return nil
        default:
            return old == new ? nil : path
        }
    }
}
