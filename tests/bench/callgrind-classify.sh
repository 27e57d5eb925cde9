#!/bin/bash
# tests/bench/callgrind-classify.sh [PAGES]: instructions per page of
# zt_classify and LZ4_compress_default on PAGES pages (default 4096) spread
# over the corpus, counted by callgrind: unlike time, the same on every run.
# The classifier's paths go up to $ZT_BENCH_ISA, scalar unless set (avx2
# also runs under valgrind; avx512 does not: valgrind has no AVX-512).
# Needs the release build of b_corpus (make bench builds it) and the corpus
# (build/vm/corpus.bin, or $ZT_CORPUS).
set -eu
. "$(dirname "$0")/callgrind-lib.sh"
callgrind_calls callgrind-classify build/release/tests/bench/b_corpus.t \
	ZT_BENCH_ISA="${ZT_BENCH_ISA:-scalar}" ZT_BENCH_PAGES="${1:-4096}" ZT_BENCH_ONLY=cost | awk '
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
