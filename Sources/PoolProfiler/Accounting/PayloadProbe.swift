import PoolExecutors
import PoolWire

/// Encodes and decodes a task's inputs and outputs with the codec the process pool uses and
/// times it: the part of shipping a call that the pipe itself does not explain.
enum PayloadProbe {
    static func measure<Task: PoolTask>(
        _ task: Task.Type, inputs: [Task.Input], outputs: [Task.Output], cpuSecondsPerCall: Double,
        machine: MachineProfile?
    ) -> PayloadProfile {
        let input = measure(Array(inputs.prefix(8)))
        let output = measure(Array(outputs.prefix(8)))
        let codec = input.seconds + output.seconds
        let bytes = input.bytes + output.bytes
        let transfer = machine.map { bytes / max($0.ipcBandwidthBytesPerSecond, 1) } ?? 0
        let shipping = codec + transfer
        return PayloadProfile(
            inputBytes: input.bytes, outputBytes: output.bytes, codecSecondsPerCall: codec,
            transferSecondsPerCall: transfer, shippingSecondsPerCall: shipping,
            shippingToComputeRatio: shipping / max(cpuSecondsPerCall, 1e-9), includesTransfer: machine != nil)
    }

    /// Mean encoded size and mean encode + decode seconds of one value, repeated until each
    /// value has had ~1 ms or 5 rounds (a value that cannot be coded counts as 0 bytes).
    private static func measure<Value: Codable>(_ values: [Value]) -> (bytes: Double, seconds: Double) {
        guard !values.isEmpty else { return (0, 0) }
        let encoder = WireEncoder()
        let decoder = WireDecoder()
        var totalBytes = 0.0
        var totalSeconds = 0.0
        for value in values {
            guard let encoded = try? encoder.encode(value) else { continue }
            totalBytes += Double(encoded.count)
            var rounds = 0
            let start = Clocks.monotonic()
            var now = start
            repeat {
                _ = try? encoder.encode(value)
                _ = try? decoder.decode(Value.self, from: encoded)
                rounds += 1
                now = Clocks.monotonic()
            } while rounds < 5 || (now - start < 1_000_000 && rounds < 10_000)
            totalSeconds += (now - start).seconds / Double(rounds)
        }
        return (totalBytes / Double(values.count), totalSeconds / Double(values.count))
    }
}
