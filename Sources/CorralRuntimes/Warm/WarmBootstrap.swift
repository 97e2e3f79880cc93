/// The bootstraps a warm jail's interpreter runs while it waits: each reads its run's request
/// (`WarmRequestFrame`: argv, whose first word is the program's main file, and the environment)
/// from stdin (having written one NUL byte to stdout to say it waits: `Sandbox.prestart` returns
/// then, so a jail is handed out only with its interpreter ready), takes that environment and argv as its own, and runs the main file the way the
/// interpreter runs a script given on its command line; the rest of stdin is the program's.
/// They run in the jail as the program's uid, before the run's code and with nothing of it:
/// what they leave behind (modules they imported) is all a run can tell apart from a cold one.
enum WarmBootstrap {
    static func source(named name: String) -> String? {
        switch name {
        case "python": python
        case "node": node
        case "exec": exec
        default: nil
        }
    }

    /// Reads the run's request, then runs its main file with `pythonRunner`.
    static let python = pythonRunner + #"""
def _corral_warm():
    import os
    def read(n):
        chunks = []
        while n > 0:
            b = os.read(0, n)
            if not b:
                os._exit(125)
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)
    os.write(1, b"\0")  # waiting: the pool may hand this jail out
    line = b""
    while not line.endswith(b"\n"):
        line += read(1)
    fields = read(int(line)).split(b"\0")
    argc, envc = int(fields[0]), int(fields[1])
    argv = [os.fsdecode(a) for a in fields[2:2 + argc]]
    environment = []
    for entry in fields[2 + argc:2 + argc + envc]:
        key, _, value = entry.partition(b"=")
        environment.append((os.fsdecode(key), os.fsdecode(value)))
    _corral_run_main(argv, environment)

_corral_warm()
"""#

    /// `_corral_run_main(argv, environment)`: runs the main file `argv[0]` in a fresh `__main__` as
    /// `python3 FILE` does (same globals, `sys.path[0]`, tracebacks without the runner's frame,
    /// `SystemExit` and uncaught exceptions' statuses), and ends as it does (threads joined, atexit
    /// handlers run, the program's files closed, stdio flushed) without finalising the interpreter's
    /// modules, which alone cost ~4 ms. Shared by the warm bootstrap and the fork-server's zygote
    /// (`ForkServer`), which calls it in each fork once the fork is jailed.
    static let pythonRunner = #"""
def _corral_run_main(argv, environment):
    import os, sys
    import atexit, builtins, gc, importlib.machinery
    os.environ.clear()
    for key, value in environment:
        os.environ[key] = value
    path = argv[0]
    sys.argv = argv
    sys.orig_argv = sys.orig_argv[:-2] + argv  # the interpreter's flags and the file, as `python3 FILE` shows
    sys.path[0] = os.path.dirname(path)
    namespace = sys.modules["__main__"].__dict__
    namespace.clear()
    namespace.update(__name__="__main__", __doc__=None, __package__=None, __spec__=None, __annotations__={},
                     __builtins__=builtins, __file__=path, __cached__=None,
                     __loader__=importlib.machinery.SourceFileLoader("__main__", path))
    with open(path, "rb") as f:
        source = f.read()
    if b"\0" in source:
        # `python3 FILE` reads a file with a NUL byte its own way (compile() refuses it): run it so.
        os.execv(sys.executable, sys.orig_argv)
    def exit_status(code):
        """What `python3 FILE` exits with for `raise SystemExit(code)`."""
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        try:
            sys.stderr.write(str(code) + "\n")
        except Exception:
            pass
        return 1
    status = 0
    interrupted = False
    try:
        exec(compile(source, path, "exec", dont_inherit=True), namespace)
    except SystemExit as e:
        status = exit_status(e.code)
    except BaseException as e:
        e.__traceback__ = e.__traceback__.tb_next  # the runner's own frame is not the program's
        sys.excepthook(type(e), e, e.__traceback__)
        status = 130 if isinstance(e, KeyboardInterrupt) else 1
        interrupted = isinstance(e, KeyboardInterrupt)
    # The end of `python3 FILE` without tearing the interpreter down (finalising its modules costs
    # milliseconds and shows the program nothing): wait for non-daemon threads, run the atexit
    # handlers, release the program's globals (closing, so flushing, files they hold), flush stdio.
    if "threading" in sys.modules:
        sys.modules["threading"]._shutdown()
    atexit._run_exitfuncs()
    namespace.clear()
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            status = 120
    if interrupted and status == 130:
        # `python3 FILE` ends an uncaught KeyboardInterrupt the shell's way: killed by SIGINT.
        import _signal
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
        os.kill(os.getpid(), _signal.SIGINT)
    os._exit(status)

