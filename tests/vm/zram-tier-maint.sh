#!/bin/bash
# tests/vm/zram-tier-maint.sh (guest, run by tests/vm/zram-tier-maint.t):
# ztierd keeps a ztier device's own zram tier as it keeps a [zram-swap]
# (issue #15).  An [fs] policy sends text pages to the zram tier, with a
# loop device as writeback-device, writeback-idle-age 10 s and a 2 s
# interval; a 16 MiB file of text-like pages is written (O_DIRECT) on the
# ext4 ztierd makes, and its first 1 MiB (256 pages) is read (O_DIRECT:
# through the server, a zram read) every 3 s while the rest is left alone.
# Pass: the tier's zram device was made with the backing device (a
# dm-crypt mapping over the loop device); bd_stat grows and mm_stat's
# compressed bytes shrink; reading the 256 pages read meanwhile reads
# nothing from the backing device (bd_stat's reads stay) while reading the
# rest does (one read per page left alone); status --json and the metrics
# show the figures on the device's row; the file reads back bit-exact
# (from zram and the backing device); ztierd's stop leaves no zram device
# and no mapping.  A kernel without writeback: said once, in the log and
# in status.  About 60 s.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:$PATH
. /usr/share/ztier-tests/tap.sh

if [ "${ZTIER_INSTALL:-}" != ok ] || ! command -v ztierd >/dev/null; then
	skip_all "ztier is not installed in the guest (ZTIER_INSTALL=${ZTIER_INSTALL:-})"
fi
modprobe ublk_drv 2>/dev/null
modprobe zram num_devices=0 2>/dev/null
modprobe loop 2>/dev/null
T=/tmp/zram-tier-maint
mkdir -p $T/policy.d $T/mnt
export ZTIER_SOCKET=$T/sock
diag "kernel $(uname -r)"

truncate -s 64M $T/backing
loop=$(losetup --find --show $T/backing)
check "a loop device for writeback ($loop)" test -b "$loop"
cat >$T/ztier.conf <<CONF
[ztierd]
log-level = info
CONF
cat >$T/policy.d/zt.conf <<POLICY
[samefill]
tier = meta
[text]
tier = zram
fallback = store
[mixed]
tier = store
[random]
tier = store
[device]
size = 64M
memory-limit = 16M
[zram]
algorithm = lz4
size = 64M
[spill]
target = none
[fs]
type = ext4
mount-point = $T/mnt
[maintenance]
writeback-device = $loop
writeback-idle-age = 10s
writeback-pages = idle
writeback-budget = 64M
recompress-algorithm = none
maintenance-interval = 2s
maintenance-backoff = 1s
POLICY
wait_log() { for _ in $(seq "${2:-200}"); do grep -q -- "$1" $T/log && return 0; sleep 0.1; done; return 1; }
# zram's figures: field N of mm_stat / bd_stat.
mm() { awk -v n="$1" '{ print $n }' "$sys/mm_stat"; }
bd() { awk -v n="$1" '{ print $n }' "$sys/bd_stat" 2>/dev/null; }

