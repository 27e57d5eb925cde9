# tests/tap.sh — the one shell TAP library of the host test scripts (sourced;
# POSIX sh).  tests/tap.h is its C twin.  One counter of tests (n), one of
# failures (failed); each check prints one TAP line.
#
#   pass DESC / fail DESC       a result decided by the caller
#   ok DESC 'EXPR'              EXPR evaluated (eval) in the caller's variables
#   check DESC CMD...           CMD run, its output shown as diagnostics on failure
#   is GOT WANT DESC            string equality, both shown on failure
#   like TEXT ERE DESC          TEXT matches the extended regular expression
#   skip DESC                   an "ok # SKIP" line
#   skip_all REASON             the whole script skips (plan 1..0), exits 0
#   diag TEXT... / diag <FILE   "# " lines
#   done_testing                the plan, and exit 1 when a check failed
#
# The guest scripts of tests/vm cannot source it yet: the VM bed ships only
# what tests/vm/*.t add to the guest (see the report of issue #9).

n=0
failed=0

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

diag() {
	if [ $# -gt 0 ]; then printf '%s\n' "$*" | sed 's/^/# /'; else sed 's/^/# /'; fi
}

ok() { # DESC EXPR
	if eval "$2"; then pass "$1"; else fail "$1"; fi
}

check() { # DESC CMD...
	_tap_desc=$1
	shift
	if _tap_out=$("$@" 2>&1); then pass "$_tap_desc"; else
		fail "$_tap_desc"; printf '%s\n' "$_tap_out" | tail -n 30 | diag; fi
}

is() { # GOT WANT DESC
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; diag "got '$1', want '$2'"; fi
}

like() { # TEXT ERE DESC
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then pass "$3"; else
		fail "$3"; diag "'$1' does not match /$2/"; fi
}

skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }

skip_all() { echo "1..0 # SKIP $1"; exit 0; }

done_testing() {
	echo "1..$n"
	[ "$failed" = 0 ]
	exit $?
}
