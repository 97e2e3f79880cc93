// See corral_jail.h. Raw syscalls only after clone: see the header for why.
#include "corral_jail.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 4096
#define MAX_ENV 4096
#define MAX_RLIMITS 16

// ---------------------------------------------------------------- helpers

static int64_t monotonic_ns(void) {
    struct timespec ts = { 0, 0 };
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t own_cpu_us(void) {
    struct timespec ts = { 0, 0 };
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void report_cpu_at(int kind, int error, int step, int op, int wait_status, int64_t at, int64_t cpu_us) {
    struct corral_status s;
    memset(&s, 0, sizeof s);
    s.kind = kind; s.error = error; s.step = step; s.op = op; s.wait_status = wait_status; s.monotonic_ns = at;
    s.init_cpu_us = cpu_us > INT32_MAX ? INT32_MAX : cpu_us < 0 ? 0 : (int32_t)cpu_us;
    ssize_t ignored = write(4, &s, sizeof s);
    (void)ignored;
}

static void report_at(int kind, int error, int step, int op, int wait_status, int64_t at) {
    report_cpu_at(kind, error, step, op, wait_status, at, kind == CORRAL_STATUS_STARTED ? own_cpu_us() : 0);
}

static void report(int kind, int error, int step, int op, int wait_status) {
    report_at(kind, error, step, op, wait_status, monotonic_ns());
}

__attribute__((noreturn)) static void fail(int step, int op) {
    report(CORRAL_STATUS_SETUP_ERROR, errno, step, op, 0);
    syscall(SYS_exit_group, 126);
    __builtin_unreachable();
}

static int read_full(int fd, void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

static size_t cstrlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

/// mkdir -p in place on a writable copy of `path`.
static int mkdir_p(char *path, mode_t mode) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, mode);
        *p = '/';
        if (r < 0 && errno != EEXIST) return -1;
    }
    if (mkdir(path, mode) < 0 && errno != EEXIST) return -1;
    return 0;
}

/// statfs f_flags (ST_*) to the mount flags a remount must keep: in a user
/// namespace the kernel refuses to clear flags the original mount locked.
static unsigned long locked_mount_flags(const char *path) {
    struct statfs st;
    if (statfs(path, &st) < 0) return 0;
    unsigned long f = 0;
    if (st.f_flags & ST_RDONLY) f |= MS_RDONLY;
    if (st.f_flags & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) f |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flags & ST_NOATIME) f |= MS_NOATIME;
    if (st.f_flags & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (st.f_flags & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

static int loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) { close(s); return -1; }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    int r = ioctl(s, SIOCSIFFLAGS, &ifr);
    close(s);
    return r;
}

/// Parses the unsigned decimal field `index` (1-based, as in proc(5)) of /proc/self/stat.
/// Counting starts after the last ')' so that a command name with spaces or parentheses cannot shift it.
static int stat_field(const char *stat, size_t len, int index, unsigned long *out) {
    size_t pos = len;
    while (pos > 0 && stat[pos - 1] != ')') pos--;
    if (pos == 0) return -1;
    int field = 2; // the command name ends at the ')'
    while (pos < len) {
        while (pos < len && stat[pos] == ' ') pos++;
        if (pos >= len) break;
        field++;
        if (field == index) {
            unsigned long v = 0;
            int digits = 0;
            while (pos < len && stat[pos] >= '0' && stat[pos] <= '9') { v = v * 10 + (unsigned long)(stat[pos++] - '0'); digits++; }
            if (!digits) return -1;
            *out = v;
            return 0;
        }
        while (pos < len && stat[pos] != ' ') pos++;
    }
    return -1;
}

