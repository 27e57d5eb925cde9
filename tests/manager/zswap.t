#!/bin/bash
# tests/manager/zswap.t — ztierd and the kernel's zswap (root, real zswap
# parameters and a real zram swap).  zswap = disable: turned off while the
# swap stack is up, on again when it is down and when ztierd stops, also
# after a kill -9 (the file next to the socket); zswap = keep: left on and
# said once.  Status, --json and metrics show it.  zswap's own setting is
# put back as it was on every exit.
cd "$(dirname "$0")/../.." || exit 1
B=${ZTIER_BUILD:-build/release}/bin
. tests/tap.sh

. tests/manager/daemon_needs.sh
P=/sys/module/zswap/parameters
[ -w $P/enabled ] || skip_all "no zswap in this kernel"

T=$(mktemp -d /tmp/zswap-t.XXXXXX)
export ZTIER_SOCKET=$T/sock
was=$(cat $P/enabled) pid=""
cleanup() {
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && wait "$pid"
	remove_labelled_swaps ztier-zsw      # ours if ztierd could not
	echo "$was" >$P/enabled
	rm -rf "$T"
}
trap cleanup EXIT
mkdir "$T/empty"
conf() { printf '[ztierd]\nlog-level = info\n%s\n[zram-swap zsw]\nsize = 16M\npriority = 10\n' "$1" >"$T/ztier.conf"; }
wait_log() { for _ in $(seq "${2:-100}"); do grep -q -- "$1" "$T/log" && return 0; sleep 0.1; done; return 1; }

conf ""
echo Y >$P/enabled
ok "zswap = disable (the default): ztierd starts" start_logged
ok "zswap is off while the swap stack is up" '[ "$(cat $P/enabled)" = N ]'
ok "said once, with max_pool_percent" '[ "$(grep -c "zswap disabled while ztier.s swap stacks are up (it was enabled, max_pool_percent $(cat $P/max_pool_percent)%" "$T/log")" = 1 ]'
ok "its earlier state kept next to the socket" '[ -e "$T/zswap-was-enabled" ]'
ok "status says so under the table" '$B/ztierctl status | grep -q "^zswap: disabled by ztierd (max_pool_percent [0-9]*%): enabled again when ztierd stops"'
ok "status --json" '$B/ztierctl status --json | grep -q "\"zswap\":{\"enabled\":false,\"max_pool_percent\":[0-9]*,\"action\":\"disabled by ztierd\""'
ok "metrics" '$B/ztierctl metrics | grep -q "^ztier_zswap_disabled_by_ztierd 1"'
ok "the stack down: zswap on again" '$B/ztierctl down zsw >/dev/null && [ "$(cat $P/enabled)" = Y ] && grep -q "zswap enabled again" "$T/log"'
ok "up: off again" '$B/ztierctl up zsw >/dev/null && [ "$(cat $P/enabled)" = N ]'

kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=""
ok "kill -9: zswap stays off, the file stays" '[ "$(cat $P/enabled)" = N ] && [ -e "$T/zswap-was-enabled" ]'
ok "a new ztierd (adopting the swap) starts" start_logged
ok "and does not take zswap's off state for the admin's" '$B/ztierctl status | grep -q "^zswap: disabled by ztierd"'
kill -TERM "$pid"; wait "$pid"; r=$?; pid=""
ok "it stops cleanly (exit $r)" '[ "$r" = 0 ]'
ok "and turns zswap on again, as it was before the first ztierd" '[ "$(cat $P/enabled)" = Y ] && [ ! -e "$T/zswap-was-enabled" ]'

: >"$T/log"
conf "zswap = keep"
ok "zswap = keep: ztierd starts" start_logged
ok "zswap stays on" '[ "$(cat $P/enabled)" = Y ]'
ok "what it means is said once" '[ "$(grep -c "zswap is enabled (max_pool_percent [0-9]*%; zswap = keep): the swap stacks see only what it rejects or writes back" "$T/log")" = 1 ]'
ok "status: kept" '$B/ztierctl status | grep -q "^zswap: kept (max_pool_percent [0-9]*%): the swap stacks see only"'
ok "a reload does not say it again" '$B/ztierctl reload >/dev/null && [ "$(grep -c "zswap = keep" "$T/log")" = 1 ]'
kill -TERM "$pid"; wait "$pid"; pid=""
ok "zswap still on after stop" '[ "$(cat $P/enabled)" = Y ]'

printf '[ztierd]\nzswap = sometimes\n' >"$T/bad.conf"
out=$($B/ztierctl config check "$T/bad.conf" 2>&1)
like "$out" "bad.conf:2: zswap 'sometimes': expected disable" "a bad zswap value: FILE:LINE"
done_testing
