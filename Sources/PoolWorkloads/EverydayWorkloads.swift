// Workloads drawn from everyday Swift code: Foundation's JSON coders, word counting with
// `String` and `Dictionary`, sorting a large array. Each builds its data from the input's seed
// inside the call, so the argument stays a few bytes and the call does the work a program
// would do on data it already holds.
internal import Foundation
import PoolExecutors

/// A JSON round trip through Foundation: encode a batch of orders with `JSONEncoder`, decode
/// them with `JSONDecoder`, check they came back.
public struct JSONCoding: ReferenceWorkload {
    public static let workloadName = "json-coding"
    public static let inputMeaning =
        "{\"seed\": S, \"size\": N}: N records built from seed S, encoded and decoded with Foundation"
    public static let summary =
        "Foundation JSONEncoder/JSONDecoder round trip of 64 small structs (allocation- and string-heavy)"
    public static func inputs(count: Int) -> [SeededWork] { SeededWork.series(count, size: 64) }

    /// The largest batch a call builds: ten thousand orders are a few megabytes of JSON.
    public static let maximumRecords = 10_000

    struct Order: Codable, Equatable {
        var id: Int
        var customer: String
        var items: [String]
        var totalCents: Int
        var total: Double
        var paid: Bool
    }

    private static let products = [
        "apples", "bread", "coffee", "eggs", "flour", "grapes", "honey", "lemons", "milk", "olives", "pasta", "rice",
    ]

    /// Encodes and decodes `input.size` orders (at most ``maximumRecords``) and returns a digest
    /// of the JSON text and of the decoded orders.
    public static func run(_ input: SeededWork) throws -> UInt64 {
        var generator = SeededGenerator(seed: input.seed)
        let orders = (0..<min(input.boundedSize, maximumRecords)).map { index -> Order in
            let cents = generator.below(100_000)
            return Order(
                id: index, customer: "customer-\(generator.below(10_000))",
                items: (0..<(1 + generator.below(4))).map { _ in products[generator.below(products.count)] },
                totalCents: cents, total: Double(cents) / 100, paid: generator.below(2) == 1)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(orders)
        let decoded = try JSONDecoder().decode([Order].self, from: data)
        guard decoded == orders else {
            throw WorkloadError.invalidInput("json-coding: the decoded orders differ from those encoded")
        }
        var digest = fnv1a(data)
        for order in decoded { digest = digest &* 31 &+ UInt64(order.totalCents) &+ UInt64(order.items.count) }
        return digest
    }
}

/// What ``TextWords`` found in its paragraph.
public struct WordDigest: Codable, Sendable, Equatable {
    /// Words in the paragraph.
    public var words: Int
    /// Different words, once lowercased.
    public var distinct: Int
    /// The most frequent word (the alphabetically first among equals).
    public var topWord: String
    /// How often it occurs.
    public var topCount: Int
    /// A digest of every (word, count) pair that does not depend on the dictionary's order.
    public var checksum: UInt64
}

/// Text processing: build a paragraph, split it into words, lowercase them and count them in a
/// `Dictionary`.
public struct TextWords: ReferenceWorkload {
    public static let workloadName = "text-words"
    public static let inputMeaning =
        "{\"seed\": S, \"size\": N}: a text of N words built from seed S, its words counted"
    public static let summary =
        "splits a 1,500-word paragraph into words, lowercases and counts them in a Dictionary"
    public static func inputs(count: Int) -> [SeededWork] { SeededWork.series(count, size: 1_500) }

    private static let vocabulary = [
        "The", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Swift", "thread", "process", "pool",
        "queue", "worker", "task", "result", "Error", "value", "array", "string", "dictionary", "map", "filter",
        "reduce", "café", "naïve", "Zürich", "über", "straße", "cœur", "mañana", "garçon",
    ]
    private static let separators = [" ", " ", " ", " ", ", ", ". ", "; ", " — ", "\n"]

    /// Counts the words of a paragraph of `input.size` words (at most ``SeededWork/limit``).
    public static func run(_ input: SeededWork) -> WordDigest {
        var generator = SeededGenerator(seed: input.seed)
        var paragraph = ""
        for _ in 0..<input.boundedSize {
            paragraph += vocabulary[generator.below(vocabulary.count)]
            paragraph += separators[generator.below(separators.count)]
        }
        var counts: [String: Int] = [:]
        var words = 0
        for word in paragraph.split(whereSeparator: { !$0.isLetter }) {
            counts[word.lowercased(), default: 0] += 1
            words += 1
        }
        // `Dictionary` order changes from process to process: the digest must not depend on it.
        var checksum: UInt64 = 0
        var top = (word: "", count: 0)
        for (word, count) in counts {
            checksum = checksum &+ fnv1a(word.utf8) &* UInt64(count)
            if count > top.count || (count == top.count && word < top.word) { top = (word, count) }
        }
        return WordDigest(
            words: words, distinct: counts.count, topWord: top.word, topCount: top.count, checksum: checksum)
    }
}

/// Sorting: generate a large array of integers from the seed and sort it.
public struct SortArray: ReferenceWorkload {
    public static let workloadName = "sort-array"
    public static let inputMeaning = "{\"seed\": S, \"size\": N}: N integers generated from seed S and sorted"
    public static let summary = "generates 40,000 integers from a seed and sorts them (the argument is 16 bytes)"
    public static func inputs(count: Int) -> [SeededWork] { SeededWork.series(count, size: 40_000) }

    /// Sorts `input.size` integers (at most ``SeededWork/limit``: 8 MB) and returns a digest
    /// of the sorted array.
    public static func run(_ input: SeededWork) throws -> UInt64 {
        var generator = SeededGenerator(seed: input.seed)
        var values = (0..<input.boundedSize).map { _ in Int64(bitPattern: generator.next()) }
        values.sort()
        var digest: UInt64 = 0
        for index in stride(from: 0, to: values.count, by: 61) {
            digest = digest &* 0x100_0000_01B3 ^ UInt64(bitPattern: values[index])
        }
        for (lower, upper) in zip(values, values.dropFirst()) where lower > upper {
            throw WorkloadError.invalidInput("sort-array: the array came back unsorted")
        }
        return digest ^ UInt64(values.count)
    }
}