/// The init is a copy of the service, so its /proc/<pid>/cmdline and environ (what the jail sees as
/// /proc/1/cmdline) would show the service's command line and environment, where secrets live.
/// Overwrites this copy's argument and environment strings (copy-on-write: the service's own stay
/// intact). Fields 48-51 of /proc/self/stat bound them (Linux 3.5+).
static int scrub_inherited_strings(void) {
    char stat[2048];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = 0, r;
    while ((r = read(fd, stat + n, sizeof stat - 1 - (size_t)n)) > 0) n += r;
    close(fd);
    if (r < 0) return -1;
    unsigned long bounds[4];
    for (int i = 0; i < 4; i++) {
        if (stat_field(stat, (size_t)n, 48 + i, &bounds[i]) < 0) { errno = EINVAL; return -1; }
    }
    static const char name[] = "corral-init";
    for (int i = 0; i < 4; i += 2) {
        if (bounds[i + 1] <= bounds[i]) continue;
        size_t len = bounds[i + 1] - bounds[i];
        memset((void *)bounds[i], 0, len);
        if (i == 0 && len > sizeof name) memcpy((void *)bounds[i], name, sizeof name);
    }
    return 0;
}

/// One line of /proc/self/maps: `start-end perms offset dev inode [name]`.
struct mapping { unsigned long start, end, inode; char perms[4]; const char *name; size_t name_len; };

static int parse_hex(const char **p, const char *end, unsigned long *out) {
    unsigned long v = 0;
    int digits = 0;
    for (; *p < end; (*p)++, digits++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) break;
        v = v * 16 + (unsigned long)d;
    }
    *out = v;
    return digits ? 0 : -1;
}

static int parse_mapping(const char *line, size_t len, struct mapping *m) {
    const char *p = line, *end = line + len;
    if (parse_hex(&p, end, &m->start) < 0 || p >= end || *p++ != '-') return -1;
    if (parse_hex(&p, end, &m->end) < 0 || p >= end || *p++ != ' ') return -1;
    if (end - p < 5) return -1;
    memcpy(m->perms, p, 4);
    p += 5;
    for (int field = 0; field < 2; field++) {  // offset, device
        while (p < end && *p != ' ') p++;
        while (p < end && *p == ' ') p++;
    }
    m->inode = 0;
    int digits = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) m->inode = m->inode * 10 + (unsigned long)(*p - '0');
    if (!digits) return -1;
    while (p < end && *p == ' ') p++;
    m->name = p;
    m->name_len = (size_t)(end - p);
    return 0;
}

/// The init is a clone of the service and so maps the service's whole heap: the OOM killer counts it
/// as the init's resident memory, and at a small memory limit the init looked bigger than the memory
/// bomb (a program's score is raised only by as much as its limit): the bomb's kill took the init and
/// with it the jail (a session, whose agent is its program). The init uses only its stack, the
/// loaded objects' data and memory it maps itself (see the header), so it unmaps every other private
/// writable anonymous mapping it inherited: the heap, malloc's arenas, other threads' stacks. Kept:
/// file mappings, the anonymous rest of an object's data (its .bss, right after its file mapping),
/// the process's first stack, the mapping of the stack this runs on and the one of its thread's TCB
/// (the same for a thread glibc made; the spawner thread is one).
/// Ranges are collected first and unmapped after the file is closed (the maps change under a reader).
/// Returns -1 (errno set) when the maps cannot be read.
static int shed_inherited_memory(void) {
    enum { MAX_RANGES = 256 };
    unsigned long here = (unsigned long)__builtin_frame_address(0);
    unsigned long thread = (unsigned long)__builtin_thread_pointer();  // its TCB and TLS (errno, the canary)
    for (int pass = 0; pass < 64; pass++) {
        unsigned long ranges[MAX_RANGES][2];
        int count = 0, full = 0;
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        char buf[8192];
        size_t have = 0;
        unsigned long previous_end = 0, previous_inode = 0;
        int previous_data = 0;
        for (;;) {
            ssize_t n = read(fd, buf + have, sizeof buf - have);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) { int e = errno; close(fd); errno = e; return -1; }
            have += (size_t)n;
            size_t at = 0;
            for (;;) {
                char *nl = memchr(buf + at, '\n', have - at);
                if (!nl) break;
                struct mapping m;
                if (parse_mapping(buf + at, (size_t)(nl - (buf + at)), &m) == 0) {
                    int anonymous = m.inode == 0 && (m.name_len == 0 || (m.name_len >= 6 && memcmp(m.name, "[anon:", 6) == 0)
                                                     || (m.name_len == 6 && memcmp(m.name, "[heap]", 6) == 0));
                    int writable_private = m.perms[0] == 'r' && m.perms[1] == 'w' && m.perms[3] == 'p';
                    // A loaded object's .bss: right after its data segment (a private writable file
                    // mapping). Any other file mapping may sit under a heap chunk by chance.
                    int object_data = m.name_len == 0 && m.start == previous_end && previous_inode != 0 && previous_data;
                    int ours = (here >= m.start && here < m.end) || (thread >= m.start && thread < m.end);
                    if (anonymous && writable_private && !object_data && !ours) {
                        if (count < MAX_RANGES) { ranges[count][0] = m.start; ranges[count][1] = m.end; count++; }
                        else full = 1;
                    }
                    previous_end = m.end;
                    previous_inode = m.inode;
                    previous_data = writable_private;
                }
                at = (size_t)(nl - buf) + 1;
            }
            memmove(buf, buf + at, have - at);
            have -= at;
            if (n == 0) break;
            if (have == sizeof buf) have = 0;  // a line longer than the buffer: not one of ours (names are short)
        }
        close(fd);
        for (int i = 0; i < count; i++) munmap((void *)ranges[i][0], ranges[i][1] - ranges[i][0]);
        if (!full) return 0;
    }
    return 0;
}

