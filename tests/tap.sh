# tests/tap.sh — the one shell TAP library of the test scripts (sourced;
# POSIX sh), on the host (`. tests/tap.sh` from the repository root) and in
# the test VM (`. /usr/share/ztier-tests/tap.sh`: tests/vm/run puts it
# there in every guest).  tests/tap.h is its C twin.  One counter of tests
# (n), one of failures (failed); each check prints one TAP line and returns
# 0 when it passed, 1 when it failed.
#
#   pass DESC / fail DESC       a result decided by the caller
#   ok DESC 'EXPR'              EXPR evaluated (eval) in the caller's variables
#   check DESC CMD...           CMD run in this shell (it may set variables),
#                               its output kept in $tap_log (shown on failure)
#   is GOT WANT DESC            string equality, both shown on failure
#   like TEXT ERE DESC          TEXT matches the extended regular expression
#   skip DESC [REASON]          an "ok # SKIP" line
#   skip_all REASON             the whole script skips (plan 1..0), exits 0
#   diag TEXT... / diag <FILE   "# " lines
#   done_testing                the plan, and exit 1 when a check failed

n=0
failed=0
# The last check's output; removed by done_testing and skip_all.
tap_log=${TMPDIR:-/tmp}/tap.$$.log

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; return 1; }

diag() {
	if [ $# -gt 0 ]; then printf '%s\n' "$*" | sed 's/^/# /'; else sed 's/^/# /'; fi
}

ok() { # DESC EXPR
	if eval "$2"; then pass "$1"; else fail "$1"; fi
}

check() { # DESC CMD...
	_tap_desc=$1
	shift
	if "$@" >"$tap_log" 2>&1; then pass "$_tap_desc"; else
		fail "$_tap_desc"; tail -n 30 "$tap_log" | diag; return 1; fi
}

is() { # GOT WANT DESC
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; diag "got '$1', want '$2'"; return 1; fi
}

like() { # TEXT ERE DESC
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then pass "$3"; else
		fail "$3"; diag "'$1' does not match /$2/"; return 1; fi
}

skip() { # DESC [REASON]
	n=$((n + 1))
	if [ $# -gt 1 ]; then echo "ok $n - $1 # SKIP $2"; else echo "ok $n # SKIP $1"; fi
}

skip_all() { rm -f "$tap_log"; echo "1..0 # SKIP $1"; exit 0; }

done_testing() {
	rm -f "$tap_log"
	echo "1..$n"
	[ "$failed" = 0 ]
	exit $?
}
