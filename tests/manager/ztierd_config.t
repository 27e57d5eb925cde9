#!/bin/bash
# tests/manager/ztierd_config.t — ztierd refuses to start on a broken
# ztier.conf (ztierd(8): start-up errors are exit status 1 with the message):
# a missing --config file, a directory, a line holding a NUL byte, an unknown
# key.  Nothing is built first (no "ready:" line).  A good file still starts
# and stops cleanly.  Root (ztierd refuses to run otherwise); no zram needed:
# the configuration names no device.
cd "$(dirname "$0")/../.." || exit 1
B=${ZTIER_BUILD:-build/release}/bin
. tests/tap.sh

[ "$(id -u)" = 0 ] || skip_all "needs root (ztierd runs as root only)"
[ -x $B/ztierd ] || skip_all "build ztierd first (make)"

T=$(mktemp -d /tmp/ztierd-conf-t.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/empty"

# ztierd_rc CONF: run ztierd in the foreground on CONF (stopped after 10 s
# if it starts anyway); $rc its status, $T/log its stderr.
ztierd_rc() {
	timeout -s TERM 10 $B/ztierd --foreground --config "$1" --policy-dir "$T/empty" \
		--socket "$T/sock" 2>"$T/log"
	rc=$?
}

# refused NAME CONF MESSAGE: exit 1, MESSAGE logged, never ready.
refused() {
	ztierd_rc "$2"
	ok "$1: exit 1 ($rc)" '[ $rc = 1 ]'
	ok "$1: says '$3'" 'grep -qF -- "$3" "$T/log"'
	ok "$1: not started" '! grep -q "ready:" "$T/log"'
	[ $rc = 1 ] || diag <"$T/log"
}

refused "missing --config" "$T/missing.conf" "$T/missing.conf: No such file or directory"
refused "a directory" "$T/empty" "$T/empty: Is a directory"
printf '[ztierd]\nlog-level = info\0garbage\n' >"$T/nul.conf"
refused "a NUL byte" "$T/nul.conf" "$T/nul.conf:2: line holds a NUL byte"
printf '[ztierd]\ncolour = blue\n' >"$T/key.conf"
refused "an unknown key" "$T/key.conf" "$T/key.conf:2: unknown key 'colour'"

printf '[ztierd]\nlog-level = info\n' >"$T/good.conf"
$B/ztierd --foreground --config "$T/good.conf" --policy-dir "$T/empty" --socket "$T/sock" 2>"$T/log" &
pid=$!
for _ in $(seq 100); do grep -q "ready:" "$T/log" && break; sleep 0.1; done
ok "a good file: ready" 'grep -q "ready: 0 stack(s) up" "$T/log"'
kill -TERM "$pid"; wait "$pid"; rc=$?
ok "a good file: SIGTERM is a clean exit ($rc)" '[ $rc = 0 ]'
[ $failed = 0 ] || diag <"$T/log"
done_testing
