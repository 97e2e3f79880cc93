// The jail's child side: the only Corral code that runs between clone and
// execve. Everything here is async-signal-safe: the child of a multithreaded
// Swift process may not take a lock, allocate or call glibc wrappers that
// broadcast to threads (setuid & co.), so it uses raw syscalls and memory it
// maps itself.
//
// Protocol. The parent clones the jail's init with `corral_jail_clone`. The
// init blocks until the parent has written its uid/gid maps and placed it in
// its cgroup, then reads a *spec* from `spec_fd`: a list of operations
// (mounts, files, rlimits, credentials, seccomp program, argv, env) encoded
// by the Swift side (JailSpec+Encoding.swift). It performs them in order,
// forks the program (pid 2 in the new PID namespace), reaps every process
// of the jail and reports the program's wait status on `status_fd`.
#ifndef CORRAL_JAIL_H
#define CORRAL_JAIL_H

#include <stdint.h>
#include <sys/types.h>

#define CORRAL_SPEC_MAGIC 0x4c52524fu /* "ORRL" */

/// Operation codes of the spec. Each is `u32 op, u32 argc, argc * (u32 len, bytes)`.
/// String arguments carry their trailing NUL; integers are 8-byte little endian.
enum corral_op {
    CORRAL_OP_MOUNT = 1,          // source, target, fstype, flags(u64), data
    CORRAL_OP_BIND_REMOUNT = 2,   // target, flags(u64): remount a bind keeping its locked flags
    CORRAL_OP_REMOUNT = 3,        // target, flags(u64)
    CORRAL_OP_MKDIR = 4,          // path, mode(u64): like mkdir -p
    CORRAL_OP_TOUCH = 5,          // path: an empty file to bind a file onto
    CORRAL_OP_SYMLINK = 6,        // target, path
    CORRAL_OP_WRITE_FILE = 7,     // path, content(bytes), mode(u64), uid(u64), gid(u64)
    CORRAL_OP_PIVOT = 8,          // new root
    CORRAL_OP_HOSTNAME = 9,       // name
    CORRAL_OP_LOOPBACK_UP = 10,   // (none)
    CORRAL_OP_CHDIR = 11,         // path
    CORRAL_OP_RLIMIT = 12,        // resource(u64), soft(u64), hard(u64); applied to the program
    CORRAL_OP_CREDS = 13,         // uid(u64), gid(u64); the program's credentials
    CORRAL_OP_SECCOMP = 14,       // BPF program (array of struct sock_filter)
    CORRAL_OP_ENV = 15,           // "KEY=VALUE"
    CORRAL_OP_ARG = 16,           // one argv element
    CORRAL_OP_EXEC = 17,          // path (searched in the spec's PATH when it has no '/')
    CORRAL_OP_SYSCTL = 18,        // path, value: writes an existing file (a namespaced /proc/sys knob)
    CORRAL_OP_WARM = 19,          // (none): after the program starts, wait for a hand-off spec (below)
    CORRAL_OP_KEEP_CAPS = 20,     // (none): the program keeps the namespace's capabilities (a fork-server's
                                  // zygote, which runs no user code and re-jails each fork: docs/fork-server.md)
    CORRAL_OP_CHOWN = 21,         // path, uid(u64), gid(u64): lchown (a directory the run's files made)
};

// Warm jails. A spec with CORRAL_OP_WARM starts its program (an interpreter that then blocks
// reading its request from stdin) and leaves `spec_fd` open. When a run takes the jail, the parent
// writes a second, framed *hand-off* spec: the run's files, remounts and rlimits. The init performs
// it (RLIMIT ops then apply at once to the running program, with prlimit), reports
// CORRAL_STATUS_HANDOFF, and only then reaps as usual. Should the program die before the hand-off,
// the init stops waiting and reports its exit as usual (the parent then discards the jail).

