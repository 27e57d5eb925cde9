#!/bin/bash
# tests/bench/callgrind-readpath.sh [PAGES]: instructions per page of the
# server's read of a store page (b_readpath's bench_read_page: peek, lock,
# decompress, unlock), of the decompression alone and of the write's
# compression, over PAGES pages (default 4096) spread over the corpus, with
# the default policy ($ZT_POLICY for another), counted by callgrind: unlike
# time, the same on every run.  Needs the release build of b_readpath (make
# bench builds it) and the corpus (build/vm/corpus.bin, or $ZT_CORPUS).
set -eu
. "$(dirname "$0")/callgrind-lib.sh"
callgrind_calls callgrind-readpath build/release/tests/bench/b_readpath.t \
	ZT_BENCH_PAGES="${1:-4096}" | awk '
	/=> .*:(bench_read_page|zu_codec_decompress|zu_codec_compress) \(/ {
		ir = $1; gsub(",", "", ir)
		calls = $NF; gsub("[(x,)]", "", calls)
		name = $0; sub(".*:", "", name); sub(" .*", "", name)
		ir_of[name] += ir; calls_of[name] += calls
	}
	END {
		if (!calls_of["bench_read_page"] || !calls_of["zu_codec_compress"]) { print "callgrind-readpath: no counts"; exit 1 }
		printf "instructions/page (every stored page, all classes): read %.0f, of which decompress %.0f; write compress %.0f\n",
			ir_of["bench_read_page"] / calls_of["bench_read_page"],
			ir_of["zu_codec_decompress"] / calls_of["zu_codec_decompress"],
			ir_of["zu_codec_compress"] / calls_of["zu_codec_compress"]
	}'
