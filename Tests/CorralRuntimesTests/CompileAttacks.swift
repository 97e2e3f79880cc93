import Foundation
import Testing

/// A tenant who knows a victim's exact program compiles it first, with an environment that the
/// toolchain reads and that changes what it builds. Before the fix the request's environment reached
/// the compiler and the key left it out: the victim's later run was a cache hit on the attacker's build.
struct CompileAttack: Sendable, CustomTestStringConvertible {
    var language: String
    /// What the toolchain does with `environment`.
    var how: String
    var victimCode: String
    /// The start of what the victim's own build prints.
    var victimOutput: String
    /// The attacker's request's environment.
    var environment: [(key: String, value: String)]
    /// What a build under `environment` prints (stdout or stderr) and the victim's build never does;
    /// nil when such a build does not even run (the attack poisons with a broken artifact).
    var marker: String?

    var testDescription: String { "\(language): \(how)" }

    static let all: [CompileAttack] = [typescript, goLinkerFlags, goOtherTarget, rust, c, cpp, java, swift]

    /// Node loads `--import` modules before the compile script and runs their exit hooks after it:
    /// the hook rewrites the transpiled `/out/main.js`.
    static let typescript = CompileAttack(
        language: "typescript", how: "NODE_OPTIONS=--import=data: rewrites /out/main.js at exit",
        victimCode: "const greeting: string = 'hello, world'\nconsole.log(greeting)\n",
        victimOutput: "hello, world\n",
        environment: [("NODE_OPTIONS", "--import=data:text/javascript," + percentEncoded(
            #"import fs from 'node:fs';process.on('exit',()=>{try{fs.writeFileSync('/out/main.js','console.log("PWNED-TS")')}catch{}})"#))],
        marker: "PWNED-TS")

    static let goVictim = "package main\n\nimport \"fmt\"\n\nvar greeting = \"hello, world\"\n\nfunc main() { fmt.Println(greeting) }\n"

    /// `go build` reads flags from GOFLAGS; the linker's -X sets any package string variable.
    static let goLinkerFlags = CompileAttack(
        language: "go", how: "GOFLAGS=-ldflags=-X rewrites a string variable",
        victimCode: goVictim, victimOutput: "hello, world\n",
        environment: [("GOFLAGS", "-buildvcs=false -ldflags=-X=main.greeting=PWNED-GO"), ("CGO_ENABLED", "0")],
        marker: "PWNED-GO")

    /// GOOS/GOARCH/CGO_ENABLED pick the target: the cached artifact is a Windows executable.
    static let goOtherTarget = CompileAttack(
        language: "go", how: "GOOS=windows caches an executable that cannot run",
        victimCode: goVictim, victimOutput: "hello, world\n",
        environment: [("GOOS", "windows"), ("GOARCH", "amd64"), ("CGO_ENABLED", "1")],
        marker: nil)

    /// rustc ignores RUSTFLAGS and RUSTC_WRAPPER (cargo reads them) but `option_env!` bakes any
    /// variable into the program: build stamps are read this way.
    static let rust = CompileAttack(
        language: "rust", how: "option_env! bakes BUILD_TAG in (RUSTFLAGS, RUSTC_WRAPPER, RUSTC_BOOTSTRAP set too)",
        victimCode: "fn main() {\n    println!(\"hello, world (build {})\", option_env!(\"BUILD_TAG\").unwrap_or(\"dev\"));\n}\n",
        victimOutput: "hello, world (build dev)\n",
        environment: [("BUILD_TAG", "PWNED-RS"), ("RUSTFLAGS", "--cfg pwned"), ("RUSTC_WRAPPER", "/bin/false"),
                      ("RUSTC_BOOTSTRAP", "1")],
        marker: "PWNED-RS")

    /// gcc reads SOURCE_DATE_EPOCH for `__DATE__` (and LD_RUN_PATH reaches ld, DEPENDENCIES_OUTPUT
    /// adds a file to /out); the other variables are set to values that keep the build working.
    static let gccEnvironment: [(key: String, value: String)] = [
        ("SOURCE_DATE_EPOCH", "0"), ("CFLAGS", "-DPWNED"), ("CXXFLAGS", "-DPWNED"), ("CPATH", "/tmp"),
        ("C_INCLUDE_PATH", "/tmp"), ("CPLUS_INCLUDE_PATH", "/tmp"), ("GCC_EXEC_PREFIX", "/usr/lib/gcc/"),
        ("COMPILER_PATH", "/tmp"), ("LIBRARY_PATH", "/tmp"), ("DEPENDENCIES_OUTPUT", "/out/main.d"), ("LD_RUN_PATH", "/tmp"),
    ]

    static let c = CompileAttack(
        language: "c", how: "SOURCE_DATE_EPOCH sets __DATE__ (CPATH, GCC_EXEC_PREFIX, LIBRARY_PATH … set too)",
        victimCode: "#include <stdio.h>\nint main(void) { printf(\"hello, world (built %s)\\n\", __DATE__); return 0; }\n",
        victimOutput: "hello, world (built ", environment: gccEnvironment, marker: "1970")

    static let cpp = CompileAttack(
        language: "cpp", how: "SOURCE_DATE_EPOCH sets __DATE__ (CPLUS_INCLUDE_PATH, COMPILER_PATH … set too)",
        victimCode: "#include <iostream>\nint main() { std::cout << \"hello, world (built \" << __DATE__ << \")\" << std::endl; }\n",
        victimOutput: "hello, world (built ", environment: gccEnvironment, marker: "1970")

    /// javac takes options from JDK_JAVAC_OPTIONS and its JVM from JAVA_TOOL_OPTIONS: decoding the
    /// UTF-8 source as Latin-1 rewrites every non-ASCII string literal.
    static let java = CompileAttack(
        language: "java", how: "JDK_JAVAC_OPTIONS/JAVA_TOOL_OPTIONS change the source encoding",
        victimCode: "public class Main { public static void main(String[] a) { System.out.println(\"héllo, wörld\"); } }\n",
        victimOutput: "héllo, wörld\n",
        environment: [("JDK_JAVAC_OPTIONS", "-encoding ISO-8859-1"), ("JAVA_TOOL_OPTIONS", "-Dfile.encoding=ISO-8859-1"),
                      ("_JAVA_OPTIONS", "-Xss2m"), ("JDK_JAVA_OPTIONS", "-Xss2m"), ("CLASSPATH", "/tmp")],
        marker: "Ã©")

    /// swiftc links through clang, which edits its own command line from CCC_OVERRIDE_OPTIONS: any
    /// host library is linked in, here glibc's memusage, whose exit hook prints to stderr.
    /// (SDKROOT moves where the runtime and libc are looked up: any other value fails this link.)
    static let swift = CompileAttack(
        language: "swift", how: "CCC_OVERRIDE_OPTIONS links a library into the program (SWIFT_EXEC set too)",
        victimCode: "print(\"hello, world\")\n",
        victimOutput: "hello, world\n",
        environment: [("CCC_OVERRIDE_OPTIONS", "+-Wl,--no-as-needed +/usr/lib/x86_64-linux-gnu/libmemusage.so"),
                      ("SWIFT_EXEC", "/opt/swift/usr/bin/swift-frontend")],
        marker: "Memory usage summary")

    static func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
    }
}
