// Syscalls the host side needs that Swift's Glibc module does not export
// (it is built without _GNU_SOURCE, and variadic `syscall` is not imported).
// Host side only: nothing here runs in a jail.
#ifndef CORRAL_SYSCALLS_H
#define CORRAL_SYSCALLS_H

int corral_pipe2_cloexec(int fds[2]);
int corral_memfd_create_cloexec(const char *name);
int corral_pidfd_send_signal(int pidfd, int sig);

#endif
