import Synchronization

extension Atomic where Value == Int {
    /// Lowers the value to `value` unless it is already lower (an atomic minimum): a stop
    /// index that only ever moves down, whichever thread reports a failure first.
    func lower(to value: Int) {
        var current = load(ordering: .relaxed)
        while value < current {
            let (exchanged, original) = compareExchange(expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
