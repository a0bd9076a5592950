extension StopSignals {
    /// Sleeps `seconds`, or less when a stop is asked for (checked ten times a second) or the task is cancelled: how
    /// a command that waits between rounds (`status --watch`, `migrate --check --wait-seconds`) stays quick to stop.
    /// - Parameters:
    ///   - seconds: how long at most.
    ///   - stop: the stop that ends the wait early; `nil` for none.
    static func sleep(seconds: Double, stop: StopSignals?) async {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline && stop?.isRequested != true {
            do {
                try await Task.sleep(for: min(.milliseconds(100), deadline - ContinuousClock.now))
            } catch {
                return
            }
        }
    }
}
