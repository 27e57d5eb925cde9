#!/bin/bash
# tests/vm/ublk-demote.sh: age-based demotion (issue #15 part 3) on the real
# driver.  A --state device (2 queues) with writeback-idle-age 3 s: pages
# fio wrote and left alone move from the store to spill (kept compressed),
# a verify-only pass reads them back bit-exact and promotes them; then the
# server is killed with -9 while demotion is moving pages, recovered, and
# everything fio wrote verifies again.  ~15 s of guest time.
. /mnt/add/ublk-lib.sh

check "modprobe ublk_drv" modprobe ublk_drv || { done_testing; exit 1; }
group "demotion: idle store pages move to spill and come back"
mkdir -p /run/ztier
st=/run/ztier/demote-test.state
{ sed '/^\[device\]/a queues = 2' $fx/tiered.conf; printf '[maintenance]\nwriteback-idle-age = 3\n'; } >/tmp/demote.conf
check "add with --state, idle age 3 s" add --policy /tmp/demote.conf --state "$st"
# fio_region OFF MODE: 4M of compressible data (the store takes it) at OFF;
# MODE write (then no read) or verify (read back, crc32c).
fio_region() {
	local mode=(--do_verify=0)
	[ "$2" = verify ] && mode=(--verify_only=1)
	# shellcheck disable=SC2046
	fio --name=d --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --iodepth=16 --offset="$1" --size=4M "${mode[@]}" \
		--verify_fatal=1 --verify_state_save=0 $(fio_data text) --randseed=$((${1%M} + 1)) \
		--eta=never --output=/tmp/fio-d.out || { tail -n 20 /tmp/fio-d.out | diag; return 1; }
}
check "write 4M of text at 0 (no read)" fio_region 0M write
s0=$(get "$id" store_pages)
# Demoted after 3 to 4 s without a read (a pass every second).
wait_demoted() { local i; for i in $(seq 80); do local d; d=$(get "$id" demoted); [ "${d:-0}" -ge "$1" ] && return 0; sleep 0.1; done; get "$id" demoted; return 1; }
check "store pages idle 3 s move to spill (store held $s0 pages)" wait_demoted $((s0 * 9 / 10))
diag "demoted $(get "$id" demoted) pages, $(get "$id" demoted_bytes) bytes stored; store now $(get "$id" store_pages) pages, spill $(get "$id" spill_used) slots"
check "the store gave them up" test "$(get "$id" store_pages)" -lt $((s0 / 10 + 1))
check "a verify-only read of them: 0 mismatches" fio_region 0M verify
check "the reads promoted them back ($(get "$id" promoted))" wait_stat "$id" promoted -gt $((s0 / 2))

group "demotion: kill -9 while pages move, recover, verify"
quiesced() { local i; for i in $(seq 100); do [ "$(get "$id" state)" = QUIESCED ] && return 0; sleep 0.1; done; return 1; }
check "write 4M more at 8M" fio_region 8M write
d0=$(get "$id" demoted)
wait_demoted $((d0 + 50)) >/dev/null
spid=$(get "$id" pid)
kill -9 "$spid"
check "killed server $spid while it demoted ($(( $(get "$id" demoted) - d0 )) moved); recovered" \
	eval "quiesced && timeout 60 ztier-ublk recover $id >/tmp/rec.out 2>&1 || { diag </tmp/rec.out; false; }"
check "the second region verifies after the recovery" fio_region 8M verify
check "the first region too" fio_region 0M verify
check "demotion runs again in the new server" wait_demoted 1

check "del" del "$id"
check "del removed the state file" test ! -e "$st"

group "sub-page writes to demoted pages: read on the ring, not under the lock"
# A 512 B write to a page kept compressed on the spill is a read-modify-
# write (tiered_rmw.c) whose read of the slot goes on the queue's ring like
# any block-tier read: the bytes the server reads with syscalls
# (/proc/PID/io rchar: eventfds and the like, 8 bytes a read) stay far under
# the 1 MiB that a pread of each page's slot under the lock made.  (A swap
# device's encrypted spill is served synchronously by design, ztu_blk_encrypt:
# the spill here is plaintext.)
sed '/^\[spill\]/a encrypt = no' /tmp/demote.conf >/tmp/demote-plain.conf
check "add, plaintext spill, idle age 3 s" add --policy /tmp/demote-plain.conf
check "write 4M at 16M" fio_region 16M write
dd if="$dev" of=/tmp/before.bin bs=1M skip=16 count=1 iflag=direct status=none
# every one of them, the 256 read just now too (a pass later)
all_packed() { local i; for i in $(seq 100); do [ "$(get "$id" pages_store)" = 0 ] && return 0; sleep 0.1; done; get "$id" pages_store; return 1; }
check "its pages demoted, all of them" all_packed
diag "spill $(get "$id" pages_spill) pages, store $(get "$id" pages_store)"
head -c 512 /dev/zero | tr '\0' Z >/tmp/sector.bin
spid=$(get "$id" pid)
r0=$(awk '/^rchar/ {print $2}' /proc/$spid/io)
sub_errs=0
for p in $(seq 0 255); do   # sector 3 of each of the region's first 256 pages
	dd if=/tmp/sector.bin of="$dev" bs=512 seek=$((16 * 2048 + p * 8 + 3)) oflag=direct \
		conv=notrunc status=none || sub_errs=$((sub_errs + 1))
	dd if=/tmp/sector.bin of=/tmp/before.bin bs=512 seek=$((p * 8 + 3)) conv=notrunc status=none
done
r1=$(awk '/^rchar/ {print $2}' /proc/$spid/io)
check "256 sub-page writes to packed pages, none failed" test $sub_errs = 0
check "the server read $((r1 - r0)) bytes with syscalls meanwhile (< 64 KiB)" test $((r1 - r0)) -lt 65536
check "the pages read back: the new sectors over the old bytes" \
	sh -c "dd if=$dev bs=1M skip=16 count=1 iflag=direct status=none | cmp - /tmp/before.bin"
check "no request failed" test "$(get "$id" errors)" = 0
check "del" del "$id"

finish
