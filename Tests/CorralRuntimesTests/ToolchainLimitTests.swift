import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct ToolchainLimitTests {
    @Test("Java runs many threads under the default limits; its threads count against the pids limit")
    func javaThreadsUnderDefaults() async {
        let code = """
        public class Main { public static void main(String[] a) throws Exception {
          Thread[] ts = new Thread[20];
          for (int i = 0; i < ts.length; i++) { ts[i] = new Thread(() -> {}); ts[i].start(); }
          for (Thread t : ts) t.join();
          System.out.println("threads ok");
        } }
        """
        let r = await TestSupport.run("java", code)
        #expect(r.status == .success, "\(r.stderr)")
        #expect(r.stdout == "threads ok\n")

        var tight = ResourceLimits()
        tight.processes = 64
        let bomb = """
        public class Main { public static void main(String[] a) throws Exception {
          for (int i = 0; i < 500; i++) { Thread t = new Thread(() -> { try { Thread.sleep(60000); } catch (Exception e) {} }); t.setDaemon(true); t.start(); }
          System.out.println("all started");
        } }
        """
        let capped = await TestSupport.run("java", bomb, limits: tight)
        #expect(capped.stdout != "all started\n")
        #expect(capped.limitExceeded == .processes)
    }

    @Test("Go runs goroutines on OS threads under the default limits")
    func goUnderDefaults() async {
        let code = """
        package main
        import ("fmt"; "sync"; "runtime")
        func main() {
          runtime.GOMAXPROCS(4)
          var wg sync.WaitGroup; total := 0; var mu sync.Mutex
          for i := 0; i < 1000; i++ { wg.Add(1); go func(n int) { defer wg.Done(); mu.Lock(); total += n; mu.Unlock() }(i) }
          wg.Wait(); fmt.Println(total)
        }
        """
        let r = await TestSupport.run("go", code)
        #expect(r.status == .success, "\(r.stderr) \(r.compile?.stderr ?? "")")
        #expect(r.stdout == "499500\n")
    }

    @Test("corral languages reports at least 15 languages with probed versions")
    func probedVersions() async {
        let infos = await LanguageProbe.probeAll(LanguageCatalog.shipped)
        #expect(infos.count >= 15)
        for info in infos where info.available {
            let version = info.version ?? ""
            let hasDigit = version.contains { $0.isNumber }
            #expect(hasDigit, "\(info.name): \(version)")
        }
        #expect(infos.filter(\.available).count >= 15, "unavailable: \(infos.filter { !$0.available }.map { "\($0.name): \($0.reason ?? "")" })")
    }
}
