// Syscalls the host side needs that Swift's Glibc module does not export
// (it is built without _GNU_SOURCE, and variadic `syscall` is not imported).
// Host side only: nothing here runs in a jail.
#ifndef CORRAL_SYSCALLS_H
#define CORRAL_SYSCALLS_H

#include <stdint.h>

int corral_pipe2_cloexec(int fds[2]);
int corral_memfd_create_cloexec(const char *name);
int corral_pidfd_send_signal(int pidfd, int sig);

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, plus RESOLVE_NO_SYMLINKS when
/// `no_symlinks` is set: `path` can never resolve outside `dirfd`. Returns a descriptor or -errno.
int corral_open_beneath(int dirfd, const char *path, int flags, unsigned mode, int no_symlinks);

/// A user namespace whose uid_map and gid_map are the given texts (e.g. "1000 2000001 1\n"),
/// held by a descriptor (O_CLOEXEC); the helper process that made it is gone on return.
/// For idmapped mounts. Returns the descriptor or -errno.
int corral_userns_fd(const char *uid_map, const char *gid_map);

/// Binds `source` at `target` through an idmapped mount (MOUNT_ATTR_IDMAP with `userns_fd`),
/// read-only when `read_only` is set, recursively. Returns 0 or -errno.
int corral_idmapped_bind(const char *source, const char *target, int userns_fd, int read_only);

/// fgetxattr(2): the value's length, or -errno.
long corral_fgetxattr(int fd, const char *name, void *value, unsigned long size);

/// sendmsg(2), non-blocking, of up to `len` bytes with `nfds` descriptors (SCM_RIGHTS, at most 16): bytes sent, or -errno.
long corral_send_with_fds(int sock, const void *buf, unsigned long len, const int *fds, int nfds);

/// recvmsg(2) of up to `len` bytes and at most one descriptor (SCM_RIGHTS, received close-on-exec;
/// -1 in `*fd` when none came, extra ones closed): bytes received, or -errno.
long corral_recv_with_fd(int sock, void *buf, unsigned long len, int *fd);

/// pidfd_open(2): a pidfd for `pid`, or -errno.
int corral_pidfd_open(int pid);

#endif
