#!/bin/bash
# tests/vm/bench-classify.sh: which classifier paths the guest's CPU runs,
# and their cost against lz4 there (issue 12: the TCG guest had no AVX-512
# VBMI2 and took the scalar path; QEMU's TCG has emulated AVX2 since 7.2).
# Only ratios within the run mean anything (TCG is 20-100x slower than
# native).  Runs alone:
#   tests/vm/run --add build/release/tests/bench/b_corpus.t \
#       --add build/vm/corpus.bin tests/vm/bench-classify.sh
set -u
echo "guest CPU flags: $(grep -m1 -o -w -e avx2 -e avx512f -e avx512_vbmi2 /proc/cpuinfo \
	| sort -u | tr '\n' ' ')"
# 2048 pages spread over the corpus: a pass under TCG takes seconds
ZT_CORPUS=/mnt/add/corpus.bin ZT_BENCH_PAGES=${PAGES:-2048} ZT_BENCH_ONLY=cost \
	ZT_BENCH_CLOCK=cpu /mnt/add/b_corpus.t
