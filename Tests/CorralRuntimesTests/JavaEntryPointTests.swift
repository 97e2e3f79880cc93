import CorralRuntimes
import Testing

/// The Java entry point read from source: the file name javac needs and the class java runs.
struct JavaEntryPointTests {
    @Test(arguments: [
        // Piston's own Java test shape.
        ("public class HelloWorld {\n  public static void main(String[] args) { System.out.println(\"OK\"); }\n}", "HelloWorld", "HelloWorld"),
        ("import java.util.*;\npublic final class Solution { static public void main(final String... a) {} }", "Solution", "Solution"),
        ("class Main { public static void main(String[] args) {} }", nil, "Main"),
        // main in a non-public class beside a public one without main
        ("public class Util { static int f() { return 1; } }\nclass Runner { public static void main(String[] a) { } }", "Util", "Runner"),
        // generics, annotations, records, interfaces
        ("public class Box<T extends Comparable<T>> implements Runnable {\n @Override public void run() {}\n public static void main(String[] a) {}\n}", "Box", "Box"),
        ("public record Point(int x, int y) { public static void main(String[] a) {} }", "Point", "Point"),
        ("public interface App { static void main(String[] args) {} }", "App", "App"),
        // nested classes and inner `main` methods do not count; neither do comments and strings
        ("public class Outer {\n  static class Inner { public static void main(String[] a) {} }\n  public static void main(String[] a) { String s = \"class Fake { static void main(\"; }\n}", "Outer", "Outer"),
        ("// public class Commented { public static void main(String[] a) {} }\n/* public class Block {} */\nclass Real { public static void main(String[] a) { char c = '{'; String t = \"\"\"\n } } public class No {\n\"\"\"; } }", nil, "Real"),
        // no main at all: javac and java will say so
        ("public class Library { int x; }", "Library", nil),
        ("", nil, nil),
    ] as [(String, String?, String?)])
    func findsThePublicTypeAndTheMainClass(source: String, publicType: String?, mainClass: String?) {
        let entry = JavaEntryPoint(source: source)
        #expect(entry.publicType == publicType)
        #expect(entry.mainClass == mainClass)
    }

    @Test func unbalancedOrHostileSourceDoesNotCrash() {
        for source in ["}}}}", "{{{{", "\"unterminated", "/* open", "public class", "class {", "public class X { static void main(", String(repeating: "{", count: 100_000)] {
            _ = JavaEntryPoint(source: source)
        }
    }
}
