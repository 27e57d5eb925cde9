#!/bin/bash
# tests/manager/page_cluster.t — ztierd and vm.page-cluster (root, a real
# zram swap stack; manager/daemon_pagecluster.c).  page-cluster = N: set
# while a swap stack is up, put back when none is and when ztierd stops,
# also after a kill -9 (the file next to the socket); keep (the default):
# never touched.  The sysctl is put back as it was on every exit.
cd "$(dirname "$0")/../.." || exit 1
B=${ZTIER_BUILD:-build/release}/bin
. tests/tap.sh

. tests/manager/daemon_needs.sh
PC=/proc/sys/vm/page-cluster
[ -w $PC ] || skip_all "cannot write $PC"

T=$(mktemp -d /tmp/pagecluster-t.XXXXXX)
export ZTIER_SOCKET=$T/sock
was=$(cat $PC) pid=""
cleanup() {
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && wait "$pid"
	remove_labelled_swaps ztier-pcl      # ours if ztierd could not
	echo "$was" >$PC
	rm -rf "$T"
}
trap cleanup EXIT
mkdir "$T/empty"
conf() { printf '[ztierd]\nlog-level = info\n%s\n[zram-swap pcl]\nsize = 16M\npriority = 10\n' "$1" >"$T/ztier.conf"; }

echo 3 >$PC
conf "page-cluster = 1"
ok "page-cluster = 1: ztierd starts" start_logged
ok "vm.page-cluster is 1 while the swap stack is up" '[ "$(cat $PC)" = 1 ]'
ok "said once, with the value it replaced" '[ "$(grep -c "vm.page-cluster 3 -> 1 while ztier.s swap stacks are up (page-cluster = 1); 3 again when ztierd stops" "$T/log")" = 1 ]'
ok "the earlier value kept next to the socket" '[ "$(cat "$T/page-cluster-was")" = 3 ]'
ok "the stack down: 3 again" '$B/ztierctl down pcl >/dev/null && [ "$(cat $PC)" = 3 ] && [ ! -e "$T/page-cluster-was" ]'
ok "up: 1 again" '$B/ztierctl up pcl >/dev/null && [ "$(cat $PC)" = 1 ]'

kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=""
ok "kill -9: the value stays, and so does the file" '[ "$(cat $PC)" = 1 ] && [ "$(cat "$T/page-cluster-was")" = 3 ]'
ok "a new ztierd (adopting the swap) starts" start_logged
kill -TERM "$pid"; wait "$pid"; r=$?; pid=""
ok "it stops cleanly (exit $r) and puts back the value from before the first ztierd" '[ "$r" = 0 ] && [ "$(cat $PC)" = 3 ] && [ ! -e "$T/page-cluster-was" ]'

: >"$T/log"
echo 2 >$PC
conf ""
ok "page-cluster unset (keep): ztierd starts" start_logged
ok "vm.page-cluster untouched, nothing said" '[ "$(cat $PC)" = 2 ] && ! grep -q "vm.page-cluster" "$T/log"'
kill -TERM "$pid"; wait "$pid"; pid=""

printf '[ztierd]\npage-cluster = 40\n' >"$T/bad.conf"
out=$($B/ztierctl config check "$T/bad.conf" 2>&1)
like "$out" "bad.conf:2: page-cluster '40': expected keep or 0..31" "a bad value: FILE:LINE"
done_testing
