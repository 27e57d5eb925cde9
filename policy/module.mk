# policy/: page classifier and policy files.  Owner of this fragment: policy.
# policy/common/: what policy/ and manager/ share (common.h).
SRC_ztpolicy := $(wildcard policy/*.c policy/common/*.c)
# The vector same-fill scanners and sample paths are compiled for their ISA and
# chosen at run time.
CFLAGS_policy/samefill_avx2.c   := -mavx2
CFLAGS_policy/samefill_avx512.c := -mavx512f
CFLAGS_policy/entropy_avx2.c    := -mavx2 -mpopcnt
CFLAGS_policy/entropy_avx512.c  := -mavx512f -mavx512bw -mavx512vbmi2
MAN5 += policy/ztier.policy.5
