/// Computes expressions over facts with three-valued logic: a comparison that needs an unknown
/// fact is unknown, `false and unknown` is false, `true or unknown` is true, and a rule fires
/// only when its condition is true. So a missing measurement never passes for a measured one.
enum Evaluator {
    static func value(of expression: Expression, facts: Facts) -> FactValue {
        switch expression.node {
        case .number(let x): return .number(x)
        case .boolean(let b): return .boolean(b)
        case .text(let t): return .text(t)
        case .fact(let name): return normalised(facts[name])
        case .call(let name, let arguments): return call(name, arguments.map { value(of: $0, facts: facts) })
        case .not(let operand):
            guard let b = value(of: operand, facts: facts).truth else { return .unknown }
            return .boolean(!b)
        case .negate(let operand):
            guard let x = value(of: operand, facts: facts).number else { return .unknown }
            return .number(-x)
        case .binary(.and, let l, let r):
            let left = value(of: l, facts: facts).truth
            if left == false { return .boolean(false) }
            let right = value(of: r, facts: facts).truth
            if right == false { return .boolean(false) }
            return left == true && right == true ? .boolean(true) : .unknown
        case .binary(.or, let l, let r):
            let left = value(of: l, facts: facts).truth
            if left == true { return .boolean(true) }
            let right = value(of: r, facts: facts).truth
            if right == true { return .boolean(true) }
            return left == false && right == false ? .boolean(false) : .unknown
        case .binary(let op, let l, let r):
            return binary(op, value(of: l, facts: facts), value(of: r, facts: facts))
        }
    }

    private static func normalised(_ value: FactValue) -> FactValue {
        if case .number(let x) = value, x.isNaN { return .unknown }
        return value
    }

    private static func binary(_ op: BinaryOperator, _ left: FactValue, _ right: FactValue) -> FactValue {
        if op == .equal || op == .notEqual {
            if left == .unknown || right == .unknown { return .unknown }
            return .boolean((left == right) == (op == .equal))
        }
        guard let a = left.number, let b = right.number else { return .unknown }
        switch op {
        case .add: return .number(a + b)
        case .subtract: return .number(a - b)
        case .multiply: return .number(a * b)
        case .divide: return b == 0 && a == 0 ? .unknown : .number(a / b)
        case .less: return .boolean(a < b)
        case .lessOrEqual: return .boolean(a <= b)
        case .greater: return .boolean(a > b)
        case .greaterOrEqual: return .boolean(a >= b)
        case .equal, .notEqual, .and, .or: return .unknown
        }
    }

    private static func call(_ name: String, _ arguments: [FactValue]) -> FactValue {
        if name == "known" { return .boolean(arguments.first.map { $0 != .unknown } ?? false) }
        let numbers = arguments.compactMap(\.number)
        guard numbers.count == arguments.count, let first = numbers.first else { return .unknown }
        switch name {
        case "min": return .number(numbers.min()!)
        case "max": return .number(numbers.max()!)
        case "clamp": return .number(Swift.min(Swift.max(first, numbers[1]), numbers[2]))
        case "ceil": return .number(first.rounded(.up))
        case "floor": return .number(first.rounded(.down))
        case "round": return .number(first.rounded())
        case "abs": return .number(Swift.abs(first))
        case "sqrt": return first < 0 ? .unknown : .number(first.squareRoot())
        default: return .unknown
        }
    }

    /// The facts an expression reads, in order of first appearance.
    static func factNames(in expression: Expression) -> [String] {
        var names: [String] = []
        func walk(_ e: Expression) {
            switch e.node {
            case .fact(let name): if !names.contains(name) { names.append(name) }
            case .call(_, let arguments): arguments.forEach(walk)
            case .not(let x), .negate(let x): walk(x)
            case .binary(_, let l, let r):
                walk(l)
                walk(r)
            case .number, .boolean, .text: break
            }
        }
        walk(expression)
        return names
    }

    /// The leaves of a condition under `and`, `or` and `not`: the comparisons a reader checks one by one.
    static func conditions(in expression: Expression) -> [Expression] {
        switch expression.node {
        case .not(let x):
            // `not fact` is one comparison (its mark is the negation's truth); under a negated
            // `and`/`or`, each comparison inside keeps its own mark.
            switch x.node {
            case .binary(.and, _, _), .binary(.or, _, _): return conditions(in: x)
            default: return [expression]
            }
        case .binary(.and, let l, let r), .binary(.or, let l, let r): return conditions(in: l) + conditions(in: r)
        default: return [expression]
        }
    }

    static func render(_ template: Template, facts: Facts) -> String {
        var text = ""
        for piece in template.pieces {
            switch piece {
            case .literal(let literal): text += literal
            case .value(let expression, let format):
                let value = value(of: expression, facts: facts)
                if let x = value.number {
                    text += NumberText.format(x, format)
                } else if case .text(let t) = value {
                    text += t
                } else {
                    text += value.description
                }
            }
        }
        return text
    }
}
