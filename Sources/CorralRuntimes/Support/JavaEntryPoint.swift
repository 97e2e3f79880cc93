/// Where a Java program starts, read from its source: javac requires a public top-level class to
/// live in a file named after it, and `java` needs the class that declares `main`. Programs from
/// people and models use any name (`HelloWorld`, `Solution`), so neither can be fixed in the catalog.
///
/// A small lexer, not a parser: it skips comments, string, text-block and character literals, tracks
/// brace depth, and looks at top-level type declarations and `static … void main(` inside them.
public struct JavaEntryPoint: Sendable, Equatable {
    /// The public top-level class, interface, enum or record (at most one per file), if any.
    public var publicType: String?
    /// The top-level type that declares `static void main(`, preferring the public one.
    public var mainClass: String?

    public init(publicType: String?, mainClass: String?) {
        self.publicType = publicType
        self.mainClass = mainClass
    }

    /// Reads `source`; never fails (a source it cannot make sense of gives nils, and javac then says why).
    public init(source: String) {
        var tokens = JavaTokens(source)
        var depth = 0
        var recent: [String] = []          // identifiers since the last ';', '{' or '}' at this depth
        var pendingType: (name: String, isPublic: Bool)?
        var currentTopLevel: String?
        var types: [(name: String, isPublic: Bool, hasMain: Bool)] = []
        while let token = tokens.next() {
            switch token {
            case "{":
                if depth == 0, let pending = pendingType {
                    types.append((pending.name, pending.isPublic, false))
                    currentTopLevel = pending.name
                    pendingType = nil
                }
                depth += 1
                recent.removeAll()
            case "}":
                depth = max(0, depth - 1)
                if depth == 0 { currentTopLevel = nil }
                recent.removeAll()
            case ";":
                recent.removeAll()
            case "(":
                // `… static … void main (` directly in a top-level type's body.
                if depth == 1, recent.last == "main", recent.contains("static"), recent.dropLast().last == "void",
                   let owner = currentTopLevel, let i = types.lastIndex(where: { $0.name == owner }) {
                    types[i].hasMain = true
                }
                recent.removeAll()
            default:
                guard token.first.map(JavaTokens.isIdentifierStart) == true else {
                    if token != "[" && token != "]" && token != "." && token != "@" { recent.removeAll() }
                    continue
                }
                if depth == 0, let previous = recent.last, ["class", "interface", "enum", "record"].contains(previous) {
                    pendingType = (token, recent.contains("public"))
                }
                recent.append(token)
            }
        }
        publicType = types.first(where: \.isPublic)?.name
        let withMain = types.filter(\.hasMain)
        mainClass = withMain.first(where: \.isPublic)?.name ?? withMain.first?.name
    }
}

/// Java tokens, coarsely: identifiers and keywords, single punctuation characters; comments and
/// literals are dropped.
struct JavaTokens {
    private let scalars: [Unicode.Scalar]
    private var i = 0

    init(_ source: String) { scalars = Array(source.unicodeScalars) }

    static func isIdentifierStart(_ c: Character) -> Bool { c.isLetter || c == "_" || c == "$" }
    private static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        Character(c).isLetter || Character(c).isNumber || c == "_" || c == "$"
    }

    private func at(_ offset: Int) -> Unicode.Scalar? {
        i + offset < scalars.count ? scalars[i + offset] : nil
    }

    mutating func next() -> String? {
        while i < scalars.count {
            let c = scalars[i]
            if c.properties.isWhitespace { i += 1; continue }
            if c == "/" && at(1) == "/" {
                while i < scalars.count && scalars[i] != "\n" { i += 1 }
                continue
            }
            if c == "/" && at(1) == "*" {
                i += 2
                while i < scalars.count && !(scalars[i] == "*" && at(1) == "/") { i += 1 }
                i += 2
                continue
            }
            if c == "\"" && at(1) == "\"" && at(2) == "\"" {  // text block
                i += 3
                while i < scalars.count && !(scalars[i] == "\"" && at(1) == "\"" && at(2) == "\"") {
                    if scalars[i] == "\\" { i += 1 }
                    i += 1
                }
                i += 3
                continue
            }
            if c == "\"" || c == "'" {
                i += 1
                while i < scalars.count && scalars[i] != c && scalars[i] != "\n" {
                    if scalars[i] == "\\" { i += 1 }
                    i += 1
                }
                i += 1
                continue
            }
            if Self.isIdentifierStart(Character(c)) {
                let start = i
                while i < scalars.count && Self.isIdentifierPart(scalars[i]) { i += 1 }
                var s = String.UnicodeScalarView()
                s.append(contentsOf: scalars[start..<i])
                return String(s)
            }
            i += 1
            if c.properties.numericType != nil || (c >= "0" && c <= "9") { continue }
            return String(Character(c))
        }
        return nil
    }
}