// ---------------------------------------------------------------- the spec

struct arg { const char *data; uint32_t len; };

struct program {
    const char *argv[MAX_ARGS + 1];
    const char *envp[MAX_ENV + 1];
    int argc, envc;
    const char *exec_path;
    uint64_t rlimits[MAX_RLIMITS][3];
    int rlimit_count;
    uid_t uid; gid_t gid; int has_creds;
    struct sock_fprog seccomp; int has_seccomp;
    /// Written by the vfork child right before its execve (vfork shares this memory with the init).
    volatile int64_t exec_ns;
    /// CORRAL_OP_WARM: wait for a hand-off spec once the program runs.
    int warm;
    /// Set while running a hand-off spec: RLIMIT ops apply to this running program at once.
    pid_t running;
    /// CORRAL_OP_KEEP_CAPS: leave the bounding set (a zygote needs its namespace's capabilities).
    int keep_caps;
};

static uint64_t u64(struct arg a) {
    uint64_t v = 0;
    if (a.len == 8) memcpy(&v, a.data, 8);
    return v;
}

/// Runs one setup operation; program-scoped ones are collected into `prog`.
static int run_op(uint32_t op, struct arg *a, uint32_t argc, struct program *prog) {
    switch (op) {
    case CORRAL_OP_MOUNT:
        if (argc != 5) { errno = EINVAL; return -1; }
        return mount(a[0].len > 1 ? a[0].data : NULL, a[1].data,
                     a[2].len > 1 ? a[2].data : NULL, (unsigned long)u64(a[3]),
                     a[4].len > 1 ? a[4].data : NULL);
    case CORRAL_OP_BIND_REMOUNT: {
        if (argc != 2) { errno = EINVAL; return -1; }
        unsigned long flags = MS_BIND | MS_REMOUNT | locked_mount_flags(a[0].data) | (unsigned long)u64(a[1]);
        return mount(NULL, a[0].data, NULL, flags, NULL);
    }
    case CORRAL_OP_REMOUNT:
        if (argc != 2) { errno = EINVAL; return -1; }
        return mount(NULL, a[0].data, NULL, MS_REMOUNT | (unsigned long)u64(a[1]), NULL);
    case CORRAL_OP_MKDIR:
        if (argc != 2) { errno = EINVAL; return -1; }
        return mkdir_p((char *)a[0].data, (mode_t)u64(a[1]));
    case CORRAL_OP_CHOWN:
        if (argc != 3) { errno = EINVAL; return -1; }
        return lchown(a[0].data, (uid_t)u64(a[1]), (gid_t)u64(a[2]));
    case CORRAL_OP_TOUCH: {
        if (argc != 1) { errno = EINVAL; return -1; }
        int fd = open(a[0].data, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd < 0) return -1;
        return close(fd);
    }
    case CORRAL_OP_SYMLINK:
        if (argc != 2) { errno = EINVAL; return -1; }
        return symlink(a[0].data, a[1].data);
    case CORRAL_OP_WRITE_FILE: {
        if (argc != 5) { errno = EINVAL; return -1; }
        int fd = open(a[0].data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)u64(a[2]));
        if (fd < 0) return -1;
        if (write_full(fd, a[1].data, a[1].len) < 0 || fchown(fd, (uid_t)u64(a[3]), (gid_t)u64(a[4])) < 0 ||
            fchmod(fd, (mode_t)u64(a[2])) < 0) {
            int e = errno; close(fd); errno = e; return -1;
        }
        return close(fd);
    }
    case CORRAL_OP_PIVOT:
        // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the new root.
        if (argc != 1) { errno = EINVAL; return -1; }
        if (chdir(a[0].data) < 0) return -1;
        if (syscall(SYS_pivot_root, ".", ".") < 0) return -1;
        if (umount2(".", MNT_DETACH) < 0) return -1;
        return chdir("/");
    case CORRAL_OP_HOSTNAME:
        if (argc != 1) { errno = EINVAL; return -1; }
        return sethostname(a[0].data, cstrlen(a[0].data));
    case CORRAL_OP_LOOPBACK_UP:
        return loopback_up();
    case CORRAL_OP_CHDIR:
        if (argc != 1) { errno = EINVAL; return -1; }
        return chdir(a[0].data);
    case CORRAL_OP_RLIMIT:
        if (argc != 3) { errno = EINVAL; return -1; }
        if (prog->running > 0) {
            struct rlimit64 { uint64_t cur, max; } lim = { u64(a[1]), u64(a[2]) };
            return (int)syscall(SYS_prlimit64, prog->running, (int)u64(a[0]), &lim, NULL);
        }
        if (prog->rlimit_count >= MAX_RLIMITS) { errno = EINVAL; return -1; }
        prog->rlimits[prog->rlimit_count][0] = u64(a[0]);
        prog->rlimits[prog->rlimit_count][1] = u64(a[1]);
        prog->rlimits[prog->rlimit_count][2] = u64(a[2]);
        prog->rlimit_count++;
        return 0;
    case CORRAL_OP_CREDS:
        if (argc != 2) { errno = EINVAL; return -1; }
        prog->uid = (uid_t)u64(a[0]); prog->gid = (gid_t)u64(a[1]); prog->has_creds = 1;
        return 0;
    case CORRAL_OP_SECCOMP:
        if (argc != 1 || a[0].len == 0 || a[0].len % sizeof(struct sock_filter) != 0) { errno = EINVAL; return -1; }
        prog->seccomp.len = (unsigned short)(a[0].len / sizeof(struct sock_filter));
        prog->seccomp.filter = (struct sock_filter *)a[0].data;
        prog->has_seccomp = 1;
        return 0;
    case CORRAL_OP_ENV:
        if (argc != 1 || prog->envc >= MAX_ENV) { errno = E2BIG; return -1; }
        prog->envp[prog->envc++] = a[0].data;
        return 0;
    case CORRAL_OP_ARG:
        if (argc != 1 || prog->argc >= MAX_ARGS) { errno = E2BIG; return -1; }
        prog->argv[prog->argc++] = a[0].data;
        return 0;
    case CORRAL_OP_EXEC:
        if (argc != 1) { errno = EINVAL; return -1; }
        prog->exec_path = a[0].data;
        return 0;
    case CORRAL_OP_WARM:
        if (argc != 0) { errno = EINVAL; return -1; }
        prog->warm = 1;
        return 0;
    case CORRAL_OP_KEEP_CAPS:
        if (argc != 0) { errno = EINVAL; return -1; }
        prog->keep_caps = 1;
        return 0;
    case CORRAL_OP_SYSCTL: {
        // Never creates: the knob must exist, or the measure it stands for would silently be missing.
        if (argc != 2 || a[1].len == 0) { errno = EINVAL; return -1; }
        int fd = open(a[0].data, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) return -1;
        if (write_full(fd, a[1].data, a[1].len - 1) < 0) { int e = errno; close(fd); errno = e; return -1; }
        return close(fd);
    }
    default:
        errno = EINVAL;
        return -1;
    }
}

