@testable import CorralSandbox
import Testing

/// A jail's memory limit holds only if the jail cannot swap: `JailCgroup.apply` writes
/// `memory.swap.max` 0 (v2) or `memory.swappiness` 0 (v1 without memsw) and refuses the jail when
/// it cannot on a host that swaps. Whether the host swaps is read from /proc/meminfo; what cannot
/// be read counts as swapping (the check fails closed).
@Suite("Swap guard")
struct SwapGuardTests {
    @Test("SwapTotal decides; unreadable or missing counts as swapping", arguments: [
        ("MemTotal:       24105 kB\nSwapTotal:             0 kB\nSwapFree: 0 kB", false),
        ("MemTotal:       24105 kB\nSwapTotal:       2097148 kB\n", true),
        ("MemTotal:       24105 kB\n", true),
        ("", true),
    ])
    func swapTotal(meminfo: String, swaps: Bool) {
        #expect(JailCgroup.swaps(meminfo: meminfo) == swaps)
    }

    @Test("nil meminfo counts as swapping")
    func unreadable() {
        #expect(JailCgroup.swaps(meminfo: nil))
    }
}
