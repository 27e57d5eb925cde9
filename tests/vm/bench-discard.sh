#!/bin/bash
# tests/vm/bench-discard.sh: the write latency that freeing zram slots
# costs (issue #12 item 3).  Guest script; it uses nothing newer than the
# ztier of issue #11, so the same file measures any build (run it on main
# and on a branch, same kernel, and compare the lines):
#   bash -c '. tests/vm/ublk-vmargs.sh &&
#            tests/vm/run "${vm_args[@]}" tests/vm/bench-discard.sh'
# Text pages fill the zram tier (fixtures/zram.conf: swap, so upfront
# commit), then 4 KiB random overwrites of them at queue depth 1: each
# write takes a new zram slot and frees the old one, whose discard used to
# be a BLKDISCARD on the queue thread.  Prints fio's completion latency
# percentiles and IOPS of that churn (TCG: compare runs of one boot
# series only).
set -u
. /mnt/add/ublk-lib.sh
export LD_LIBRARY_PATH=/mnt/add
modprobe ublk_drv && modprobe zram num_devices=0 || exit 1
RUNTIME=${RUNTIME:-5}

churn() { # name rw iodepth
	fio --name="$1" --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw="$2" --bs=4k --iodepth="$3" --size=32M --refill_buffers \
		--buffer_compress_percentage=75 --time_based --runtime="$RUNTIME" \
		--percentile_list=50:99:99.9 --output-format=json --output=/tmp/churn.json || return 1
	awk -v name="$1 qd$3" '
	/"write" : \{/ { w = 1 }
	w && /"iops" :/ && !iops { gsub(/[",]/, ""); iops = $3 }
	w && /"50.000000" :/ { gsub(/[",]/, ""); p50 = $3 }
	w && /"99.000000" :/ { gsub(/[",]/, ""); p99 = $3 }
	w && /"99.900000" :/ { gsub(/[",]/, ""); p999 = $3; exit }
	END { printf "%-22s iops %8.0f  clat p50 %7.1f  p99 %7.1f  p99.9 %7.1f us\n",
	      name, iops, p50 / 1000, p99 / 1000, p999 / 1000 }' /tmp/churn.json
}

add --policy $fx/zram.conf >/dev/null || exit 1
fio --name=fill --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
	--rw=write --bs=1M --size=32M --refill_buffers --buffer_compress_percentage=75 \
	--output=/dev/null || exit 1
echo "# bench-discard: $(uname -r), $(nproc) vCPUs, ${RUNTIME}s each, ztier $(ztier-ublk --version 2>&1 | head -n 1)"
churn overwrite randwrite 1
churn overwrite randwrite 16
ztier-ublk list | grep -E '^\s+zram' | tr -s '\t' ' '
del "$id"
