import Testing

/// Four programs per language: hello world, echo stdin, a runtime error, and (compiled only) a compile error.
struct LanguagePrograms: Sendable, CustomTestStringConvertible {
    var language: String
    var hello: String
    var echo: String
    /// Exits non-zero and writes `runtimeErrorMarker` to stderr.
    var runtimeError: String
    var runtimeErrorMarker: String
    var compileError: String?
    var compileErrorMarker: String?

    var testDescription: String { language }

    static let all: [LanguagePrograms] = [
        .init(language: "python", hello: "print('hello, world')",
              echo: "import sys\nsys.stdout.write(sys.stdin.read())",
              runtimeError: "raise ValueError('boom')", runtimeErrorMarker: "ValueError: boom"),
        .init(language: "javascript", hello: "console.log('hello, world')",
              echo: "process.stdin.pipe(process.stdout)",
              runtimeError: "throw new Error('boom')", runtimeErrorMarker: "Error: boom"),
        .init(language: "typescript", hello: "const greeting: string = 'hello, world'\nconsole.log(greeting)",
              echo: "declare const process: any\nprocess.stdin.pipe(process.stdout)",
              runtimeError: "function f(): never { throw new Error('boom') }\nf()", runtimeErrorMarker: "Error: boom",
              compileError: "let x: number = (;\n", compileErrorMarker: "error TS"),
        .init(language: "bash", hello: "echo 'hello, world'", echo: "cat",
              runtimeError: "echo boom >&2; exit 3", runtimeErrorMarker: "boom"),
        .init(language: "ruby", hello: "puts 'hello, world'", echo: "print STDIN.read",
              runtimeError: "raise 'boom'", runtimeErrorMarker: "boom (RuntimeError)"),
        .init(language: "go", hello: "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"hello, world\") }",
              echo: "package main\nimport (\"io\"; \"os\")\nfunc main() { io.Copy(os.Stdout, os.Stdin) }",
              runtimeError: "package main\nfunc main() { panic(\"boom\") }", runtimeErrorMarker: "panic: boom",
              compileError: "package main\nfunc main() { undefinedThing() }", compileErrorMarker: "undefined: undefinedThing"),
        .init(language: "rust", hello: "fn main() { println!(\"hello, world\"); }",
              echo: "use std::io::{self, Read, Write};\nfn main() { let mut s = String::new(); io::stdin().read_to_string(&mut s).unwrap(); io::stdout().write_all(s.as_bytes()).unwrap(); }",
              runtimeError: "fn main() { panic!(\"boom\"); }", runtimeErrorMarker: "boom",
              compileError: "fn main() { let x: i32 = \"no\"; }", compileErrorMarker: "mismatched types"),
        .init(language: "java", hello: "public class Main { public static void main(String[] a) { System.out.println(\"hello, world\"); } }",
              echo: "public class Main { public static void main(String[] a) throws Exception { System.in.transferTo(System.out); } }",
              runtimeError: "public class Main { public static void main(String[] a) { throw new RuntimeException(\"boom\"); } }",
              runtimeErrorMarker: "RuntimeException: boom",
              compileError: "public class Main { public static void main(String[] a) { int x = \"no\"; } }",
              compileErrorMarker: "incompatible types"),
        .init(language: "c", hello: "#include <stdio.h>\nint main(void) { puts(\"hello, world\"); return 0; }",
              echo: "#include <stdio.h>\nint main(void) { int c; while ((c = getchar()) != EOF) putchar(c); return 0; }",
              runtimeError: "#include <stdio.h>\nint main(void) { fputs(\"boom\\n\", stderr); return 4; }", runtimeErrorMarker: "boom",
              compileError: "int main(void) { return undefined_thing; }", compileErrorMarker: "undefined_thing"),
        .init(language: "cpp", hello: "#include <iostream>\nint main() { std::cout << \"hello, world\" << std::endl; }",
              echo: "#include <iostream>\nint main() { std::cout << std::cin.rdbuf(); }",
              runtimeError: "#include <stdexcept>\nint main() { throw std::runtime_error(\"boom\"); }", runtimeErrorMarker: "boom",
              compileError: "int main() { std::string s; }", compileErrorMarker: "error"),
        .init(language: "sql", hello: "SELECT 'hello, world';",
              echo: "CREATE TABLE t(line TEXT);\n.import /dev/stdin t\nSELECT line FROM t;",
              runtimeError: "SELECT * FROM no_such_table;", runtimeErrorMarker: "no such table"),
        .init(language: "swift", hello: "print(\"hello, world\")",
              echo: "while let line = readLine(strippingNewline: false) { print(line, terminator: \"\") }",
              runtimeError: "import Foundation\nFileHandle.standardError.write(\"boom\\n\".data(using: .utf8)!)\nexit(5)", runtimeErrorMarker: "boom",
              compileError: "let x: Int = \"no\"", compileErrorMarker: "cannot convert"),
        .init(language: "perl", hello: "print \"hello, world\\n\";", echo: "print while <STDIN>;",
              runtimeError: "die \"boom\\n\";", runtimeErrorMarker: "boom"),
        .init(language: "php", hello: "<?php echo \"hello, world\\n\";", echo: "<?php echo stream_get_contents(STDIN);",
              runtimeError: "<?php throw new Exception('boom');", runtimeErrorMarker: "boom"),
        .init(language: "lua", hello: "print('hello, world')", echo: "io.write(io.read('a'))",
              runtimeError: "error('boom')", runtimeErrorMarker: "boom"),
    ]
}
