# lib.sh — TAP helpers for the ztierctl end-to-end scripts (sourced).
#
# The scripts run from the repository root (prove does) and test the
# release binary as installed users run it.  Each check prints one TAP
# line; done_testing prints the plan and sets the exit status.

ZTIERCTL=${ZTIERCTL:-build/release/bin/ztierctl}
if [ ! -x "$ZTIERCTL" ]; then
	echo "1..0 # SKIP $ZTIERCTL not built (run make)"
	exit 0
fi

T=$(mktemp -d /tmp/zt-manager.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0
failed=0

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
diag() { echo "# $*"; }

# run ARGS...: runs ztierctl, keeps stdout in $out, stderr in $err, status in $rc.
run() {
	"$ZTIERCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

is() { # got want name
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; diag "got '$1', want '$2'"; fi
}

like() { # text pattern(grep -E) name
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then pass "$3"; else
		fail "$3"; diag "'$1' does not match /$2/"; fi
}

# json_num KEY: the first "KEY":number in $out.
json_num() {
	printf '%s' "$out" | grep -o "\"$1\":[0-9.]*" | head -n1 | cut -d: -f2
}

# lines TEXT: number of lines in TEXT (0 for empty).
lines() {
	if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l | tr -d ' '; fi
}

done_testing() {
	echo "1..$n"
	[ "$failed" = 0 ]
	exit $?
}
