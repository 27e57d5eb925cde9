#!/bin/bash
# tests/manager/zram_maint.t — ztierd's zram maintenance on the real kernel
# (root): a [zram-swap] stack with a loop device as writeback-device, ages of
# 1-2 s and a 1 s interval.  Swapped-out pages left alone are written back
# (bd_stat grows) within the budget, recompression runs; where the kernel
# lacks writeback or recompression, the log says so once and `ztierctl
# status` shows it as the stack's note (this host: no CONFIG_ZRAM_WRITEBACK).
# Status answers while passes run.  The zram and loop devices and the file
# are removed on every exit; nothing we did not create is touched.
cd "$(dirname "$0")/../.." || exit 1
B=${ZTIER_BUILD:-build/release}/bin
. tests/tap.sh

. tests/manager/daemon_needs.sh
command -v losetup >/dev/null || skip_all "losetup not installed"

T=$(mktemp -d /tmp/zram-maint-t.XXXXXX)
export ZTIER_SOCKET=$T/sock
pid="" loop="" hog=""
cleanup() {
	[ -n "$hog" ] && kill "$hog" 2>/dev/null
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && wait "$pid"
	remove_labelled_swaps ztier-ztm      # ours if ztierd could not
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$T"
}
trap cleanup EXIT

# The kernel's algorithms, from a device of our own made for the purpose.
id=$(cat /sys/class/zram-control/hot_add)
algos=$(tr -d '[]' </sys/block/zram$id/comp_algorithm)
echo "$id" >/sys/class/zram-control/hot_remove
primary=$(echo $algos | tr ' ' '\n' | grep -m1 -x -e lz4 -e lzo-rle)
second=$(echo $algos | tr ' ' '\n' | grep -m1 -x -e zstd -e lz4hc -e deflate -e lzo)
diag "algorithms: $algos; primary ${primary:-default}, recompression ${second:-zstd (absent)}"

truncate -s 64M "$T/backing"
loop=$(losetup --find --show "$T/backing") || { loop=""; skip_all "losetup failed"; }
cat >"$T/ztier.conf" <<CONF
[ztierd]
log-level = info
[zram-swap ztm]
size = 64M
priority = 32000
${primary:+algorithm = $primary}
writeback-device = $loop
writeback-idle-age = 2s
writeback-pages = huge_idle idle
writeback-budget = 4M
recompress-algorithm = ${second:-zstd}
recompress-idle-age = 1s
recompress-threshold = 0
maintenance-interval = 1s
maintenance-backoff = 1s
pressure-trigger = off
CONF
mkdir "$T/empty"

wait_log() { # pattern [tenths]: the daemon's log shows it in time
	for _ in $(seq "${2:-200}"); do grep -q -- "$1" "$T/log" && return 0; sleep 0.1; done
	return 1
}

