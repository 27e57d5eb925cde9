#!/bin/bash
# tests/vm/zram-suite.sh: guest half of tests/vm/zram.t (one boot).  Prints
# TAP.  The zram tier of the ztier ublk device on the real kernel: libkmod
# loads zram and ublk_drv; the server creates and configures its own zram
# device from the policy and removes it again (also when configuring fails);
# the fio crc32c verify matrix with text pages in zram; overwrite and discard
# give zram's memory back (mm_stat); the discards reach zram off the queue
# threads (io_stat), batched on swap, on the ring where the kernel allows;
# zram full (slots or mem_limit) sends the page to the fallback; no stale
# read when a page's slot is reused during a read (2 queues).  Helpers come
# from ublk-lib.sh (sourced, not copied).
set -u
. /mnt/add/ublk-lib.sh

loaded() { grep -q "^$1 " /proc/modules; }
zram_devs() { ls -d /sys/block/zram* 2>/dev/null | wc -l; }
no_devices() { [ -z "$(ztier-ublk list)" ] && [ "$(zram_devs)" = 0 ]; }

# zstats ID: key=value lines from the "zram" line of `ztier-ublk list`:
#   zram /dev/zramN slots U/T fallbacks F rereads N discarded D discard ring|batched
#        pages P orig_bytes B ... mem_ratio R
zstats() {
	ztier-ublk list | awk -v id="$1:" '
	$1 == "dev" && $2 == "id" { cur = ($3 == id) }
	!cur || $1 != "zram" { next }
	{ print "zdev=" $2; split($4, a, "/"); print "zslots=" a[1]; print "ztotal=" a[2]
	  print "zfallbacks=" $6; print "zrereads=" $8
	  for (k = 9; k < NF; k += 2) print "z_" $k "=" $(k + 1) }'
}
zget() { zstats "$1" | sed -n "s/^$2=//p"; }
wait_z() { # ID KEY OP VALUE (up to 5 s; the server publishes every 200 ms)
	local v
	for _ in $(seq 50); do
		v=$(zget "$1" "$2")
		[ -n "$v" ] && test "$v" "$3" "$4" && return 0
		sleep 0.1
	done
	echo "$2 = $v, wanted $3 $4"
	zstats "$1"
	return 1
}
show() { echo "# $(ztier-ublk list | grep -E '^\s+(pages|zram)' | tr -s '\t\n' '  ')"; }

