#!/bin/bash
# tests/vm/ublk-swap.sh: guest half of tests/vm/ublk-swap.t (512 MiB guest).
# A ztier device as the only swap, and a memory hog larger than the guest's
# RAM that verifies what it reads back (stress-ng --vm --verify).  Without
# the server's swap-safety (mlockall, IO_FLUSHER) this hangs: the server's
# own pages get swapped out to itself.  The device's peak swap use is
# printed and must be >= 32 MiB, so the run cannot pass idle.  A hung task
# is reported on the console after 15 s instead of looking like slowness.
set -u
. /mnt/add/ublk-lib.sh
echo 15 >/proc/sys/kernel/hung_task_timeout_secs
check "modprobe ublk_drv" modprobe ublk_drv
# fixtures/swap.conf: text and mixed pages go to the compressed store,
# spill when it is full.
# The store's queue-thread side never commits memory: it takes chunks from
# a committed reserve that a housekeeper thread refills (ublk/store.h,
# Reserve), and an empty reserve sends the page to the spill.  Committing
# on the I/O path livelocked this guest for 10 minutes: a queue thread with
# PF_MEMALLOC_NOIO neither writes to swap in reclaim nor gets OOM-killed.
group "swap on a ztier device"
check "add (depth 32, store 16M, spill on NVMe)" add --policy $fx/swap.conf
check "mkswap" mkswap "$dev"
check "swapon" swapon -p 100 "$dev"
free -m | diag
ram_mb=$(($(sed -n 's/MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024))
hog_mb=$((ram_mb + ram_mb / 4))
t0=$SECONDS
timeout 400 stress-ng --vm 1 --vm-bytes "${hog_mb}M" --vm-keep --verify -t 30 --metrics-brief \
	>/tmp/hog.out 2>&1 &
hog=$! peak=0
while kill -0 $hog 2>/dev/null; do          # the device's peak swap use
	used=$(awk -v d="$(readlink -f "$dev")" '$1 == d { print $4 }' /proc/swaps)
	[ "${used:-0}" -gt $peak ] && peak=$used
	sleep 1
done
wait $hog
check "stress-ng --vm ${hog_mb}M --verify (RAM ${ram_mb}M)" test $? = 0
diag </tmp/hog.out
echo "# stress-ng took $((SECONDS - t0)) s; peak swap use of $dev: $((peak / 1024)) MiB"
check "the hog swapped to the device (peak $((peak / 1024)) MiB >= 32)" test $peak -ge $((32 * 1024))
stats "$id" | diag
# Page writes (all classes), not requests: swap-out merges neighbours into
# requests of up to 128 KiB, so a run with a peak of 40 MiB may make fewer
# than 1000 requests (7.3 under a slow host: failed "writes > 1000").
pages=0
for c in samefill text mixed random; do pages=$((pages + $(get "$id" w_$c))); done
check "pages went through the device ($pages page writes >= half of the peak, $((peak / 4)) pages)" \
	test $pages -ge $((peak / 8))
check "no request failed" test "$(get "$id" errors)" = 0
check "pages went to the store (pages_store > 0)" test "$(get "$id" pages_store)" -gt 0
t0=$SECONDS
check "swapoff (reads every swapped page back)" timeout 300 swapoff "$dev"
echo "# swapoff took $((SECONDS - t0)) s"
check "del" del "$id"
finish