$B/ztierd --foreground --config "$T/ztier.conf" --policy-dir "$T/empty" --socket "$T/sock" 2>"$T/log" &
pid=$!
ok "ztierd starts with maintenance configured" 'wait_log "ready:"'
dev=$(grep -o 'ztm: /dev/zram[0-9]*' "$T/log" | head -1 | cut -d' ' -f2)
ok "the zram stack is up" '[ -b "$dev" ]'
sys=/sys/block/${dev#/dev/}

/usr/bin/python3 tests/manager/pageout.py 16 60 >"$T/hog" & hog=$!
ok "16 MiB swapped out to it" 'for _ in $(seq 100); do grep -q ready "$T/hog" && break; sleep 0.1; done; grep -q ready "$T/hog"'

if [ -e $sys/writeback ]; then
	ok "pages left alone are written back" 'wait_log "wrote back [1-9]" 150'
	read -r count reads writes <$sys/bd_stat
	ok "bd_stat counts them ($writes written), within the 4M budget (1024 pages)" \
		'[ "$writes" -gt 0 ] && [ "$writes" -le 1024 ]'
	ok "the daily budget was granted once" '[ "$(grep -c "writeback budget 1024 pages" "$T/log")" = 1 ]'
else
	ok "no writeback in this kernel: said once in the log" \
		'wait_log "maintenance: no writeback" && [ "$(grep -c "maintenance: no writeback" "$T/log")" = 1 ]'
	ok "and as the stack's status note" '$B/ztierctl status -o +REASON | grep -w ztm | grep -q "no writeback"'
fi
if [ -e $sys/recompress ] && [ -n "$second" ]; then
	ok "idle pages are recompressed" 'wait_log "recompressed idle pages" 100'
else
	ok "no recompression in this kernel: said once in the log" \
		'wait_log "maintenance: no recompression" && [ "$(grep -c "maintenance: no recompression" "$T/log")" = 1 ]'
fi
if [ -e $sys/writeback ] || [ -e $sys/recompress ]; then
	ok "idle marking: by age, or mark-all epochs said once" \
		'! grep -q "no idle ages" "$T/log" || { [ "$(grep -c "no idle ages" "$T/log")" = 1 ] && grep -q "marked every page idle" "$T/log"; }'
else
	ok "nothing to maintain: no idle marking" '! grep -q "marked every page idle" "$T/log"'
fi
json=$($B/ztierctl status --json ztm)
if [ -e $sys/writeback ]; then
	ok "status --json: pages written back, bytes today, budget left" \
		'echo "$json" | grep -q "\"wb_pages\":[1-9]" && echo "$json" | grep -q "\"wb_left\":[0-9]" && echo "$json" | grep -q "\"m_last\":[1-9]"'
	ok "metrics: the writeback counter" '$B/ztierctl metrics | grep -q "^ztier_maint_writeback_pages_total{.*stack=\"ztm\"} [1-9]"'
else
	ok "status --json: what the kernel lacks, no writeback counters" \
		'echo "$json" | grep -q "\"m_lacks\":\"no writeback" && echo "$json" | grep -q "\"wb_pages\":null"'
	ok "metrics: what it lacks as a label of ztier_device_info" \
		'$B/ztierctl metrics | grep "^ztier_device_info{" | grep "stack=\"ztm\"" | grep -q "maint_lacks=\"no writeback"'
fi
diag "status: $(echo "$json" | tr ',' '\n' | grep -E '"(m_last|m_next|idle_marked|wb_pages|wb_today|wb_left|recomp|recomp_saved|m_lacks)"' | tr '\n' ' ')"

# Live reload: a new interval applies to the running device; a new backing
# device is said with FILE:LINE and waits for a rebuild.
sed -i -e 's/^maintenance-interval = 1s/maintenance-interval = 3s/' \
	-e "s|^writeback-device = .*|writeback-device = /dev/ztier-no-such|" "$T/ztier.conf"
wbline=$(grep -n '^writeback-device' "$T/ztier.conf" | cut -d: -f1)
ok "ztierctl reload answers" '$B/ztierctl reload'
ok "the interval is applied live (SIGHUP and reload alike)" 'wait_log "ztm: maintenance applied live: maintenance-interval"'
ok "writeback-device is not: FILE:LINE, until down + up" \
	'grep -q "$T/ztier.conf:$wbline: \[zram-swap ztm\] writeback-device: .* ignored until" "$T/log"'
ok "the device was not rebuilt" '[ -e "$sys" ] && ! grep -q "ztm: zram.* removed" "$T/log"'
sed -i 's/^maintenance-backoff = 1s/maintenance-backoff = 2s/' "$T/ztier.conf"
kill -HUP "$pid"
ok "SIGHUP reloads too" 'wait_log "ztm: maintenance applied live: maintenance-backoff"'
ok "status answers while maintenance runs" 'for _ in 1 2 3 4 5; do $B/ztierctl status >/dev/null || exit 1; sleep 0.3; done'
kill "$hog"; wait "$hog" 2>/dev/null; hog=""
kill -TERM "$pid"; wait "$pid"; r=$?; pid=""
ok "ztierd stops cleanly (exit $r)" '[ "$r" = 0 ]'
ok "its zram device is gone" '[ ! -e "$sys" ]'
grep "ztm:" "$T/log" | sed 's/^/# /'
done_testing
