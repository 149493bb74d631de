import Foundation
import PoolAdvisor

// TEMPORARY: codec experiment.
func scratchCodec() {
    let items = (0..<10_000).map { WireSuite.Item(id: $0, name: "item-\($0)", score: Double($0) / 7) }
    let encoder = WireEncoder()
    let decoder = WireDecoder()
    let wire = try! encoder.encode(items)
    let mode = ProcessInfo.processInfo.environment["SCRATCH_MODE"] ?? "both"
    for _ in 0..<5 {
        if mode != "decode" {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<200 { _ = try! encoder.encode(items) }
            print("encode ns/item", Double(DispatchTime.now().uptimeNanoseconds - start) / 200 / 10_000)
        }
        if mode != "encode" {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<200 { _ = try! decoder.decode([WireSuite.Item].self, from: wire) }
            print("decode ns/item", Double(DispatchTime.now().uptimeNanoseconds - start) / 200 / 10_000)
        }
    }
}