// ---------------------------------------------------------------- the program

static void exec_searching_path(struct program *prog) {
    const char *path = prog->exec_path;
    if (strchr(path, '/')) { execve(path, (char *const *)prog->argv, (char *const *)prog->envp); return; }
    const char *search = "/usr/local/bin:/usr/bin:/bin";
    for (int i = 0; i < prog->envc; i++)
        if (strncmp(prog->envp[i], "PATH=", 5) == 0) search = prog->envp[i] + 5;
    char candidate[4096];
    size_t name_len = cstrlen(path);
    int saved = ENOENT;
    while (*search) {
        const char *end = strchr(search, ':');
        size_t dir_len = end ? (size_t)(end - search) : cstrlen(search);
        if (dir_len > 0 && dir_len + name_len + 2 < sizeof candidate) {
            memcpy(candidate, search, dir_len);
            candidate[dir_len] = '/';
            memcpy(candidate + dir_len + 1, path, name_len + 1);
            execve(candidate, (char *const *)prog->argv, (char *const *)prog->envp);
            if (errno != ENOENT && errno != ENOTDIR) saved = errno;
        }
        if (!end) break;
        search = end + 1;
    }
    errno = saved;
}

/// Runs in the vfork child: drop everything, then execve. Never returns.
__attribute__((noreturn)) static void become_program(struct program *prog) {
    // Capabilities: empty the bounding set while we still may, clear ambient,
    // then leave uid 0 so that permitted and effective sets are cleared too.
    // (A zygote keeps them: it stays the namespace's root and drops them in each fork; see corral_jail.h.)
    for (int cap = 0; cap <= 63 && !prog->keep_caps; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail(CORRAL_STEP_DROP_PRIVILEGES, cap);
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (prog->has_creds) {
        if (syscall(SYS_setresgid, prog->gid, prog->gid, prog->gid) < 0) fail(CORRAL_STEP_DROP_PRIVILEGES, 0);
        if (syscall(SYS_setresuid, prog->uid, prog->uid, prog->uid) < 0) fail(CORRAL_STEP_DROP_PRIVILEGES, 1);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(CORRAL_STEP_DROP_PRIVILEGES, 2);
    for (int i = 0; i < prog->rlimit_count; i++) {
        struct rlimit64 { uint64_t cur, max; } lim = { prog->rlimits[i][1], prog->rlimits[i][2] };
        if (syscall(SYS_prlimit64, 0, (int)prog->rlimits[i][0], &lim, NULL) < 0) fail(CORRAL_STEP_RLIMIT, i);
    }
    // Default signal dispositions and an empty mask for the program.
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } act = { SIG_DFL, 0, 0, 0 };
        syscall(SYS_rt_sigaction, sig, &act, NULL, 8);
    }
    uint64_t empty = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, 8);
    // Installed last: after this only the program's own syscalls run.
    if (prog->has_seccomp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog->seccomp) < 0)
        fail(CORRAL_STEP_SECCOMP, 0);
    prog->exec_ns = monotonic_ns(); // the program's wall time starts here
    exec_searching_path(prog);
    fail(CORRAL_STEP_EXEC, 0);
}

