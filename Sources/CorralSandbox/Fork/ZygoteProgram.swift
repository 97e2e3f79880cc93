/// The Python program of a fork-server's zygote (see `ForkServer` and docs/fork-server.md).
///
/// It runs in a jail of its own as that jail's user-namespace root, keeps the namespace's
/// capabilities and no filter, and never runs a run's code itself. It reads its configuration,
/// imports the preloaded modules, says it waits (one NUL byte on stdout), then serves requests
/// from its control socket (its stdin), each a small JSON header with descriptors:
///
/// - `park` (with the cgroup.procs files of a fork identity's next cgroup): it forks a *middle*
///   that makes that run's jail ahead of the run and leaves, and answers `PARK` with the socket the
///   jail's init waits on (the host sends the run there, straight), or `FAIL`.
/// - `run` (with stdin, stdout, stderr, status socket, the memfd holding the run's request, and
///   the cgroup.procs files of its new cgroup), when no jail was parked for it: a middle makes the
///   jail now and hands the run to its init.
///
/// The zygote never reads a run's bytes (argv, environment, files travel in the memfd), so no later
/// fork inherits them. Making a jail (`prepare`, in the middle): join the run's cgroup (everything
/// after is the run's), enter fresh mount, PID, network, IPC, UTS and cgroup namespaces, fork the
/// *init* (PID 1 there), which mounts a fresh /proc, tmpfs /tmp, /dev/shm and workspace and its
/// own devpts, brings up loopback, and makes a user namespace of its own that the middle maps to
/// the run's identity (and then makes the kernel's knobs read-only); the init then makes a mount
/// namespace of that user namespace (the middle's mounts locked in it) and forks the *program*,
/// which closes every descriptor, empties its capability bounding set, becomes the program's
/// uid/gid with no_new_privs, and waits. Serving a run (in the init, with the run's descriptors):
/// it sends the host a pidfd of itself (status kind 5), places the run (`place`: the run's sizes,
/// its files, a read-only workspace if asked; a jail made on the run's path then reports PLACED,
/// kind 6, for the host's CPU baseline), waits for the host's go-ahead, hands the
/// descriptors to the program and reaps: the program's wait status goes to the host like a cold
/// init's (`corral_status`), and the init's exit ends every process of the namespace. The program
/// takes the run's stdio, rlimits and seccomp filter, reports STARTED (with the CPU it and the
/// init spent on the run's set-up since the host's baseline), and only then runs the code
/// with `_corral_run_main` (the language runner prepended to this source).
enum ZygoteProgram {
    /// The status kind a forked run's init sends with its pidfd (after corral_status_kind's 1–4).
    static let forkedStatusKind: Int32 = 5

    /// The status kind a fork's init sends once a run made on its path (no parked jail) is placed:
    /// the host then takes the run's CPU baseline (`Sandbox.fork`).
    static let placedStatusKind: Int32 = 6

    static let source = #"""
def _corral_zygote():
    import ctypes, fcntl, json, os, resource, signal, socket, struct, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    SETUP_ERROR, STARTED, EXITED, FORKED, PLACED = 1, 2, 3, 5, 6
    STEP_OP, STEP_FORK, STEP_DROP, STEP_RLIMIT, STEP_SECCOMP = 4, 5, 6, 7, 8
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 1, 2, 4, 8, 32, 4096, 8192, 16384
    NEW_NAMESPACES = 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000
    PR_SET_DUMPABLE, PR_SET_NAME, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_SET_SECCOMP = 4, 15, 24, 38, 47, 22

    class SetupError(Exception):
        def __init__(self, step, errno, what):
            super().__init__(what)
            self.step, self.errno = step, errno

    def check(result, step, what):
        if result < 0:
            raise SetupError(step, ctypes.get_errno(), what)

    def mount(source, target, fstype, flags, data=None):
        check(libc.mount(source, target.encode(), fstype, ctypes.c_ulong(flags), data.encode() if data else None),
              STEP_OP, "mount " + target)

