#!/bin/bash
# tests/manager/messages.t — what a newcomer reads: every program's --help
# (and each subcommand's) exits 0 on stdout; ztierd on a kernel without
# ublk_drv says so in one short line, counts the ztier device as
# "unavailable" (not "failed") in its ready line, and says where it looked
# for a ztier.conf it did not find.  Under a Type=notify unit it tells
# systemd READY=1, STATUS= and STOPPING=1 (a socat datagram socket stands
# in for systemd's $NOTIFY_SOCKET).
cd "$(dirname "$0")/../.." || exit 1
B=${ZTIER_BUILD:-build/release}/bin
. tests/tap.sh

[ -x $B/ztierd ] && [ -x $B/ztierctl ] && [ -x $B/ztier-ublk ] || skip_all "build first (make)"
T=$(mktemp -d /tmp/ztier-msg.XXXXXX)
pid="" spid=""
cleanup() {
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && wait "$pid"
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

help_ok() { # PROGRAM ARGS...: exit 0, usage on stdout, nothing on stderr
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	[ $rc = 0 ] && [ -s "$T/out" ] && [ ! -s "$T/err" ] || { diag "$* -> $rc: $(head -c 300 "$T/err")"; return 1; }
}
for a in "--help" "-h"; do
	ok "ztierd $a" "help_ok $B/ztierd $a"
	ok "ztier-ublk $a" "help_ok $B/ztier-ublk $a"
	ok "ztierctl $a" "help_ok $B/ztierctl $a"
done
ok "ztier-ublk help" "help_ok $B/ztier-ublk help"
for c in add del recover features list; do
	ok "ztier-ublk $c --help" "help_ok $B/ztier-ublk $c --help"
done
for c in $($B/ztierctl --help | awk '/^Commands:/ {on = 1; next} on && !NF {exit} on {print $1}'); do
	ok "ztierctl $c --help" "help_ok $B/ztierctl $c --help"
	ok "ztierctl help $c" "help_ok $B/ztierctl help $c"
done
ok "ztierctl policy check --help" "help_ok $B/ztierctl policy check --help"
ok "ztierctl help --help" "help_ok $B/ztierctl help --help"
$B/ztier-ublk bogus >/dev/null 2>&1
is "$?" 2 "ztier-ublk: a usage error exits 2"

if [ "$(id -u)" != 0 ]; then
	skip "ztierd: needs root"; done_testing; exit
fi
if [ -e /dev/ublk-control ]; then
	skip "this kernel has ublk_drv: the no-ublk messages do not apply"; done_testing; exit
fi
# No zram swap (nothing is built on the host), one ztier device.
printf '[ztierd]\nlog-level = info\n' >"$T/ztier.conf"
mkdir "$T/policy.d" "$T/empty"
cp policy/examples/default.conf "$T/policy.d/"
$B/ztierd --foreground --config "$T/ztier.conf" --policy-dir "$T/policy.d" --socket "$T/sock" 2>"$T/log" &
pid=$!
for _ in $(seq 100); do grep -q "ready:" "$T/log" && break; sleep 0.1; done
diag <"$T/log"
line=$(grep "no ublk_drv" "$T/log")
ok "no ublk_drv: one line" '[ "$(grep -c "no ublk_drv" "$T/log")" = 1 ]'
ok "it says what is built instead, in under 100 characters (${#line})" \
	'[[ $line == *"): 1 ztier device(s) unavailable, zram swap only" ]] && [ ${#line} -lt 100 ]'
ok "ready: the device is unavailable, not failed" \
	'grep -q "ready: 0 stack(s) up, 1 unavailable in this kernel;" "$T/log" && ! grep -q "failed" "$T/log"'
kill -TERM "$pid"; wait "$pid"; pid=""

# Without --config: where it looked.
if [ -e /etc/ztier/ztier.conf ] || [ -e /usr/local/share/ztier/ztier.conf ]; then
	skip "a ztier.conf is installed on this host"
else
	if command -v socat >/dev/null; then
		socat -u UNIX-RECV:"$T/notify" OPEN:"$T/notified",creat,append &
		spid=$!
		for _ in $(seq 50); do [ -S "$T/notify" ] && break; sleep 0.1; done
	fi
	NOTIFY_SOCKET=$T/notify $B/ztierd --foreground --policy-dir "$T/empty" --socket "$T/sock" 2>"$T/log2" &
	pid=$!
	for _ in $(seq 100); do grep -q "ready:" "$T/log2" && break; sleep 0.1; done
	kill -TERM "$pid"; wait "$pid"; pid=""
	diag <"$T/log2"
	if [ -n "$spid" ]; then
		sleep 0.2
		{ tr '\n' ' ' <"$T/notified"; echo; } | diag
		ok "sd_notify: STATUS= summary, READY=1, then STOPPING=1" \
			'tr "\n" " " <"$T/notified" | grep -q "STATUS=0 stack(s) up.*READY=1.*STOPPING=1"'
	else
		skip "sd_notify: socat not installed"
	fi
	ok "no ztier.conf: it names where it looked" \
		'grep -q "no ztier.conf: neither /etc/ztier/ztier.conf nor /usr/.*/ztier.conf exists" "$T/log2"'
	ok "no policy: it names the directory" 'grep -q "no policy (NAME.conf) in $T/empty" "$T/log2"'
fi
done_testing