/// Parses and runs every operation of a spec; a failure reports `step` with the operation's index.
static void run_spec(const char *buf, size_t spec_len, struct program *prog, int step) {
    struct arg args[8];
    size_t pos = 0;
    int index = 0;
    while (pos + 8 <= spec_len) {
        uint32_t op, argc;
        memcpy(&op, buf + pos, 4); memcpy(&argc, buf + pos + 4, 4);
        pos += 8;
        if (argc > 8) { errno = EINVAL; fail(CORRAL_STEP_BAD_SPEC, index); }
        for (uint32_t i = 0; i < argc; i++) {
            uint32_t len;
            if (pos + 4 > spec_len) { errno = EINVAL; fail(CORRAL_STEP_BAD_SPEC, index); }
            memcpy(&len, buf + pos, 4);
            pos += 4;
            if (len > spec_len - pos) { errno = EINVAL; fail(CORRAL_STEP_BAD_SPEC, index); }
            args[i].data = buf + pos; args[i].len = len;
            pos += len;
        }
        if (run_op(op, args, argc, prog) < 0) fail(step, index);
        index++;
    }
}

/// A warm jail waits here, its program started, until the parent hands it a run (or the program
/// dies first). Returns once the hand-off spec is done (reported) or when there is none to wait for.
static void await_handoff(struct program *prog, pid_t child) {
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (pidfd < 0) fail(CORRAL_STEP_HANDOFF, -1);
    for (;;) {
        struct pollfd fds[2] = { { .fd = 3, .events = POLLIN, .revents = 0 }, { .fd = pidfd, .events = POLLIN, .revents = 0 } };
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(CORRAL_STEP_HANDOFF, -1);
        if (fds[0].revents) break;
        if (fds[1].revents) { close(pidfd); close(3); return; } // died waiting: reaped and reported below
    }
    int64_t handoff_cpu = own_cpu_us();  // idle in poll since the host read the cgroup's CPU
    close(pidfd);
    uint32_t header[2];
    // EOF: the parent let the jail go without a run; leaving kills the program.
    if (read_full(3, header, sizeof header) < 0) syscall(SYS_exit_group, 0);
    if (header[0] != CORRAL_SPEC_MAGIC || header[1] > (1u << 30)) { errno = EINVAL; fail(CORRAL_STEP_HANDOFF, -1); }
    size_t len = header[1];
    char *buf = mmap(NULL, len + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) fail(CORRAL_STEP_HANDOFF, -1);
    if (read_full(3, buf, len) < 0) syscall(SYS_exit_group, 0);
    close(3);
    prog->running = child;
    run_spec(buf, len, prog, CORRAL_STEP_HANDOFF);
    munmap(buf, len + 1);
    // The hand-off's own work (its files, its sizes) is in the cgroup's CPU after the host's baseline.
    report_cpu_at(CORRAL_STATUS_HANDOFF, 0, 0, 0, 0, monotonic_ns(), own_cpu_us() - handoff_cpu);
}

