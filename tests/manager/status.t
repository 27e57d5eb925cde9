#!/bin/sh
# ztierctl status with zramctl's options on real host zram devices (hot_add):
# -o, --raw, --noheadings, --bytes, a DEVICE argument, other tools' idle
# devices hidden unless --all, and the non-root message.  Needs root and
# /sys/class/zram-control (kernel zram); removes what it adds.
. tests/manager/lib.sh

[ "$(id -u)" = 0 ] || skip_all "needs root (hot_add)"
[ -w /sys/class/zram-control/hot_add ] || skip_all "no zram-control (zram module not loaded)"
used=$(cat /sys/class/zram-control/hot_add) || skip_all "hot_add failed"
idle=$(cat /sys/class/zram-control/hot_add) || skip_all "hot_add failed"
cleanup() {
	for id in $used $idle; do
		echo 1 >/sys/block/zram$id/reset 2>/dev/null
		echo "$id" >/sys/class/zram-control/hot_remove 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
echo 64M >/sys/block/zram$used/disksize || skip_all "zram$used: cannot set disksize"

run status --raw --noheadings --bytes -o NAME,DISKSIZE,STATE zram$used
is "$rc:$out" "0:zram$used 67108864 init" "--raw --noheadings --bytes -o NAME,DISKSIZE,STATE zramN"
run status -o name,disksize /dev/zram$used
is "$out" "NAME$(printf '%*s' $((${#used} + 1)) '')DISKSIZE
zram$used      64M" "-o (any case) and /dev/zramN: header, widths from the content"
run status
like "$out" "zram$used " "status: an initialized zram device is shown"
case $out in *"zram$idle "*) fail "status: another tool's idle zram$idle is hidden" ;;
*) pass "status: another tool's idle zram$idle is hidden" ;; esac
run status --all
like "$out" "zram$idle .* idle( |$)" "status --all: the idle device too"
run status zram$idle
like "$out" "^zram$idle " "status zramN: an idle device when named"
run status no-such-device
is "$rc:$err" "1:ztierctl: no device or stack 'no-such-device'" "an unknown DEVICE|STACK: exit 1"
run status -o NAME,COLOUR
is "$rc" 2 "-o with an unknown column: usage error"
like "$err" "unknown column 'COLOUR'" "  named"

# A caller who may not reach the daemon's socket is told why (not EACCES).
mkdir -m 0700 "$T/root-only"
chmod a+rx "$T"
if command -v setpriv >/dev/null; then
	ZTIER_SOCKET=$T/root-only/ztierd.sock setpriv --reuid=nobody --regid=nogroup \
		--clear-groups "$ZTIERCTL" status zram$used >"$T/out" 2>"$T/err"
	rc=$?
	is "$rc" 0 "non-root status: exit 0"
	like "$(cat "$T/err")" "^ztierctl: ztierd's stacks need root \($T/root-only/ztierd.sock is root's\): showing the kernel's devices only$" \
		"non-root status: told the daemon's stacks need root"
	like "$(cat "$T/out")" "^zram$used " "non-root status: the kernel's devices still shown"
else
	skip "no setpriv"; skip "no setpriv"; skip "no setpriv"
fi
done_testing