import atexit, builtins, gc, importlib.machinery  # before the wait, not in the run's time
# An interpreter's first compile() sets its parser up (1-1.3 ms and ~190 page faults on the 2-core
# test machine, against 15-60 us for the next one): done here, before the wait, not in the run's
# time; a zygote does it once for all its forks.
compile("pass\n", "<corral-warm-up>", "exec", dont_inherit=True)

"""#

    /// Runs the language's own run command with the run's environment (`env -i`): the cold run
    /// exactly, minus the jail's set-up. For languages whose interpreter starts fast, or whose
    /// start cannot be taken apart from the program's; argv is the whole run command.
    static let exec = #"""
    printf '\0'
    IFS= read -r length || exit 125
    IFS= read -r -d '' argc || exit 125
    IFS= read -r -d '' envc || exit 125
    argv=()
    for ((i = 0; i < argc; i++)); do IFS= read -r -d '' a || exit 125; argv+=("$a"); done
    envs=()
    for ((i = 0; i < envc; i++)); do IFS= read -r -d '' e || exit 125; envs+=("$e"); done
    exec /usr/bin/env -i "${envs[@]}" "${argv[@]}"
    """#

    /// Runs the main file with `Module.runMain`, as `node FILE` does (CommonJS or ES module).
    static let node = #"""
(() => {
  const fs = require('fs');
  const read = (n) => {
    const b = Buffer.alloc(n);
    let o = 0;
    while (o < n) {
      let k;
      try { k = fs.readSync(0, b, o, n - o, null); } catch (e) { if (e.code === 'EAGAIN' || e.code === 'EINTR') continue; throw e; }
      if (k === 0) process.exit(125);
      o += k;
    }
    return b;
  };
  process.stdout; process.stderr; // made now, not on the run's first write
  // A console's first log formats and writes through code Node loads and compiles on first use
  // (1-1.3 ms of a hello world here): done now, into a stream that keeps nothing, and an empty write
  // to each stdio stream (nothing reaches the pipes; the pool discards what a waiting jail wrote).
  { const { Writable } = require('stream'); new (require('console').Console)(new Writable({ write(c, e, cb) { cb(); } })).log('%s %d %o', 'warm-up', 1, { a: [1] }); }
  process.stdout.write(''); process.stderr.write('');
  fs.writeSync(1, '\0'); // waiting: the pool may hand this jail out
  let line = '';
  for (;;) { const c = read(1)[0]; if (c === 10) break; line += String.fromCharCode(c); }
  const fields = read(Number(line)).toString('utf8').split('\0');
  const argc = Number(fields[0]), envc = Number(fields[1]);
  for (const key of Object.keys(process.env)) delete process.env[key];
  for (const entry of fields.slice(2 + argc, 2 + argc + envc)) { const i = entry.indexOf('='); process.env[entry.slice(0, i)] = entry.slice(i + 1); }
  process.argv = [process.argv[0], ...fields.slice(2, 2 + argc)];
  process.execArgv = []; // as under `node FILE` (it would show the bootstrap to the program)
  // Exits as soon as the event loop is empty (as node would, without its teardown), unless the
  // program listens for 'beforeExit' itself and may schedule more work.
  process.on('beforeExit', () => { if (process.listenerCount('beforeExit') === 1) process.exit(); });
  require('module').runMain();
})();
"""#
}