    def scrub(words):
        """Writes `words` over this process's command line (what /proc/PID/cmdline shows; the
        zygote's own is its source) and clears its environment block, as far as they fit."""
        stat = open("/proc/self/stat", "rb").read()
        fields = stat[stat.rindex(b")") + 2:].split()
        arg_start, arg_end, env_start, env_end = (int(v) for v in fields[45:49])
        text = b"\0".join(words)[:max(0, arg_end - arg_start - 1)] + b"\0"
        ctypes.memset(arg_start, 0, arg_end - arg_start)
        ctypes.memmove(arg_start, text, len(text))
        ctypes.memset(env_start, 0, env_end - env_start)

    def umount(target):
        check(libc.umount2(target.encode(), 2), STEP_OP, "umount " + target)  # MNT_DETACH

    control = socket.socket(fileno=os.dup(0))
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)  # no fork may read the control socket as its stdin
    os.close(null)

    def read_exact(sock, n):
        parts = []
        while n > 0:
            part = sock.recv(min(n, 1 << 20))
            if not part:
                os._exit(0)  # the other end closed: the host (the zygote ends, or a parked jail is given up)
            parts.append(part)
            n -= len(part)
        return b"".join(parts)

    def read_frame(sock):
        """One message: header length (u32), payload length (u64), JSON header, payload; with descriptors."""
        head, fds, _, _ = socket.recv_fds(sock, 12, 16, socket.MSG_CMSG_CLOEXEC)
        if not head:
            os._exit(0)
        head += read_exact(sock, 12 - len(head)) if len(head) < 12 else b""
        header_length, payload_length = struct.unpack("<IQ", head)
        if header_length > 1 << 20 or payload_length != 0:
            os._exit(3)  # control messages are small and carry no payload: the stream is broken
        return head, read_exact(sock, header_length), header_length, fds

    def read_request(sock=None):
        _, body, header_length, fds = read_frame(sock or control)
        return json.loads(body[:header_length]), fds

    config, _ = read_request()
    for name in config["preload"]:
        __import__(name)
    uid, gid = config["uid"], config["gid"]
    seccomp = ctypes.create_string_buffer(bytes.fromhex(config["seccomp"]))
    seccomp_length = len(config["seccomp"]) // 16

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    def now():
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC)

    def join_cgroup(fds):
        for fd in fds:
            os.write(fd, b"0")  # into the run's cgroup (opened by the host): all that follows is the run's
            os.close(fd)


    def pread_request(memfd, with_payload):
        """The run's request from its memfd (written by the host): JSON header, and the payload."""
        head = os.pread(memfd, 12, 0)
        if len(head) != 12:
            raise SetupError(STEP_OP, 5, "the run's request")
        header_length, payload_length = struct.unpack("<IQ", head)
        want = header_length + (payload_length if with_payload else 0)
        parts, got = [], 0
        while got < want:  # a read returns at most ~2 GiB
            part = os.pread(memfd, want - got, 12 + got)
            if not part:
                raise SetupError(STEP_OP, 5, "the run's request")  # shorter than its header says
            parts.append(part)
            got += len(part)
        body = b"".join(parts)
        return json.loads(body[:header_length]), memoryview(body)[header_length:]

    def park(slot, fds, setup):
        """Forks a middle that makes the jail of a fork identity's next run now, off any run's path:
        it joins the run's cgroup (on cgroup v1 a move waits out an RCU grace period, 5-20 ms on a
        quiet host), makes its namespaces, init and filesystems, and the program process dropped to
        the run's uid. None of it holds a byte of any run. The middle then waits for its run on a
        socket whose other end goes to the host (the run comes straight from there)."""
        try:
            mine, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.fork() == 0:
                try:
                    mine.close()
                    control.close()
                    prepare(fds, setup, its)
                finally:
                    # The jail is made (or failed: its run, if one comes, fails to reach it and runs
                    # elsewhere). The middle leaves now, off the run's path: the run comes straight
                    # from the host to the init, and only the init and the program count in its cgroup.
                    os._exit(0)
            its.close()
        finally:
            for fd in fds:
                os.close(fd)  # the cgroup.procs files: the middle has its own
        try:
            socket.send_fds(control, [b"PARK" + struct.pack("<I", slot)], [mine.fileno()])
        finally:
            mine.close()  # the host holds it now: when it closes it, the middle reads EOF and leaves

    def middle_now(fds, setup):
        """A run with no jail parked for it: its middle makes the jail now and hands the run to the
        init as the host hands a parked jail's (`fds`: stdin, stdout, stderr, status socket, memfd,
        then the cgroup.procs files to join)."""
        status = fds[3]
        try:
            control.close()
            link = prepare(fds[5:], setup, None, inherited=fds[:5])
            socket.send_fds(link, [RUN_FRAME], fds[:5])
            os._exit(0)
        except SetupError as e:
            report_to(status, SETUP_ERROR, e.errno, e.step)
        except BaseException as e:
            report_to(status, SETUP_ERROR, getattr(e, "errno", None) or 5, STEP_OP)
        os._exit(126)

    RUN_FRAME = struct.pack("<IQ", 2, 0) + b"{}"  # a run handed on by a middle: its descriptors are the message

    def report_to(status, kind, error=0, step=0, wait_status=0, at=0, setup_cpu_ns=0):
        setup_us = min(max(setup_cpu_ns // 1000, 0), 0x7fffffff)
        os.write(status, struct.pack("<iiiiiiq", kind, error, step, 0, wait_status, setup_us, at or now()))

    def prepare(cgroup_fds, setup, park_socket, inherited=()):
        """In the middle: joins the run's cgroup (everything after is the run's), enters fresh mount,
        PID, network, IPC, UTS and cgroup namespaces, forks the run's init and maps the user namespace
        the init makes to the run's identity. Returns once the init and the program wait for the run
        (the socket to the init). A parked jail's init takes its run from `park_socket` (the host
        holds its other end); otherwise from the returned socket."""
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        join_cgroup(cgroup_fds)
        check(libc.unshare(NEW_NAMESPACES), STEP_OP, "unshare")
        link, init_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.fork() == 0:
            try:
                link.close()
                for fd in inherited:
                    os.close(fd)
                run_init(init_end, setup, park_socket)
            finally:
                os._exit(126)
        init_end.close()
        if park_socket is not None:
            park_socket.close()  # the init's now
        # The init made its user namespace (as the run's own root id here): map it to the run's
        # identity. This process shares the init's mount namespace, whose /proc is the init's
        # PID namespace's: the init is /proc/1 there.
        if link.recv(1) != b"u":
            raise SetupError(STEP_OP, 1, "the run's init")
        root, program_id, nobody = setup["identity"]
        ids = "0 %d 1\n%d %d 1\n65534 %d 1\n" % (root, uid, program_id, nobody)
        for name, text in (("setgroups", "deny"), ("gid_map", ids), ("uid_map", ids)):
            with open("/proc/1/" + name, "w") as f:
                f.write(text)
        link.sendall(b"m")
        # The init wrote its namespace's caps; now the kernel's knobs turn read-only for the run.
        if link.recv(1) != b"c":
            raise SetupError(STEP_DROP, 1, "the run's user namespace")
        for name in config["proc_hidden"]:
            path = "/proc/" + name
            if os.path.lexists(path):
                mount(path.encode(), path, None, MS_BIND | MS_REC)
                mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        link.sendall(b"r")
        if link.recv(1) != b"p":
            raise SetupError(STEP_DROP, 1, "the run's program")
        return link

    def makedirs(relative):
        """Creates the missing directories of `relative` under the workspace, owned by the program."""
        path = config["workspace"]
        for part in relative.split("/"):
            path += "/" + part
            try:
                os.mkdir(path, 0o755)
            except FileExistsError:
                continue
            os.chown(path, uid, gid, follow_symlinks=False)

    def place(request, payload, setup):
        """In the init, once the run came, as the root of the run's own user and mount namespaces:
        the run's sizes (a fresh tmpfs over the parked one when they differ: the parked one's
        superblock belongs to the zygote's namespace), its files (owned by the program), and a
        read-only workspace unless the run may write it."""
        ws = config["workspace"]
        if request["tmp_mb"] != setup["tmp_mb"]:
            for path, flags in (("/tmp", MS_NOSUID | MS_NODEV), ("/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC)):
                mount(b"tmpfs", path, b"tmpfs", flags, "size=%dm,mode=1777" % request["tmp_mb"])
        if request["workspace_mb"] != setup["workspace_mb"]:
            mount(b"tmpfs", ws, b"tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=0755,uid=%d,gid=%d" % (request["workspace_mb"], uid, gid))
        offset = 0
        for f in request["files"]:
            parts = f["path"].split("/")
            if f["path"].startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise SetupError(STEP_OP, 22, "file name")  # the host refuses these first
            path = ws + "/" + f["path"]
            if "/" in f["path"]:
                makedirs(f["path"].rsplit("/", 1)[0])
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, f["mode"])
            try:
                data = payload[offset:offset + f["size"]]
                offset += f["size"]
                while data:
                    data = data[os.write(fd, data):]
                os.fchown(fd, uid, gid)
                os.fchmod(fd, f["mode"])
            finally:
                os.close(fd)
        if not request["writable"]:
            mount(None, ws, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)

    def run_init(link, setup, park_socket):
        # A session of its own (as a cold init's setsid): no signal to a process group reaches
        # the zygote's or another run's.
        os.setsid()
        # PID 1 of the run's namespaces, still the namespace's root: the run's filesystems, each
        # replacing the zygote's (not stacked on it). A new proc may only be mounted while a whole
        # one is visible: it is mounted on /tmp first, the zygote's is detached, and it moves over.
        mount(b"proc", "/tmp", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        umount("/proc")
        mount(b"/tmp", "/proc", None, MS_MOVE)
        for path in ("/tmp", "/dev/shm", config["workspace"], "/dev/pts"):
            umount(path)
        # Its own terminals, capped as a cold jail's: no fork sees or takes another's.
        mount(b"devpts", "/dev/pts", b"devpts", MS_NOSUID | MS_NOEXEC, config["devpts"])
        for path, value in config["sysctls"]:
            with open(path, "w") as f:
                f.write(value)
        root, program_id, _ = setup["identity"]
        tmp, workspace = setup["tmp_mb"], setup["workspace_mb"]
        mount(b"tmpfs", "/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=1777" % tmp)
        mount(b"tmpfs", "/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=%dm,mode=1777" % tmp)
        ws = config["workspace"]
        mount(b"tmpfs", ws, b"tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=0755,uid=%d,gid=%d" % (workspace, program_id, program_id))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            flags = struct.unpack_from("16sh", fcntl.ioctl(s, 0x8913, struct.pack("16sh22x", b"lo", 0)))[1]
            fcntl.ioctl(s, 0x8914, struct.pack("16sh22x", b"lo", flags | 0x1 | 0x40))
        os.chdir(ws)
        pidfd = os.pidfd_open(os.getpid())
        oom = open("/proc/self/oom_score_adj", "r+")  # opened while this process may
        # The run's own user namespace, made by its identity's root (so that what the kernel counts
        # per user up the namespace chain is the run's, not every fork's), mapped by the middle.
        os.setresgid(root, root, root)
        os.setresuid(root, root, root)
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its maps are the middle's to write
        check(libc.unshare(0x10000000), STEP_DROP, "a user namespace")  # CLONE_NEWUSER
        link.sendall(b"u")
        if link.recv(1) != b"m":
            os._exit(126)
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
        for name, value in config["user_caps"]:
            with open("/proc/sys/user/" + name, "w") as f:
                f.write(value)
        check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), STEP_DROP, "non-dumpable")
        link.sendall(b"c")
        if link.recv(1) != b"r":
            os._exit(126)
        # A mount namespace of the run's own user namespace (the middle's read-only /proc files are
        # locked in it): the init places the run's files and sizes in it without the middle.
        check(libc.unshare(0x00020000), STEP_DROP, "a mount namespace")  # CLONE_NEWNS
        libc.prctl(PR_SET_NAME, b"corral-init", 0, 0, 0)
        scrub([b"corral-init"])
        # The program (and all it forks) is the OOM killer's first choice, as in a cold jail; the
        # init keeps the service's score (the zygote, its jail's program, has the highest).
        oom.write("1000"); oom.flush()
        mine, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child = os.fork()
        if child == 0:
            try:
                mine.close()
                link.close()
                os.close(pidfd)
                oom.close()
                program(its)
            finally:
                os._exit(126)
        its.close()
        oom.seek(0); oom.write(config["oom_score_adj"]); oom.close()
        if mine.recv(1) != b"p":
            os._exit(126)  # the program could not drop its privileges
        link.sendall(b"p")
        # Ready: the run comes from the host (a parked jail) or from the middle (one made for it).
        if park_socket is not None:
            link.close()
        # The CPU this process uses for a parked run's set-up (its files, sizes, the go-ahead) is in
        # the run's cgroup after the host's baseline, but is not the program's: it is measured from
        # here (blocked until the run comes: its CPU at the host's baseline) and sent on.
        cpu_before_run = time.process_time_ns()
        _, _, _, fds = read_frame(park_socket or link)  # the end when the jail is given up
        if len(fds) < 5:
            os._exit(0)  # not a run: the host sends five descriptors
        stdin, stdout, stderr, status, memfd = fds[:5]
        try:
            # The host reads this process's pid (and waits for the middle's end) while the run's
            # files are placed.
            with socket.socket(fileno=os.dup(status)) as s:
                socket.send_fds(s, [struct.pack("<iiiiiiq", FORKED, 0, 0, 0, 0, 0, now())], [pidfd])
            os.close(pidfd)
            request, payload = pread_request(memfd, True)
            place(request, payload, setup)
            del request, payload
            if park_socket is None:
                # A jail made on the run's path: the host takes the run's CPU baseline once it is
                # placed (and its middle gone), so this process's CPU counts from the go-ahead.
                report_to(status, PLACED)
            # The host supervises this process from here (it has read its pid from the pidfd, which
            # a process that already ended no longer shows): then the program may run.
            if os.read(status, 1) != b"a":
                os._exit(0)
            if park_socket is None:
                cpu_before_run = time.process_time_ns()
            setup_cpu = time.process_time_ns() - cpu_before_run
            socket.send_fds(mine, [b"g" + struct.pack("<q", setup_cpu)], [stdin, stdout, stderr, status, memfd])
            mine.close()
            for fd in (stdin, stdout, stderr, memfd, 1, 2):
                os.close(fd)  # the streams reach EOF when the program's last process exits
        except SetupError as e:
            report_to(status, SETUP_ERROR, e.errno, e.step)
            os._exit(126)
        except BaseException as e:
            # A file that does not fit, the parked program gone, a descriptor gone: the run takes
            # another jail.
            report_to(status, SETUP_ERROR, getattr(e, "errno", None) or 5, STEP_FORK)
            os._exit(126)
        while True:
            try:
                pid, wait_status = os.waitpid(-1, 0)
            except InterruptedError:
                continue
            except ChildProcessError:
                os._exit(0)
            at = now()
            if pid == child:
                report_to(status, EXITED, wait_status=wait_status, at=at)
                os._exit(0)  # the init's exit ends every process of the namespace

    def program(link):
        """The run's program, made before the run comes: it closes every descriptor but its link to
        the init, empties its capability bounding set and becomes the program's uid/gid with
        no_new_privs, then waits. With the run's descriptors it takes the run's stdio, rlimits and
        the seccomp filter, reports STARTED, and only then runs the code."""
        keep = link.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 20)  # never the control socket, a parked socket or the init's pidfd
        for cap in range(64):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() != 22:
                os._exit(126)
        libc.prctl(PR_CAP_AMBIENT, 4, 0, 0, 0)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0:
            os._exit(126)
        # As after a cold run's execve: the program's /proc/self files are its own.
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        link.sendall(b"p")
        cpu_before_run = time.process_time_ns()  # as the init's: blocked until the run comes
        message, fds, _, _ = socket.recv_fds(link, 9, 8)
        if len(message) != 9 or message[:1] != b"g" or len(fds) < 5:
            os._exit(0)
        init_setup_cpu = struct.unpack("<q", message[1:])[0]
        link.close()
        stdin, stdout, stderr, status, memfd = fds[:5]
        try:
            request, _ = pread_request(memfd, False)
            for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
                os.dup2(fd, target)
            status = os.dup2(status, 3)
            os.closerange(4, 1 << 20)  # the run's streams and status only
            for number, soft, hard in request["rlimits"]:
                infinite = lambda v: resource.RLIM_INFINITY if v >= (1 << 63) else v
                try:
                    resource.setrlimit(number, (infinite(soft), infinite(hard)))
                except (OSError, ValueError) as e:
                    raise SetupError(STEP_RLIMIT, getattr(e, "errno", None) or 22, "rlimit")
            fprog = SockFprog(seccomp_length, ctypes.cast(seccomp, ctypes.c_void_p))
            if seccomp_length:
                check(libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0), STEP_SECCOMP, "seccomp")
            os.chdir(request["cwd"])
            argv = request["argv"]
            scrub([os.fsencode(w) for w in sys.orig_argv[:-2] + argv])
            # The program's wall time starts here; its CPU too: the init's and this process's set-up
            # of the run are left out of its cgroup's count.
            report_to(status, STARTED, setup_cpu_ns=init_setup_cpu + time.process_time_ns() - cpu_before_run)
            os.close(status)
        except SetupError as e:
            report_to(status, SETUP_ERROR, e.errno, e.step)
            os._exit(126)
        except BaseException:
            report_to(status, SETUP_ERROR, 5, STEP_FORK)
            os._exit(126)
        libc.prctl(PR_SET_NAME, os.path.basename(sys.executable).encode()[:15], 0, 0, 0)
        try:
            _corral_run_main(request["argv"], request["env"])
        finally:
            os._exit(1)  # never back into the zygote's code

    # Its jail's init made it the OOM killer's first choice; every fork runs below it, and a
    # zygote killed would take its forks in flight with it: it keeps the service's score.
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(config["oom_score_adj"])
    except OSError:
        pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # middles leave at once; the kernel reaps them
    # Everything the zygote holds moves to the collector's permanent generation: a fork's
    # collections (the runner ends with one) then never walk, and so never copy, the zygote's pages.
    import gc
    gc.collect()
    gc.freeze()
    os.write(1, b"\0")  # waiting for runs
    # Nobody reads the zygote's own output from here on: a full pipe must never stop it (or a fork
    # still holding it) on a stray warning.
    null = os.open("/dev/null", os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    while True:
        head, body, header_length, fds = read_frame(control)
        try:
            request = json.loads(body[:header_length])
            if "park" in request:
                taken, fds = fds, []
                try:
                    slot, setup = int(request["park"]), request["setup"]
                except BaseException:
                    for fd in taken:
                        os.close(fd)
                    raise
                try:
                    park(slot, taken, setup)  # closes `taken` whatever happens
                except BaseException:
                    control.send(b"FAIL" + struct.pack("<I", slot))  # the host waits for an answer
                continue
            setup = request["setup"]
            if len(fds) < 5:
                continue
            if os.fork() == 0:
                try:
                    middle_now(fds, setup)
                finally:
                    os._exit(126)  # never back into the zygote's loop
        except BaseException as e:
            # A request the zygote cannot serve fails that run (the host runs it elsewhere), never the zygote.
            if len(fds) >= 4:
                try:
                    os.write(fds[3], struct.pack("<iiiiiiq", SETUP_ERROR, getattr(e, "errno", None) or 5, STEP_FORK, 0, 0, 0, now()))
                except OSError:
                    pass
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass

_corral_zygote()
"""#
}
