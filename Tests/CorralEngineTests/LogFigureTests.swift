@testable import CorralEngine
import Testing

/// The "executed" log line's figures come from the run or from a shared cache entry (Redis) that
/// another instance wrote: whatever they hold, logging them never traps (Int(1e300) would).
@Suite("Log figures")
struct LogFigureTests {
    @Test("whole milliseconds, or the figure as it is when no Int holds it", arguments: [
        (89.4, "89"), (0.5, "1"), (0, "0"), (-3.2, "-3"), (1e300, "1e+300"), (-1e300, "-1e+300"), (.infinity, "inf"), (.nan, "nan"),
    ])
    func figure(ms: Double, shown: String) {
        #expect(Engine.wholeMilliseconds(ms) == shown)
    }
}
