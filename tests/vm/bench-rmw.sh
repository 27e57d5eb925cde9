#!/bin/bash
# tests/vm/bench-rmw.sh: what a sub-page write's read-modify-write on the
# ring (tiered_rmw.c) saves the requests queued behind it (issue 12 item 3:
# measure the tail latency it saves).  Two ztier devices, one queue each,
# every page to a plaintext spill on its own namespace, same boot:
#   ring   as ztier-ublk adds it: the RMW's read and write on the ring
#   sync   ZTIER_UBLK_RMW=sync: pread/pwrite on the queue thread under the
#          entry lock, as before
# Each device is filled with $AREA of random data.  Then $ROUNDS rounds,
# order rotated, of one fio run of two jobs at once, $RUNTIME s: a reader,
# 4K randread at QD1 over the first half, and a writer, 512 B randwrite at
# QD4 over the second half (every write a read-modify-write of a spilled
# page).  Reported: the reader's IOPS and completion latency at the 50th,
# 99th and 99.9th percentile (us), the writer's IOPS; median (min-max)
# over the rounds, and ring/sync within each round.  Runs from the host:
#   . tests/vm/ublk-vmargs.sh; tests/vm/run [--kernel 7.3] --nvme spill1=192M \
#     --nvme spill2=192M "${vm_args[@]}" tests/vm/bench-rmw.sh
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/bench-lib.sh || exit 1
RUNTIME=${RUNTIME:-5}
ROUNDS=${ROUNDS:-5}
AREA=64M
modprobe ublk_drv || exit 1
DEVICES=(ring sync)
JOBS=(r_iops r_p50 r_p99 r_p999 w_iops)
declare -A DEV ID R NS=([ring]=spill1 [sync]=spill2)

round() { # DEV ROUND
	local out rd wr half=$((64 << 19))
	out=$(fio --ioengine=io_uring --direct=1 --filename="${DEV[$1]}" --allow_file_create=0 \
		--time_based --runtime="$RUNTIME" --refill_buffers --randseed=4242 \
		--output-format=terse --terse-version=3 --eta=never \
		--name=rd --rw=randread --bs=4k --iodepth=1 --size=$half \
		--name=wr --rw=randwrite --bs=512 --iodepth=4 --offset=$half --size=$half)
	rd=$(grep '^3;[^;]*;rd;' <<<"$out") wr=$(grep '^3;[^;]*;wr;' <<<"$out")
	R[$1,r_iops,$2]=$(cut -d';' -f8 <<<"$rd")
	R[$1,r_p50,$2]=$(terse_pct "$rd" 18 50.000000)
	R[$1,r_p99,$2]=$(terse_pct "$rd" 18 99.000000)
	R[$1,r_p999,$2]=$(terse_pct "$rd" 18 99.900000)
	R[$1,w_iops,$2]=$(cut -d';' -f49 <<<"$wr")
}
up() { # NAME
	spill_dev "$1" "${NS[$1]}" ZTIER_UBLK_RMW="$1" && fill_random "${DEV[$1]}" "$AREA"
}

t0=$SECONDS
for d in "${DEVICES[@]}"; do up "$d" || { echo "# bench-rmw: $d did not come up"; exit 1; }; done
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < ${#DEVICES[@]}; i++)); do
		round "${DEVICES[$(rotated $r $i ${#DEVICES[@]})]}" "$r"
	done
done
for d in "${DEVICES[@]}"; do
	echo "# $d: errors $(list_field "${ID[$d]}" requests errors), spill slots $(list_field "${ID[$d]}" spill slots)"
	ztier-ublk del "${ID[$d]}" >/dev/null
done

echo "# bench-rmw: random data, $AREA per device, every page on a plaintext spill, 1 queue;" \
	"$(nproc) vCPUs, kernel $(uname -r); $ROUNDS rounds, order rotated, fio ${RUNTIME}s a round;" \
	"measured in $((SECONDS - t0)) s"
echo "# reader: 4K randread QD1 (IOPS, completion latency us); writer at the same time:" \
	"512 B randwrite QD4 (IOPS); median (min-max) over the rounds"
ab_table "read IOPS" "read p50" "read p99" "read p99.9" "512B write IOPS"
