#!/bin/bash
# tests/vm/bench-swapin.sh: swap-in against vm.page-cluster (issue 15,
# item 5).  One swap device at a time, the same 64 MiB of real process
# memory (tests/vm/corpus) paged out and read back by b_swapin
# (tests/bench/b_swapin.c: sequential MiB/s, random touch latency; settings
# interleaved over 7 rounds, medians with their spread):
#   ztier (fixtures/bench.conf, a 128M store: lz4) at page-cluster 0..3;
#   kernel zram (lz4), synchronous, so readahead never applies to it: one
#   row, for scale.
# Runs from the host: tests/vm/bench-swapin [--kernel 6.12|7.3].
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/ublk-lib.sh
MIB=${MIB:-64}
corpus=$(ls /mnt/add/corpus*.bin | head -n 1)   # corpus-64M.bin: a 1G guest unpacks it
modprobe ublk_drv && modprobe zram num_devices=0 || exit 1
echo "page-cluster was $(cat /proc/sys/vm/page-cluster)"
was=$(cat /proc/sys/vm/page-cluster)
for s in $(awk 'NR > 1 { print $1 }' /proc/swaps); do swapoff "$s"; done

echo "== ztier swap (ublk, not synchronous: readahead applies)"
sed 's/^memory-limit = .*/memory-limit = 128M/' $fx/bench.conf >/tmp/swapin.conf
add --policy /tmp/swapin.conf >/tmp/add.out || { cat /tmp/add.out; exit 1; }
mkswap "$dev" >/dev/null && swapon "$dev" || exit 1
r0=$(awk '{print $1}' /sys/block/ublkb$id/stat)
taskset -c 1 /mnt/add/b_swapin.t $corpus $MIB 0 1 2 3
echo "device reads: $(( $(awk '{print $1}' /sys/block/ublkb$id/stat) - r0 ))"
swapoff "$dev" && del "$id" >/dev/null

echo "== kernel zram swap (synchronous: no readahead)"
z=$(zramctl --find --size 512M --algorithm lz4) || exit 1
mkswap "$z" >/dev/null && swapon "$z" || exit 1
taskset -c 1 /mnt/add/b_swapin.t $corpus $MIB "$was"
swapoff "$z" && zramctl --reset "$z"
echo "$was" >/proc/sys/vm/page-cluster
