/// Turns a `--shell` template into a script that reads its input from `$1`.
///
/// The input is never spliced into the script's text: it reaches `/bin/sh -c SCRIPT sh INPUT`
/// as a positional parameter, so no quoting trick in it (`$(…)`, backquotes, quotes that close
/// the template's own) can run anything. What this type decides is only how each `{}` refers to
/// `$1`, so that the input stays one word wherever the placeholder stands:
///
/// | where `{}` stands | becomes | so the script reads |
/// | --- | --- | --- |
/// | unquoted, or inside `$(…)` / backquotes | `"${1}"` | one word, no globbing |
/// | inside double quotes | `${1}` | expanded in the quotes already there |
/// | inside single quotes | `'"${1}"'` | the quotes closed, the value added, reopened |
///
/// The scan knows quotes, backslashes and command substitution; a placeholder in a here-document
/// or after `eval` is still only a reference to `$1`, which the script then treats as it says.
enum ShellScript {
    private enum Context {
        /// Outside quotes: at top level, inside `$(…)` (with its open parentheses), or backquotes.
        case plain(Substitution)
        case doubleQuoted
        case singleQuoted
    }

    private enum Substitution {
        case none
        case dollarParenthesis(open: Int)
        case backquote
    }

    /// The script for `template`; without `{}` the input is appended as the last word.
    static func script(for template: String) -> String {
        let scalars = Array(template.unicodeScalars)
        var script = String.UnicodeScalarView()
        var stack: [Context] = [.plain(.none)]
        var sawPlaceholder = false
        var index = 0
        func append(_ text: String) { script.append(contentsOf: text.unicodeScalars) }
        func next(_ offset: Int = 1) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }
        while index < scalars.count {
            let scalar = scalars[index]
            let context = stack[stack.count - 1]
            if scalar == "{" && next() == "}" {
                sawPlaceholder = true
                switch context {
                case .plain: append("\"${1}\"")
                case .doubleQuoted: append("${1}")
                case .singleQuoted: append("'\"${1}\"'")
                }
                index += 2
                continue
            }
            script.append(scalar)
            index += 1
            switch context {
            case .singleQuoted:
                if scalar == "'" { stack.removeLast() }
            case .doubleQuoted:
                if scalar == "\\", let escaped = next(0) {
                    script.append(escaped)
                    index += 1
                } else if scalar == "\"" {
                    stack.removeLast()
                } else if scalar == "$" && next(0) == "(" {
                    script.append("(")
                    index += 1
                    stack.append(.plain(.dollarParenthesis(open: 0)))
                } else if scalar == "`" {
                    stack.append(.plain(.backquote))
                }
            case .plain(let substitution):
                if scalar == "\\", let escaped = next(0) {
                    script.append(escaped)
                    index += 1
                } else if scalar == "'" {
                    stack.append(.singleQuoted)
                } else if scalar == "\"" {
                    stack.append(.doubleQuoted)
                } else if scalar == "$" && next(0) == "(" {
                    script.append("(")
                    index += 1
                    stack.append(.plain(.dollarParenthesis(open: 0)))
                } else if scalar == "`" {
                    if case .backquote = substitution { stack.removeLast() } else { stack.append(.plain(.backquote)) }
                } else if case .dollarParenthesis(let open) = substitution, scalar == "(" || scalar == ")" {
                    if scalar == ")" && open == 0 {
                        stack.removeLast()
                    } else {
                        stack[stack.count - 1] = .plain(.dollarParenthesis(open: open + (scalar == "(" ? 1 : -1)))
                    }
                }
            }
        }
        if !sawPlaceholder { append(" \"${1}\"") }
        return String(script)
    }
}