// ---------------------------------------------------------------- the init

/// Places the inherited descriptors at 0..4 and closes every other one.
static void arrange_fds(const struct corral_clone_request *req) {
    int src[5] = { req->stdin_fd, req->stdout_fd, req->stderr_fd, req->spec_fd, req->status_fd };
    int high[5];
    for (int i = 0; i < 5; i++) {
        high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 100);
        if (high[i] < 0) syscall(SYS_exit_group, 126);
    }
    for (int i = 0; i < 5; i++) {
        if (dup2(high[i], i) < 0) syscall(SYS_exit_group, 126);
    }
    // Every other descriptor of the service must go (its connections are not all close-on-exec).
    // Without close_range (kernels before 5.9, or a filter that denies it) each is closed in turn,
    // up to the descriptor limit; a jail that cannot shed them does not start.
    if (syscall(SYS_close_range, 5, ~0U, 0) != 0) {
        struct rlimit nofile;
        if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur > (1u << 20)) syscall(SYS_exit_group, 126);
        for (int fd = 5; fd < (int)nofile.rlim_cur; fd++) syscall(SYS_close, fd);
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    fcntl(4, F_SETFD, FD_CLOEXEC);
}

__attribute__((noreturn)) static void init_main(const struct corral_clone_request *req) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int shed = req->shed_memory != 0;  // all of req is read before the shed below
    arrange_fds(req);
    // The parent's death before PDEATHSIG was armed shows as EOF on the spec pipe below.
    syscall(SYS_setsid);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (scrub_inherited_strings() < 0) fail(CORRAL_STEP_SCRUB, 0);
    if (shed && shed_inherited_memory() < 0) fail(CORRAL_STEP_SHED, 0);
    prctl(PR_SET_NAME, "corral-init", 0, 0, 0); // not the name of the service thread it was cloned from

    uint32_t header[2];
    if (read_full(3, header, sizeof header) < 0) syscall(SYS_exit_group, 0);
    if (header[0] != CORRAL_SPEC_MAGIC || header[1] > (1u << 30)) { errno = EINVAL; fail(CORRAL_STEP_BAD_SPEC, 0); }
    size_t spec_len = header[1];
    size_t map_len = spec_len + sizeof(struct program) + 4096;
    char *buf = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) fail(CORRAL_STEP_READ_SPEC, 0);
    if (read_full(3, buf, spec_len) < 0) syscall(SYS_exit_group, 0);
    // The maps are written by now: become the namespace's root (an unprivileged host uid), keeping
    // this namespace's capabilities for the mounts below.
    if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0) fail(CORRAL_STEP_DROP_PRIVILEGES, -1);
    // Changing credentials cleared the parent-death signal (prctl(2)): without it again, a jail
    // would outlive a service that dies while it runs. Arm it, then check the service did not die
    // before: its end of the status pipe would be closed, which poll reports as POLLERR.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct pollfd parent_alive = { .fd = 4, .events = 0, .revents = 0 };
    if (poll(&parent_alive, 1, 0) == 1 && (parent_alive.revents & POLLERR)) syscall(SYS_exit_group, 0);
    // The cgroup namespace was made at clone time, rooted at the service's cgroup; the parent has
    // moved us into the jail's own since. A new one rooted here keeps the host's cgroup paths (and
    // the service's pid in the jail's cgroup name) out of /proc/self/cgroup.
    if (syscall(SYS_unshare, CLONE_NEWCGROUP) < 0) fail(CORRAL_STEP_CGROUP_NAMESPACE, 0);
    struct program *prog = (struct program *)(buf + ((spec_len + 15) & ~(size_t)15));

    run_spec(buf, spec_len, prog, CORRAL_STEP_OP);
    if (!prog->exec_path || prog->argc == 0) { errno = EINVAL; fail(CORRAL_STEP_BAD_SPEC, -1); }

    // The init is a copy of the service and looks big to the OOM killer; when the jail's memory
    // is held by its tmpfs rather than by a process, the killer would pick the init and the run
    // would end without the program's status. The program (and all it forks) inherits the highest
    // score; the init then returns to its own, which raising never stops it from doing.
    // A non-dumpable task's /proc files belong to host root (its memory is a copy of the service's),
    // so the init may open its own score only while dumpable: for this one open, before any other
    // process exists in the jail. (Opened while non-dumpable, it failed with EACCES, and every
    // program kept the service's score: a memory bomb's OOM kill could take the init and the session.)
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    int oom_fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    char oom_saved[16];
    ssize_t oom_len = oom_fd >= 0 ? pread(oom_fd, oom_saved, sizeof oom_saved, 0) : -1;
    if (oom_len > 0) {
        ssize_t ignored = pwrite(oom_fd, "1000", 4, 0);
        (void)ignored;
    }
    pid_t child = vfork();
    if (child < 0) fail(CORRAL_STEP_FORK, 0);
    if (child == 0) become_program(prog);
    if (oom_len > 0) {
        ssize_t ignored = pwrite(oom_fd, oom_saved, (size_t)oom_len, 0);
        (void)ignored;
    }
    if (oom_fd >= 0) close(oom_fd);

    // The init keeps no end of the program's streams: they reach EOF when the program's last process exits.
    close(0); close(1); close(2);
    report_at(CORRAL_STATUS_STARTED, 0, 0, 0, 0, prog->exec_ns);
    if (prog->warm) await_handoff(prog, child); else close(3);
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, __WALL);
        int64_t reaped_at = monotonic_ns();
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) syscall(SYS_exit_group, 0);
        if (pid == child) {
            report_at(CORRAL_STATUS_EXITED, 0, 0, 0, status, reaped_at);
            // Leaving the init kills every other process of the PID namespace.
            syscall(SYS_exit_group, 0);
        }
    }
}

