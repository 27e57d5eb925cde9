# tests/: every tests/<dir>/t_*.c is one TAP program (ASan/UBSan build),
# every r_*.c one run from the release build; every tests/**/*.t
# script is run by prove as it is.  Benchmarks are tests/bench/b_*.c.
TESTS_C  += $(wildcard tests/*/t_*.c)
TESTS_REL += $(wildcard tests/*/r_*.c)
TESTS_SH += $(sort $(wildcard tests/*/*.t))
BENCHES  += $(wildcard tests/bench/b_*.c)