/// Steps the child reports when something fails.
enum corral_step {
    CORRAL_STEP_SETUP_FDS = 1,
    CORRAL_STEP_READ_SPEC = 2,
    CORRAL_STEP_BAD_SPEC = 3,
    CORRAL_STEP_OP = 4,           // `op` holds the operation's index in the spec
    CORRAL_STEP_FORK = 5,
    CORRAL_STEP_DROP_PRIVILEGES = 6,
    CORRAL_STEP_RLIMIT = 7,
    CORRAL_STEP_SECCOMP = 8,
    CORRAL_STEP_EXEC = 9,
    CORRAL_STEP_SCRUB = 10,       // overwriting the service's argv/environ copy in the init
    CORRAL_STEP_CGROUP_NAMESPACE = 11,
    CORRAL_STEP_HANDOFF = 12,     // reading or running a warm jail's hand-off spec (`op` as for CORRAL_STEP_OP)
    CORRAL_STEP_SHED = 13,        // unmapping the service's memory the init inherited (reading /proc/self/maps)
};

enum corral_status_kind {
    CORRAL_STATUS_SETUP_ERROR = 1,  // error, step, op
    CORRAL_STATUS_STARTED = 2,      // the program's execve succeeded; monotonic_ns: just before its execve
    CORRAL_STATUS_EXITED = 3,       // wait_status of the program; monotonic_ns: just after the init reaped it
    CORRAL_STATUS_HANDOFF = 4,      // a warm jail performed its hand-off spec; monotonic_ns: when it finished
};

/// One fixed-size message on the status pipe (atomic: smaller than PIPE_BUF).
struct corral_status {
    int32_t kind;
    int32_t error;
    int32_t step;
    int32_t op;
    int32_t wait_status;
    /// STARTED: the CPU time the init has used so far, microseconds (CLOCK_PROCESS_CPUTIME_ID): its
    /// setup (shedding, mounts, files) is in the jail's cgroup but is not the program's. HANDOFF: the
    /// CPU the init used for the hand-off (a warm run's files), after the host's baseline. A forked
    /// run's STARTED (sent by its program): the CPU its init and program spent on the run's set-up
    /// after the host's baseline (ZygoteProgram).
    int32_t init_cpu_us;
    /// CLOCK_MONOTONIC (shared with the host: jails get no time namespace) where the event happened,
    /// so that the host's reading of the pipe, however late, does not shift a program's times.
    int64_t monotonic_ns;
};

/// What must be known when the init is cloned. Everything else arrives in the spec.
struct corral_clone_request {
    uint64_t namespace_flags; // CLONE_NEW* flags
    int stdin_fd;             // the child's ends of its standard streams
    int stdout_fd;
    int stderr_fd;
    int spec_fd;              // read end of the spec pipe
    int status_fd;            // write end of the status pipe
    int cgroup_fd;            // a cgroup v2 directory for CLONE_INTO_CGROUP, or -1
    /// Host uid and gid that create (own) the jail's user namespace. Per-user kernel counts of the
    /// jail (inotify instances, message queues, pending signals) are charged up the namespace chain
    /// to this owner: it must be an unprivileged id of the jail's own, never root.
    uint32_t owner_uid;
    uint32_t owner_gid;
    /// Nonzero: the init unmaps the service's memory it inherited (see corral_jail.c). Only for an
    /// executable that binds its symbols at load (`corral_executable_binds_now`): the dynamic
    /// linker's lazy resolution would read tables the init unmapped.
    uint32_t shed_memory;
};

/// Whether the running executable was linked to bind every symbol at load (`-z now`: DT_FLAGS
/// BIND_NOW, DT_FLAGS_1 NOW or DT_BIND_NOW). Host side; called once.
int corral_executable_binds_now(void);

/// Clones the jail's init (fork semantics, new namespaces) as `owner_uid`/`owner_gid`, so that
/// the new user namespace belongs to them; the calling thread's credentials are restored before
/// it returns. Returns the init's pid in the parent, or -errno. `*pidfd_out` receives a pidfd (or -1).
pid_t corral_jail_clone(const struct corral_clone_request *request, int *pidfd_out);

/// Drops the calling *thread's* supplementary groups with the raw syscall
/// (glibc's setgroups would apply it to every thread of the process). Called
/// once on the spawner thread so that no jail inherits the host's groups,
/// which a jail could otherwise not drop under `setgroups=deny`.
int corral_thread_drop_supplementary_groups(void);

#endif
