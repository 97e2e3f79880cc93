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
