#include <pthread.h>
#include "corral_syscalls.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int corral_pipe2_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int corral_memfd_create_cloexec(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
int corral_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

#include <errno.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int corral_open_beneath(int dirfd, const char *path, int flags, unsigned mode, int no_symlinks) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
    long fd;
    do { fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how); } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : (int)fd;
}

static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    return w == (ssize_t)n ? 0 : -(w < 0 ? e : EIO);
}

static pthread_mutex_t userns_lock = PTHREAD_MUTEX_INITIALIZER;

static int userns_fd_locked(const char *uid_map, const char *gid_map);

/// One helper at a time: should `close_range` be missing, two helpers born together would each hold
/// the other's write end and wait for each other forever.
int corral_userns_fd(const char *uid_map, const char *gid_map) {
    pthread_mutex_lock(&userns_lock);
    int result = userns_fd_locked(uid_map, gid_map);
    pthread_mutex_unlock(&userns_lock);
    return result;
}

static int userns_fd_locked(const char *uid_map, const char *gid_map) {
    int release[2];
    if (pipe2(release, O_CLOEXEC) < 0) return -errno;
    // A raw clone, not fork(): the parent is multithreaded and fork() would run the atfork
    // handlers of its libraries in the child, which may wait forever on a lock another thread held.
    // The child is born in its new user namespace, makes only raw syscalls, and waits for EOF.
    long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid < 0) { int e = errno; close(release[0]); close(release[1]); return -e; }
    if (pid == 0) {
        // Keep only the read end: the child is a copy of the service and never execs, so it would
        // hold every descriptor of the moment (other helpers' write ends, whose EOF they wait for;
        // accepted connections, whose close their clients wait for).
        char c;
        if (release[0] > 0) syscall(SYS_close_range, 0, (unsigned)release[0] - 1, 0);
        syscall(SYS_close_range, (unsigned)release[0] + 1, ~0U, 0);
        syscall(SYS_read, release[0], &c, 1);
        syscall(SYS_exit_group, 0);
    }
    close(release[0]);
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
    int result = write_text(path, uid_map);
    if (result == 0) { snprintf(path, sizeof path, "/proc/%ld/setgroups", pid); result = write_text(path, "deny"); }
    if (result == 0) { snprintf(path, sizeof path, "/proc/%ld/gid_map", pid); result = write_text(path, gid_map); }
    if (result == 0) {
        snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
        result = open(path, O_RDONLY | O_CLOEXEC);
        if (result < 0) result = -errno;
    }
    close(release[1]);  // the child reads EOF and exits
    int status;
    while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {}
    return result;
}

int corral_idmapped_bind(const char *source, const char *target, int userns_fd, int read_only) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0) return -errno;
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (read_only ? MOUNT_ATTR_RDONLY : 0);
    attr.userns_fd = (uint64_t)userns_fd;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
        int e = errno; close(tree); return -e;
    }
    int r = (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
    int e = errno;
    close(tree);
    return r < 0 ? -e : 0;
}

#include <sys/xattr.h>

long corral_fgetxattr(int fd, const char *name, void *value, unsigned long size) {
    ssize_t n = fgetxattr(fd, name, value, size);
    return n < 0 ? -errno : (long)n;
}

#include <sys/socket.h>

long corral_send_with_fds(int sock, const void *buf, unsigned long len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > 16) return -EINVAL;
    union { char raw[CMSG_SPACE(16 * sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        msg.msg_control = control.raw;
        msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

long corral_recv_with_fd(int sock, void *buf, unsigned long len, int *fd) {
    *fd = -1;
    union { char raw[CMSG_SPACE(16 * sizeof(int))]; struct cmsghdr align; } control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.raw, .msg_controllen = sizeof control.raw };
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int received[16];
        if (count > 16) count = 16;
        memcpy(received, CMSG_DATA(c), (size_t)count * sizeof(int));
        for (int i = 0; i < count; i++) {
            if (*fd < 0) *fd = received[i]; else close(received[i]);
        }
    }
    return (long)n;
}

int corral_pidfd_open(int pid) {
    long r = syscall(SYS_pidfd_open, pid, 0);
    return r < 0 ? -errno : (int)r;
}
