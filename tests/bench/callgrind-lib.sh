# tests/bench/callgrind-lib.sh: sourced by the callgrind-*.sh scripts.
# callgrind_calls NAME BIN [ENV=VALUE...]: runs BIN (a release benchmark,
# make bench builds it) under callgrind with those variables and prints
# its callers' lines, "IR (..%)  => FILE:FUNCTION (CALLSx)", inclusive.
callgrind_calls() {
	local name=$1 bin=$2 out
	shift 2
	[ -x "$bin" ] || { echo "$name: build $bin first (make bench)" >&2; return 1; }
	command -v valgrind >/dev/null || { echo "$name: no valgrind" >&2; return 1; }
	out=$(mktemp)
	env "$@" valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1 || true
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null
	rm -f "$out"
}
