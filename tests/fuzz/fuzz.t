#!/bin/sh
# fuzz.t — every libFuzzer harness (tests/fuzz/fz_*.c) on its committed seed
# corpus (tests/fuzz/corpus/NAME/) for ZT_FUZZ_SECONDS each: 5 in `make test`
# (a smoke run: every seed replayed, then a few seconds of mutation), what
# FUZZ_SECONDS says in `make fuzz`.  New inputs go to build/fuzz/corpus/NAME,
# a crash to build/fuzz/crash-NAME-*: turn it into a case of the unit test
# of that parser (tests/<dir>/t_*.c), then fix.  Skips without clang.
# fz_state's corpus is written by the harness itself (ZT_FZ_STATE_SEEDS=DIR,
# see tests/fuzz/fz_state.c); a crash there becomes a case of
# tests/ublk/t_state_cases.h.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh

secs=${ZT_FUZZ_SECONDS:-5}
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null 2>&1 || skip_all "$cc not installed (libFuzzer harnesses need clang)"
# MAKEFLAGS of a calling make would bend this one (-n, -k, jobserver).
if ! out=$(env -u MAKEFLAGS -u MFLAGS make -s fuzz-bins 2>&1); then
	fail "harnesses build"
	printf '%s\n' "$out" | tail -20 | diag
	done_testing
fi
pass "harnesses build"

for src in tests/fuzz/fz_*.c; do
	name=${src##*/fz_}
	name=${name%.c}
	new=build/fuzz/corpus/$name
	log=build/fuzz/$name.log
	mkdir -p "$new"
	build/fuzz/fz_$name -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="build/fuzz/crash-$name-" "$new" "tests/fuzz/corpus/$name" \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc = 0 ]; then
		pass "fz_$name: no crash in ${runs:-?} executions ($secs s)"
	else
		fail "fz_$name: crash (exit $rc), input in build/fuzz/crash-$name-*"
		grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$log" | head -30 | diag
	fi
done
done_testing
