import CorralStore
import Testing

/// A history record keeps the first 4096 bytes of each stream, cut between two scalars.
struct ExecutionRecordTruncateTests {
    @Test("one character of 500,000 combining accents is cut at 4096 bytes (finding a grapheme boundary walked the cluster per byte)")
    func hugeCluster() {
        let text = "a" + String(repeating: "\u{301}", count: 500_000)
        let cut = ExecutionRecord.truncate(text)
        #expect(cut.utf8.count <= ExecutionRecord.outputLimit && cut.utf8.count >= ExecutionRecord.outputLimit - 1)
        #expect(Array(text.utf8.prefix(cut.utf8.count)) == Array(cut.utf8), "a prefix of the original bytes")
    }

    @Test("never inside a UTF-8 sequence; short text is kept whole")
    func boundaries() {
        let euros = String(repeating: "€", count: 2000)  // 3 bytes each: 4096 falls inside one
        let cut = ExecutionRecord.truncate(euros)
        #expect(cut.utf8.count == 4095 && cut == String(repeating: "€", count: 1365))
        #expect(ExecutionRecord.truncate("hello") == "hello")
        let ascii = String(repeating: "x", count: 5000)
        #expect(ExecutionRecord.truncate(ascii) == String(repeating: "x", count: 4096))
    }
}
