// seccomp.h uses size_t without including <stddef.h> itself.
#include <stddef.h>
#include <seccomp.h>

// SCMP_ACT_ERRNO is a function-like macro, which Swift does not import.
static inline uint32_t corral_scmp_act_errno(uint16_t error) { return SCMP_ACT_ERRNO(error); }
