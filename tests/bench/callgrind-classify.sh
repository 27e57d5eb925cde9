#!/bin/bash
# tests/bench/callgrind-classify.sh [PAGES]: instructions per page of
# zt_classify and LZ4_compress_default on PAGES pages (default 4096) spread
# over the corpus, counted by callgrind: unlike time, the same on every run.
# The classifier's paths go up to $ZT_BENCH_ISA, scalar unless set (avx2
# also runs under valgrind; avx512 does not: valgrind has no AVX-512).
# Needs the release build of b_corpus (make bench builds it) and the corpus
# (build/vm/corpus.bin, or $ZT_CORPUS).
set -eu
bin=build/release/tests/bench/b_corpus.t
[ -x "$bin" ] || { echo "callgrind-classify: build $bin first (make bench)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "callgrind-classify: no valgrind" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
ZT_BENCH_ISA=${ZT_BENCH_ISA:-scalar} ZT_BENCH_PAGES=${1:-4096} ZT_BENCH_ONLY=cost valgrind --tool=callgrind --callgrind-out-file="$out" \
	"$bin" >/dev/null 2>&1
# the caller's lines: "IR (..%)  => FILE:FUNCTION (CALLSx)", inclusive
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk '
	/=> .*:(zt_classify|LZ4_compress_default) \(/ {
		ir = $1; gsub(",", "", ir)
		calls = $NF; gsub("[(x,)]", "", calls)
		name = $0; sub(".*:", "", name); sub(" .*", "", name)
		per[name] = ir / calls
	}
	END {
		if (!per["zt_classify"] || !per["LZ4_compress_default"]) { print "callgrind-classify: no counts"; exit 1 }
		printf "instructions/page: classify %.0f, lz4 %.0f: classify = 1/%.1f of lz4\n",
			per["zt_classify"], per["LZ4_compress_default"], per["LZ4_compress_default"] / per["zt_classify"]
	}'
