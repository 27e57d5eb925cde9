#!/bin/bash
# tests/manager/adopt_fs.t — ztierd started while an [fs] stack's device is
# still mounted on the policy's mount point (what a killed ztierd leaves):
# an [fs] stack has no state to be adopted by, so the stack fails with one
# log line naming the device and the way out, and nothing is built over it
# (manager/daemon_adopt_fs.c).  The host has no ublk: a tmpfs whose source
# is named /dev/ublkb97 stands in for the device in /proc/self/mountinfo;
# the real one is tests/vm/manager.sh's "ztierd killed with an [fs] stack".
cd "$(dirname "$0")/../.." || exit 1
B=${ZTIER_BUILD:-build/release}/bin
. tests/tap.sh

. tests/manager/daemon_needs.sh

T=$(mktemp -d /tmp/adopt-fs-t.XXXXXX)
export ZTIER_SOCKET=$T/sock
pid=""
cleanup() {
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && wait "$pid"
	mountpoint -q "$T/mnt" && umount "$T/mnt"
	rm -rf "$T"
}
trap cleanup EXIT

wait_log() { # pattern: up to 20 s for the daemon's log to show it
	for _ in $(seq 200); do grep -q -- "$1" "$T/log" && return 0; kill -0 "$pid" 2>/dev/null || return 1; sleep 0.1; done
	return 1
}

mkdir "$T/policy.d" "$T/mnt"
printf '[ztierd]\nlog-level = info\n' >"$T/ztier.conf"
sed -e 's/^name = spilly/name = ztt-kept/' -e 's/^tier = spill/tier = store/' -e '/^\[spill\]/,/^target/d' \
    -e "s|/mnt/spilly|$T/mnt|" tests/vm/fixtures/manager/policy.d/60-spilly.conf >"$T/policy.d/70-kept.conf"
mount -t tmpfs -o size=64k /dev/ublkb97 "$T/mnt" || skip_all "cannot mount a tmpfs"

$B/ztierd --foreground --config "$T/ztier.conf" --policy-dir "$T/policy.d" --socket "$T/sock" 2>"$T/log" &
pid=$!
ok "ztierd starts and reports ready" 'wait_log "ready:"'
diag <"$T/log"
ok "the stack is refused in one line naming the device and the way out" \
	'[ "$(grep -c "ztt-kept: not building a second device: /dev/ublkb97 is mounted on $T/mnt; no state to adopt it: umount it, '"'"'ztier-ublk del 97'"'"', then '"'"'ztierctl up ztt-kept'"'"'" "$T/log")" = 1 ]'
raw() { printf 'status\n' | socat - UNIX-CONNECT:$T/sock | grep "^ztt-kept	"; }
raw | diag
ok "status: ztt-kept failed, with the reason" 'raw | grep -q "	failed	.*ztier-ublk del 97"'
ok "nothing was mounted over it" '[ "$(grep -c " $T/mnt " /proc/self/mounts)" = 1 ] && grep -q "^/dev/ublkb97 $T/mnt tmpfs" /proc/self/mounts'
umount "$T/mnt"
$B/ztierctl up ztt-kept >/dev/null 2>&1
raw | diag
ok "once it is gone, up goes on to build (no ublk here: it says so)" 'raw | grep -q "no ublk_drv"'
ok "still one refusal line" '[ "$(grep -c "ztt-kept: not building a second device" "$T/log")" = 1 ]'
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
ok "SIGTERM: ztierd exits (rc $rc)" '[ $rc = 0 ]'
done_testing
