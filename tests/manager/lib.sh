# lib.sh — the ztierctl end-to-end scripts' helpers (sourced): the TAP
# functions of tests/tap.sh, and running ztierctl.
#
# The scripts run from the repository root (prove does) and test the
# release binary as installed users run it.
. tests/tap.sh

ZTIERCTL=${ZTIERCTL:-build/release/bin/ztierctl}
[ -x "$ZTIERCTL" ] || skip_all "$ZTIERCTL not built (run make)"

T=$(mktemp -d /tmp/zt-manager.XXXXXX)
trap 'rm -rf "$T"' EXIT

# run ARGS...: runs ztierctl, keeps stdout in $out, stderr in $err, status in $rc.
run() {
	"$ZTIERCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}


# json_num KEY: the first "KEY":number in $out.
json_num() {
	printf '%s' "$out" | grep -o "\"$1\":[0-9.]*" | head -n1 | cut -d: -f2
}

# lines TEXT: number of lines in TEXT (0 for empty).
lines() {
	if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l | tr -d ' '; fi
}

