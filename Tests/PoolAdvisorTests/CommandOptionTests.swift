import PoolRules
import Testing

@testable import PoolAdvisorCLI

/// Options declared once and read typed: what each kind accepts, and the error that names the
/// option, the text and what it expects.
@Suite("Command options")
struct CommandOptionTests {
    static let spec = CommandSpec(
        name: "probe", synopsis: "", summary: "A command for these tests.",
        options: .list(count, seconds, mode, path, loud))
    static let count = CommandOption.integer("--count", in: 1...10, help: "A count.")
    static let seconds = CommandOption.number("--seconds", "S", in: 0.5...2, help: "A time.")
    static let mode = CommandOption.choice(
        "--mode", "MODE", [("auto", 0), ("fast", 1), ("slow", 2)], help: "A choice.")
    static let path = CommandOption.text("--path", "FILE", help: "A path.")
    static let loud = CommandOption.flag("--loud", help: "A flag.")

    func parse(_ words: String...) throws -> ParsedArguments {
        try ParsedArguments(words[...], for: Self.spec)
    }

    @Test("values are read typed; an absent option gives nil or its default")
    func typedValues() throws {
        let parsed = try parse("--count", "7", "--seconds=1.5", "--mode", "slow", "--path", "-", "--loud")
        #expect(try parsed.value(Self.count) == 7)
        #expect(try parsed.value(Self.seconds) == 1.5)
        #expect(try parsed.value(Self.mode) == 2)
        #expect(try parsed.value(Self.path) == "-")
        #expect(parsed.has(Self.loud))
        let empty = try parse()
        #expect(try empty.value(Self.count) == nil)
        #expect(try empty.value(Self.count, default: 3) == 3)
        #expect(!empty.has(Self.loud))
    }

    @Test(
        "an invalid value is an error naming the option, the text and what it expects",
        arguments: [
            ("--count", "0", "expected a whole number from 1 to 10"),
            ("--count", "1e3", "expected a whole number from 1 to 10"),
            ("--seconds", "nan", "expected a number from 0.50 to 2"),
            ("--seconds", "inf", "expected a number from 0.50 to 2"),
            ("--mode", "Fast", "expected auto, fast or slow"),
        ])
    func invalidValues(option: String, text: String, expected: String) throws {
        let parsed = try parse(option, text)
        let message: String
        do {
            switch option {
            case "--count": _ = try parsed.value(Self.count)
            case "--seconds": _ = try parsed.value(Self.seconds)
            default: _ = try parsed.value(Self.mode)
            }
            Issue.record("'\(text)' was accepted for \(option)")
            return
        } catch {
            message = error.message
        }
        #expect(message == "invalid value '\(text)' for '\(option)': \(expected)")
    }

    @Test("lists read as English")
    func englishLists() {
        #expect(EnglishList.or([]) == "")
        #expect(EnglishList.or(["a"]) == "a")
        #expect(EnglishList.or(["a", "b"]) == "a or b")
        #expect(EnglishList.or(["a", "b", "c"]) == "a, b or c")
    }
}