# The variants of fixtures/zram.conf, each one change away from it.
write_zram_policies() {
	# 1024 slots: the rest of the text pages goes to the store
	awk '/^\[/ { z = $0 == "[zram]" } z && /^size/ { $0 = "size = 4M" } { print }' \
		$fx/zram.conf >/tmp/zram-slots.conf
	# room for every page but 1 MiB of zram memory: the kernel refuses writes
	awk '/^\[zram\]/ { print; print "memory-limit = 1M"; next } { print }' $fx/zram.conf >/tmp/zram-mem.conf
	# no fallback: a full zram fails the write
	awk '/^\[text\]/ { t = 1 } /^\[mixed\]/ { t = 0 } t && /^(fallback|codec)/ { next }
	     /^\[/ { z = $0 == "[zram]" } z && /^size/ { $0 = "size = 4M" } { print }' \
		$fx/zram.conf >/tmp/zram-nofb.conf
	sed 's/^algorithm = lz4$/algorithm = 842/' $fx/zram.conf >/tmp/zram-badalg.conf
}
write_zram_policies

# ---------------------------------------------------------------------------
group "modules through libkmod"
if loaded zram || loaded ublk_drv; then
	skip "zram and ublk_drv loaded by libkmod" "already loaded at boot"
else
	check "zramctl-glue's t_module (libkmod) loads zram and ublk_drv" /mnt/add/t_module.t
	check "both are in /proc/modules" eval "loaded zram && loaded ublk_drv"
	check "num_devices=0: no zram device made" test "$(zram_devs)" = 0
fi
modprobe ublk_drv
check "rmmod zram (the server must load it itself)" rmmod zram
check "add with a zram tier loads zram" add --policy $fx/zram.conf
check "zram is loaded, one zram device (ours)" eval "loaded zram && test \$(zram_devs) = 1"
check "list shows the zram tier: 32768 slots (stats refresh: 200 ms)" wait_z "$id" ztotal -eq 32768
zdev=$(zget "$id" zdev)
zsys=/sys/block/${zdev#/dev/}
check "list names the zram device ($zdev)" test -b "$zdev"
check "ztierctl status: $zdev is the tier of ublkb$id, not a device of its own" eval \
	"ztierctl status --json | grep -q '\"name\":\"${zdev#/dev/}\"[^}]*\"state\":\"tier of ublkb$id\"'"
check "configured from the policy: lz4, disksize 128M" eval \
	"grep -q '\[lz4\]' $zsys/comp_algorithm && test \$(cat $zsys/disksize) = $((128 << 20))"
json_zram() {
	local j
	j=$(ztier-ublk list --json) && echo "$j" &&
		[[ $j == *"\"zram\":{\"device\":\"$zdev\""* && $j == *'"mem_used":'* && $j == *'"ratio":'* ]]
}
check "list --json has the zram tier with mm_stat figures" json_zram
pid=$(get "$id" pid)
check "del" del "$id"
check "zram device reset and removed" eval "! test -e $zsys && ! kill -0 $pid 2>/dev/null && no_devices"
check "unknown algorithm: one line naming it and the kernel's list" eval \
	"out=\$(ztier-ublk add --policy /tmp/zram-badalg.conf 2>&1); rc=\$?; echo \"\$out\";
	 [ \$rc = 1 ] && [ \$(printf '%s\n' \"\$out\" | wc -l) = 1 ] && [[ \$out == *842*lz4* ]]"
check "nothing half-created after the failure" no_devices

# Zero copy where the kernel has it (AUTO_BUF_REG and USER_COPY: 7.x).
zc=""
if ztier-ublk features | grep -qx '.AUTO_BUF_REG' && ztier-ublk features | grep -qx '.USER_COPY'; then
	zc=1
fi
echo "# zero copy: $([ "$zc" ] && echo yes || echo "no (the kernel lacks AUTO_BUF_REG or USER_COPY)")"

# ---------------------------------------------------------------------------
# bs 4k and 64k x iodepth 1 and 32 x text-like and mixed, on 1 and 2 queues;
# the cells overwrite each other's pages with another class.
group "fio verify matrix, text pages in zram"
matrix() { # queues
	local q=$1 bs qd cls
	check "add: text -> zram, $q queue(s)" add --policy $fx/zram.conf --queues "$q"
	for bs in 4k 64k; do
		for qd in 1 32; do
			for cls in text mixed; do
				check "fio randrw bs=$bs iodepth=$qd $cls, $q queue(s)" \
					fio_verify "$dev" randrw "$bs" "$qd" "$cls" 4M
			done
		done
	done
	check "zram held text pages" test "$(get "$id" pages_zram)" -gt 0
	check "no request failed" test "$(get "$id" errors)" = 0
	check "a swap device (memory committed up front) copies every page" \
		test "$(get "$id" zc_pages)" = 0
	show
	check "del" del "$id"
}
matrix 1
matrix 2
check "no zram device left" no_devices

# ---------------------------------------------------------------------------
# Zero copy (the default but for swap devices) where the kernel has automatic buffer
# registration and user copy (7.x; zerocopy.c).  The same bytes through
# both paths: the same seeded data on each device, compared whole, in
# requests that mix zram, store and never-written pages and that start and
# end inside pages.
group "zero copy and the copy path return the same bytes"
# A zero-copy device takes requests of 1 MiB, larger than its buffer, and
# moves their store and zram pages through the buffer a part at a time:
# 2 MiB of random and text pages are written, and 7 MiB read, in 1 MiB
# requests that start inside a page.
mixed_read() { # DEV: md5 of 8M read back in odd-sized requests at odd offsets, then of 7M in 1M ones
	local d=$1
	fio --name=w --filename="$d" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=write --bs=64k --size=6M --refill_buffers --buffer_compress_percentage=75 \
		--randseed=77 --output=/tmp/fio.out &&
		dd if=/tmp/random.bin of="$d" bs=4k seek=300 count=64 oflag=direct conv=notrunc status=none &&
		dd if=/tmp/big.bin of="$d" bs=1M seek=5632 count=2 oflag=direct,seek_bytes conv=notrunc \
			status=none &&
		{ dd if="$d" bs=3584 skip=1 count=2340 iflag=direct status=none &&
		  dd if="$d" bs=1M skip=1536 count=7 iflag=direct,skip_bytes status=none; } |
		md5sum | cut -c1-32
}
dd if=/dev/urandom of=/tmp/random.bin bs=4k count=64 status=none   # the same for both
{ head -c 1048576 /dev/urandom; yes "ztier: a page of text, said again" | head -c 1048576; } >/tmp/big.bin
check "2 MiB of random and text to write" test "$(stat -c %s /tmp/big.bin)" = 2097152
max_kb() { cat "/sys/block/${1#/dev/}/queue/max_hw_sectors_kb"; }
# zero copy is for servers that may allocate on the I/O path: not swap
sed 's/^\[device\]$/&\nmemory-commit = on-demand/' $fx/zram.conf >/tmp/zram-od.conf
check "add (memory on demand: zero copy where the kernel has it)" add --policy /tmp/zram-od.conf
sum_zc=$(mixed_read "$dev")
check "read back: $sum_zc" test -n "$sum_zc"
show
if [ "$zc" ]; then
	# (a run of one zram page is read on the queue thread: whole MiBs here)
	check "zram pages read in 1 MiB requests came with zero copy" eval \
		'dd if="$dev" of=/dev/null bs=1M count=6 iflag=direct status=none && wait_stat "$id" zc_pages -gt 0'
	check "it takes requests of 1 MiB (max_hw_sectors_kb $(max_kb "$dev"))" test "$(max_kb "$dev")" = 1024
else
	check "this kernel has no zero copy: every page copied" test "$(get "$id" zc_pages)" = 0
fi
check "no request failed" test "$(get "$id" errors)" = 0
check "del" del "$id"
[ "$zc" ] && check "one of 512 tags (32 KiB buffers) keeps requests of its buffer" eval \
	'add --policy /tmp/zram-od.conf --queues 2 --depth 256 >/dev/null &&
	 test "$(max_kb "$dev")" = 32 && del "$id" >/dev/null'
check "add with ZTIER_UBLK_ZERO_COPY=0 (the copy path)" eval 'ZTIER_UBLK_ZERO_COPY=0 add --policy /tmp/zram-od.conf'
check "it copied every page" eval 'mixed_read "$dev" >/tmp/sum_copy && test "$(get "$id" zc_pages)" = 0'
check "its requests fit its buffer (max_hw_sectors_kb $(max_kb "$dev"))" test "$(max_kb "$dev")" -le 512
check "the same md5 ($(cat /tmp/sum_copy 2>/dev/null))" test "$sum_zc" = "$(cat /tmp/sum_copy 2>/dev/null)"
check "del" del "$id"
check "no zram device left" no_devices

# The first requests reach the server while it confirms START_DEV (the
# kernel's partition scan): once, a zero-copy device's went the copy way and
# the kernel refused their commit, so the scan never ended and `del` hung
# (server.c, confirm_live).  Twenty adds, each read at once; a hang fails
# the read's timeout.
hangs=0
for i in $(seq 20); do
	add --policy /tmp/zram-od.conf >/dev/null || { hangs=$((hangs + 100)); break; }
	timeout 20 dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none || hangs=$((hangs + 1))
	timeout 20 ztier-ublk del "$id" >/dev/null || { hangs=$((hangs + 100)); break; }
done
check "20 adds, each read at once: no hang ($hangs)" test "$hangs" = 0
check "no zram device left" no_devices

# ---------------------------------------------------------------------------
group "overwrite and discard free zram memory"
check "add" add --policy $fx/zram.conf
check "write 32M of text-like data" fio --name=w --filename="$dev" --allow_file_create=0 \
	--ioengine=io_uring --direct=1 --rw=write --bs=1M --size=32M --refill_buffers \
	--buffer_compress_percentage=75 --output=/tmp/fio.out
check "zram holds ~32M (mm_stat orig_data_size)" wait_z "$id" z_orig_bytes -ge $((30 << 20))
used=$(zget "$id" z_mem_used)
show
check "zram pages = ztier's zram pages = slots used" eval \
	"test \$(zget $id z_pages) = \$(get $id pages_zram) && test \$(zget $id zslots) = \$(get $id pages_zram)"
check "overwrite with zeros (meta tier)" dd if=/dev/zero of="$dev" bs=1M count=32 oflag=direct status=none
check "orig_data_size back to 0" wait_z "$id" z_orig_bytes -eq 0
check "mem_used dropped (< 1/4 of $used)" wait_z "$id" z_mem_used -lt $((used / 4))
check "slots freed" wait_z "$id" zslots -eq 0
check "write 32M of text-like data again" fio --name=w --filename="$dev" --allow_file_create=0 \
	--ioengine=io_uring --direct=1 --rw=write --bs=1M --size=32M --refill_buffers \
	--buffer_compress_percentage=75 --output=/tmp/fio.out
check "zram holds it" wait_z "$id" z_orig_bytes -ge $((30 << 20))
check "blkdiscard" blkdiscard "$dev"
check "orig_data_size back to 0 after discard" wait_z "$id" z_orig_bytes -eq 0
check "mem_used dropped after discard" wait_z "$id" z_mem_used -lt $((used / 4))
show
check "discarded range reads as zeros" cmp -n 32M "$dev" /dev/zero
check "del" del "$id"

# ---------------------------------------------------------------------------
# A freed zram slot is discarded off the queue threads (ublk/zram_discard.c):
# on a swap device by the discarder thread (batched BLKDISCARD), otherwise
# on the queue's ring when the kernel takes BLOCK_URING_CMD_DISCARD on this
# zram (probed at start; the driver must take REQ_NOWAIT), else batched.
# Each time the discards must reach the kernel's zram: its io_stat
# notify_free counts every page a discard freed.
group "discards reach zram off the queue threads"
notify_free() { awk '{ print $4 }' "/sys/block/${1#/dev/}/io_stat"; }
discards_reach_zram() { # policy modes (a regex: the modes allowed)
	local zdev nf0 nf1 mode
	check "add ($1)" add --policy "$1"
	zdev=$(zget "$id" zdev)
	mode=$(zget "$id" z_discard)
	check "discard mode $mode is one of $2" eval "[[ '$mode' =~ ^($2)\$ ]]"
	check "write 16M of text-like data" fio --name=w --filename="$dev" --allow_file_create=0 \
		--ioengine=io_uring --direct=1 --rw=write --bs=1M --size=16M --refill_buffers \
		--buffer_compress_percentage=75 --output=/tmp/fio.out
	check "zram holds it" wait_z "$id" z_orig_bytes -ge $((15 << 20))
	nf0=$(notify_free "$zdev")
	check "blkdiscard" blkdiscard "$dev"
	check "ztier discarded the 4096 slots" wait_z "$id" z_discarded -ge 4096
	check "slots free again" wait_z "$id" zslots -eq 0
	nf1=$(notify_free "$zdev")
	check "zram counted them (notify_free $nf0 -> $nf1)" test $((nf1 - nf0)) -ge 4096
	check "orig_data_size back to 0" wait_z "$id" z_orig_bytes -eq 0
	check "no request failed" test "$(get "$id" errors)" = 0
	check "del" del "$id"
}
discards_reach_zram $fx/zram.conf batched
# Not swap (memory-commit on demand): the ring where the kernel takes the
# command on zram (it needs REQ_NOWAIT, which zram lacked on the host's
# 6.18: the probe then answers -EOPNOTSUPP and the mode is batched).
sed '/^\[device\]/a memory-commit = on-demand' $fx/zram.conf >/tmp/zram-od.conf
discards_reach_zram /tmp/zram-od.conf 'ring|batched'

# ---------------------------------------------------------------------------
group "zram full -> fallback"
check "add: zram of 1024 slots, fallback store" add --policy /tmp/zram-slots.conf
check "16M text with verify goes on" fio_verify "$dev" randwrite 4k 32 text 16M
check "zram slots all used" wait_z "$id" zslots -eq 1024
check "the store took the rest" wait_stat "$id" store_pages -gt 2000
show
check "no request failed" test "$(get "$id" errors)" = 0
check "del" del "$id"

check "add: zram mem_limit 1M, fallback store" add --policy /tmp/zram-mem.conf
check "16M text with verify goes on" fio_verify "$dev" randwrite 4k 32 text 16M
check "pages the kernel refused went to the fallback" wait_z "$id" zfallbacks -gt 0
check "the store holds them" wait_stat "$id" store_pages -gt 0
check "refused slots were freed (slots used = zram pages)" eval \
	"sleep 0.3; zstats $id; stats $id | grep pages_zram; test \$(zget $id zslots) = \$(get $id pages_zram)"
check "zram within its limit" test "$(zget "$id" z_mem_used)" -le $((1 << 20))
show
check "no request failed" test "$(get "$id" errors)" = 0
check "del" del "$id"

check "add: zram of 1024 slots, no fallback" add --policy /tmp/zram-nofb.conf
enospc_write() {
	fio --name=w --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=write --bs=1M --size=8M --refill_buffers --buffer_compress_percentage=75 \
		--output=/tmp/fio.out && return 1
	grep -i 'error' /tmp/fio.out | head -3
}
check "writing 8M of text into 4M of zram fails" enospc_write
check "server counted the refused writes" wait_stat "$id" enospc -gt 0
check "del" del "$id"

# ---------------------------------------------------------------------------
# A page rewritten with the same data over and over (each write takes a new
# slot and frees the old one) while another queue reads it: every read must
# return that data.  A third writer keeps taking the freed slots with other
# data, so a read of a freed slot would return zeros (discard) or its data.
group "no stale read while a slot is reused (2 queues)"
check "add (2 queues)" add --policy $fx/zram.conf --queues 2
seq 1 2000000 | head -c 4194304 >/tmp/same
check "write the page set" dd if=/tmp/same of="$dev" bs=1M oflag=direct status=none
rm -f /tmp/stop
rewrite() { while [ ! -e /tmp/stop ]; do dd if=/tmp/same of="$dev" bs=64k oflag=direct status=none || return 1; done; }
taskset -c 1 bash -c "$(declare -f rewrite); dev=$dev; rewrite" &
rw_pid=$!
taskset -c 1 fio --name=churn --filename="$dev" --allow_file_create=0 --ioengine=io_uring \
	--direct=1 --rw=randwrite --bs=4k --iodepth=16 --offset=16M --size=32M --refill_buffers \
	--buffer_compress_percentage=75 --time_based --runtime=10 --eta=never --output=/tmp/churn.out &
churn_pid=$!
reads_ok() { # read the 4M back while the churn runs (at least 20 times)
	local k=0 bad=0
	while kill -0 "$churn_pid" 2>/dev/null || [ $k -lt 20 ]; do
		taskset -c 0 dd if="$dev" bs=1M count=4 iflag=direct status=none | cmp -s - /tmp/same ||
			bad=$((bad + 1))
		k=$((k + 1))
	done
	echo "$bad of $k reads of 4M differed"
	[ $bad = 0 ]
}
check "reads of the rewritten pages all return their data" reads_ok
sed -n "s/^\([0-9]* of [0-9]* reads.*\)/# \1/p" "$tap_log"
echo "# reads redone because the page changed under them: $(zget "$id" zrereads)"
touch /tmp/stop
wait "$churn_pid"
check "the rewriter ended without an error" wait "$rw_pid"
show
check "no request failed" test "$(get "$id" errors)" = 0
check "del" del "$id"
check "no device left" no_devices

# ---------------------------------------------------------------------------
group "a killed server's zram tier goes with its device"
check "add" add --policy $fx/zram.conf
check "zram tier published" wait_z "$id" ztotal -eq 32768
check "write text-like data into zram" fio --name=w --filename="$dev" --allow_file_create=0 \
	--ioengine=io_uring --direct=1 --rw=write --bs=1M --size=16M --refill_buffers \
	--buffer_compress_percentage=75 --output=/tmp/fio.out
pid=$(get "$id" pid)
check "kill -9 the server ($pid)" kill -9 "$pid"
check "del removes the device" del "$id"
check "and its zram tier: no zram device left" test "$(zram_devs)" = 0
check "no device left" no_devices

finish