ztierd --foreground --config $T/ztier.conf --policy-dir $T/policy.d --socket $T/sock 2>$T/log &
pid=$!
check "ztierd starts" wait_log "ready:" 600
dev=$(grep -o 'zt: /dev/ublkb[0-9]* live' $T/log | head -1 | cut -d' ' -f2)
check "the ztier device is up ($dev)" test -b "$dev"
zdev=$(ztier-ublk list | awk '$1 == "zram" { print $2; exit }')
sys=/sys/block/${zdev#/dev/}
check "its zram tier is published ($zdev)" test -d "$sys"

check "its file system is mounted on $T/mnt" mountpoint -q $T/mnt
# 16 MiB of text-like pages (fio's 75% compressible buffers), kept to compare.
fio --name=d --filename=$T/data --rw=write --bs=1M --size=16M --refill_buffers \
	--buffer_compress_percentage=75 --output=/dev/null
zpages0=$(ztier-ublk list | awk '$1 == "pages" { print $7; exit }')
check "a 16 MiB file written (O_DIRECT)" dd if=$T/data of=$T/mnt/data bs=1M oflag=direct status=none
sleep 1                                     # the server's stats: every 200 ms
zpages=$(ztier-ublk list | awk '$1 == "pages" { print $7; exit }')
check "its text pages went to the zram tier ($zpages0 -> $zpages pages)" \
	test "$((zpages - zpages0))" -ge 3584
# The file's first 256 pages are read every 3 s from now on: never 10 s idle.
subset() { dd if=$T/mnt/data of=/dev/null bs=4k count=256 iflag=direct status=none; }
( while :; do subset; sleep 3; done ) &
reader=$!
compr0=$(mm 2)

if [ -e "$sys/writeback" ] && ! grep -q 'zt: maintenance: no writeback' $T/log; then
	bdev=$(cat "$sys/backing_dev")
	check "the tier's backing device is a dm-crypt mapping over $loop ($bdev)" \
		sh -c "dmsetup table | grep -q 'crypt aes-xts-plain64' && case '$bdev' in /dev/mapper/ztier-*|/dev/dm-*) true ;; *) false ;; esac"
	cwb=$(cat "$sys/compressed_writeback" "$sys/writeback_compressed" 2>/dev/null | head -n 1)
	if [ -n "$cwb" ]; then
		check "compressed writeback on ($cwb; 7.0+)" test "$cwb" = 1
	else
		skip "compressed writeback" "this kernel's zram has none"
	fi
	check "pages left alone are written back" wait_log "zt: wrote back [1-9]" 400
	# Settle: every page left alone is written back within an age and a
	# pass or two; wait until bd_stat stops growing over two passes.
	last=-1
	for _ in $(seq 30); do
		now=$(bd 1)
		[ "$now" = "$last" ] && break
		last=$now
		sleep 5
	done
	wb=$(bd 1)
	compr1=$(mm 2)
	diag "zram pages $zpages, bd_stat count $wb, compressed $compr0 -> $compr1 bytes"
	check "bd_stat grew ($wb pages on the backing device)" test "${wb:-0}" -ge 3584
	check "mm_stat's compressed bytes shrank ($compr0 -> $compr1)" test "$compr1" -lt "$compr0"
	# A page written back is read from the backing device (bd_stat's
	# reads); one still in zram is not.
	r0=$(bd 2); subset; r1=$(bd 2)
	check "the 256 pages read meanwhile were not written back (bd reads $r0 -> $r1)" \
		test "$r1" = "$r0"
	dd if=$T/mnt/data of=/dev/null bs=4k skip=256 iflag=direct status=none; r2=$(bd 2)
	# (up to 64 more: ext4 may read an extent block it no longer caches)
	check "the pages left alone were ($((r2 - r1)) of 3840 read from the backing device)" \
		test "$((r2 - r1))" -ge 3584 -a "$((r2 - r1))" -le 3904
	json=$(ztierctl status --json zt)
	diag "status: $(echo "$json" | tr ',' '\n' | grep -E '"(m_last|m_next|idle_marked|wb_pages|wb_today|wb_left|m_lacks)"' | tr '\n' ' ')"
	# its zram device's row ("tier of ublkbN") has no figures of its own
	wbp=$(echo "$json" | grep -o '"wb_pages":[0-9][0-9]*' | head -1 | cut -d: -f2)
	wb=$(bd 3)                              # writes, after the status
	check "status --json on the device's row: wb_pages ($wbp) <= bd_stat's writes ($wb)" \
		test -n "$wbp" -a "${wbp:-0}" -gt 0 -a "${wbp:-0}" -le "$wb"
	check "metrics: ztier_maint_writeback_pages_total for stack zt" \
		sh -c "ztierctl metrics | grep -q '^ztier_maint_writeback_pages_total{.*stack=\"zt\"} [1-9]'"
else
	sleep 15
	check "no writeback here: said once" test "$(grep -c 'zt: maintenance: no writeback' $T/log)" = 1
	check "and in status" sh -c "ztierctl status --json zt | grep -q 'no writeback'"
fi
kill $reader; wait $reader 2>/dev/null
check "the file reads back bit-exact" cmp <(dd if=$T/mnt/data bs=1M iflag=direct status=none) $T/data
check "status answers meanwhile" ztierctl status
kill -TERM $pid; wait $pid; r=$?
check "ztierd stops cleanly (exit $r)" test "$r" = 0
check "its zram tier is gone" test ! -e "$sys"
check "and the backing device's mapping" sh -c "! dmsetup ls 2>/dev/null | grep -q '^ztier-'"
losetup -d "$loop"
grep -E "zt:|ztier-ublk" $T/log | sed 's/^/# /'
done_testing
