#!/bin/bash
# tests/vm/bench-queues.sh: why 2 ublk queues read no faster than 1 under
# TCG (issue 12, item 5): TCG, the ublk round trip, or ztier?  4K randread
# for $RUNTIME s, fio with 1 job (QD32) and with 2 jobs (QD16 each: a job
# per vCPU, so that both hardware queues are used: blk-mq maps a CPU to a
# queue, and one submitting thread feeds one queue), on:
#   null-1q, null-2q      the ublk null target (the plumbing alone),
#   ztier-1q, ztier-2q    the tiered target, text-like pages in the store,
#   zram                  kernel zram (lz4), no queues: for scale.
# Devices and job counts interleaved over $ROUNDS rounds, order rotated;
# median IOPS (min-max) per cell.  Runs from the host:
#   tests/vm/bench-queues [--kernel 7.3]
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/ublk-lib.sh
RUNTIME=${RUNTIME:-4}
ROUNDS=${ROUNDS:-5}
modprobe ublk_drv && modprobe zram num_devices=0 || exit 1
echo "kernel $(uname -r), $(nproc) vCPUs"
declare -A DEV R
sed 's/^memory-limit = .*/memory-limit = 128M/' $fx/bench.conf >/tmp/q.conf
for q in 1 2; do
	add --policy /tmp/q.conf --target null --queues $q >/dev/null || exit 1
	DEV[null-${q}q]=$dev
	add --policy /tmp/q.conf --queues $q >/dev/null || exit 1
	DEV[ztier-${q}q]=$dev
done
DEV[zram]=$(zramctl --find --size 512M --algorithm lz4) || exit 1
for d in ztier-1q ztier-2q zram; do       # text-like pages to read back
	fio --name=f --filename=${DEV[$d]} --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=write --bs=1M --size=128M --refill_buffers --buffer_compress_percentage=75 \
		--randseed=4242 --output=/dev/null || exit 1
done
names=(null-1q null-2q ztier-1q ztier-2q zram)
iops() { # dev jobs
	fio --name=r --filename="$1" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=randread --bs=4k --size=128M --iodepth=$((32 / $2)) --numjobs="$2" \
		--group_reporting --time_based --runtime="$RUNTIME" --output-format=terse \
		--terse-version=3 | awk -F';' '{print $8}'
}
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < ${#names[@]}; k++)); do
		n=${names[$(((k + r) % ${#names[@]}))]}
		for j in 1 2; do R[$n,$j]+="$(iops "${DEV[$n]}" $j) "; done
	done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%d (%d-%d)", a[int((NR+1)/2)], a[1], a[NR]}'; }
printf '%-10s %-26s %-26s\n' device "1 job QD32 IOPS" "2 jobs QD16 IOPS"
for n in "${names[@]}"; do
	printf '%-10s %-26s %-26s\n' "$n" "$(echo ${R[$n,1]} | med)" "$(echo ${R[$n,2]} | med)"
done
for n in null-1q null-2q ztier-1q ztier-2q; do del "${DEV[$n]#/dev/ublkb}" >/dev/null; done
zramctl --reset "${DEV[zram]}"
