# tests/: every tests/<dir>/t_*.c is one TAP program (ASan/UBSan build),
# every r_*.c one run from the release build; every tests/**/*.t
# script is run by prove as it is (tests/vm/*.t on Debian 12's 6.12 kernel,
# tests/vm/7.3/*.t the same suites on 7.3).  Benchmarks are tests/bench/b_*.c.
TESTS_C  += $(wildcard tests/*/t_*.c)
TESTS_REL += $(wildcard tests/*/r_*.c)
TESTS_SH += $(sort $(wildcard tests/*/*.t))
# The VM suites again on the newest kernel (tests/vm/7.3/*.t set the series).
TESTS_SH += $(sort $(wildcard tests/vm/7.3/*.t))
BENCHES  += $(wildcard tests/bench/b_*.c)
# libFuzzer harnesses (make fuzz; tests/fuzz/fuzz.t runs each briefly).
FUZZERS  += $(wildcard tests/fuzz/fz_*.c)