// ---------------------------------------------------------------- parent side

static pid_t clone_as_owner(const struct corral_clone_request *request, int *pidfd_out);

pid_t corral_jail_clone(const struct corral_clone_request *request, int *pidfd_out) {
    // Become the namespace's owner for the clone only, on this thread only (raw syscalls: glibc's
    // wrappers would change every thread of the service). SECBIT_NO_SETUID_FIXUP keeps this
    // thread's capabilities across the switch: writing the child's maps and CLONE_INTO_CGROUP
    // still need them. Any failure refuses the clone: a jail owned by root would charge its
    // per-user counts to host root.
    int saved_bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    if (saved_bits < 0) return -errno;
    if (prctl(PR_SET_SECUREBITS, saved_bits | SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0) return -errno;
    uid_t euid = (uid_t)syscall(SYS_geteuid);
    gid_t egid = (gid_t)syscall(SYS_getegid);
    if (syscall(SYS_setresgid, -1, request->owner_gid, -1) < 0) {
        int e = errno; prctl(PR_SET_SECUREBITS, saved_bits, 0, 0, 0); return -e;
    }
    if (syscall(SYS_setresuid, -1, request->owner_uid, -1) < 0) {
        int e = errno; syscall(SYS_setresgid, -1, egid, -1); prctl(PR_SET_SECUREBITS, saved_bits, 0, 0, 0); return -e;
    }
    pid_t pid = clone_as_owner(request, pidfd_out);
    // Restoring root must succeed, or this thread would clone the next jail as the wrong owner:
    // a failure here is a broken process, and exiting is the only safe answer.
    if (syscall(SYS_setresuid, -1, euid, -1) < 0 || syscall(SYS_setresgid, -1, egid, -1) < 0 ||
        prctl(PR_SET_SECUREBITS, saved_bits, 0, 0, 0) < 0)
        abort();
    return pid;
}

static pid_t clone_as_owner(const struct corral_clone_request *request, int *pidfd_out) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    int pidfd = -1;
    args.flags = request->namespace_flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    if (request->cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)request->cgroup_fd;
    }
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return -errno;
    if (pid == 0) init_main(request);
    *pidfd_out = pidfd;
    return (pid_t)pid;
}

static int binds_now_callback(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    int *result = data;
    int dynamic = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dynamic = 1;
    if (!dynamic) *result = 1;  // a static executable resolves nothing at run time
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
        const ElfW(Dyn) *dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        for (; dyn->d_tag != DT_NULL; dyn++) {
            if (dyn->d_tag == DT_BIND_NOW) *result = 1;
            if (dyn->d_tag == DT_FLAGS && (dyn->d_un.d_val & DF_BIND_NOW)) *result = 1;
            if (dyn->d_tag == DT_FLAGS_1 && (dyn->d_un.d_val & DF_1_NOW)) *result = 1;
        }
    }
    return 1;  // the first object is the executable
}

int corral_executable_binds_now(void) {
    int result = 0;
    dl_iterate_phdr(binds_now_callback, &result);
    return result;
}

int corral_thread_drop_supplementary_groups(void) {
    return syscall(SYS_setgroups, 0, NULL) < 0 ? -errno : 0;
}
