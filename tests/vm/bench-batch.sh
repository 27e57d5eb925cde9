#!/bin/bash
# tests/vm/bench-batch.sh: batch I/O (UBLK_F_BATCH_IO, 7.0+; ublk/batch.c)
# against the per-tag protocol, same boot: 4K randread QD32 for 4 s on the
# null target (the round trip alone) and on the tiered target (bench.conf,
# 64 MiB written first), each made with ZTIER_UBLK_BATCH=0 and =1, 1
# queue; $ROUNDS rounds, order rotated.  Prints each round, then per
# device the median (min-max) and the per-round ratio batch / per tag.
# Runs from the host (7.3):
#   . tests/vm/ublk-vmargs.sh; tests/vm/run --kernel 7.3 "${vm_args[@]}" tests/vm/bench-batch.sh
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/ublk-lib.sh
. /mnt/add/bench-lib.sh || exit 1
ROUNDS=${ROUNDS:-7}
modprobe ublk_drv || exit 1
ztier-ublk features | grep -qx '.BATCH_IO' || { echo "# bench-batch: no UBLK_F_BATCH_IO here"; exit 0; }
sed 's/^memory-limit = .*/memory-limit = 128M/' $fx/bench.conf >/tmp/q.conf
declare -A DEV R
JOBS=(randread)
for mode in 0 1; do
	ZTIER_UBLK_BATCH=$mode add --policy /tmp/q.conf --target null --queues 1 >/dev/null || exit 1
	DEV[null-$mode]=$dev
	ZTIER_UBLK_BATCH=$mode add --policy /tmp/q.conf --queues 1 >/dev/null || exit 1
	DEV[tiered-$mode]=$dev
	fio --name=f --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=write --bs=1M --size=64M --refill_buffers --buffer_compress_percentage=60 \
		--output=/dev/null --eta=never || exit 1
done
ORDER=(null-0 null-1 tiered-0 tiered-1)
for ((r = 0; r < ROUNDS; r++)); do
	line="# round $r:"
	for ((k = 0; k < 4; k++)); do
		d=${ORDER[$(rotated $r $k 4)]}
		R[$d,randread,$r]=$(fio --name=b --filename="${DEV[$d]}" --allow_file_create=0 --ioengine=io_uring \
			--direct=1 --rw=randread --bs=4k --size=64M --iodepth=32 --time_based --runtime=4 \
			--output-format=terse --terse-version=3 --eta=never | tail -n 1 | cut -d';' -f8)
		line="$line $d ${R[$d,randread,$r]}"
	done
	echo "$line"
done
echo "# bench-batch: kernel $(uname -r), $(nproc) vCPUs, $ROUNDS rounds; 4K randread IOPS, median (min-max)"
for t in null tiered; do
	echo "$t: per tag $(round_med $t-0 randread), batch $(round_med $t-1 randread)," \
		"batch / per tag $(round_ratio $t-1 $t-0 randread)"
done
for d in "${!DEV[@]}"; do del "${DEV[$d]#/dev/ublkb}" >/dev/null; done
