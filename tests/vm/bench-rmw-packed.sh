#!/bin/bash
# tests/vm/bench-rmw-packed.sh: bench-rmw.sh's question for pages that
# demotion keeps compressed on the spill (packed): a 512 B write to one is a
# read-modify-write whose read was a pread and a decode under the entry lock
# on the queue thread (until 2026-11-30, and still with ZTIER_UBLK_RMW=sync),
# and is now a read on the ring.  Two devices, one queue each, its own
# plaintext namespace each (fixtures/bench-packed.conf), same boot:
#   ring   as ztier-ublk adds it
#   sync   ZTIER_UBLK_RMW=sync: every RMW under the lock
# Each has 32M of random data (spilled as it is) for a reader.  Each round:
# 16M of text is written after it and left until the store holds none (all
# packed); then one fio run of two jobs: a reader, 4K randread at QD1 over
# the random data for $RUNTIME s, and a writer, one 512 B write at QD4 to
# each of the 4096 packed pages (once each: after its RMW a page is in the
# store again).  Reported: the reader's IOPS and completion latency (us) at
# the 50th and 99th percentile, the writer's completion latency at the 50th
# and 99th; median (min-max) over $ROUNDS rounds, order rotated, and
# ring/sync within each round.  Runs from the host:
#   . tests/vm/ublk-vmargs.sh; tests/vm/run [--kernel 7.3] --nvme spill1=192M \
#     --nvme spill2=192M --add tests/vm/bench-lib.sh "${vm_args[@]}" tests/vm/bench-rmw-packed.sh
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/bench-lib.sh || exit 1
RUNTIME=${RUNTIME:-4}
ROUNDS=${ROUNDS:-5}
modprobe ublk_drv || exit 1
DEVICES=(ring sync)
JOBS=(r_iops r_p50 r_p99 w_p50 w_p99)
declare -A DEV ID R NS=([ring]=spill1 [sync]=spill2)

packed() { # DEV: 16M of text after the random data, left until all of it is packed
	local i
	fio --name=t --filename="${DEV[$1]}" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=write --bs=64k --iodepth=4 --offset=32M --size=16M --refill_buffers \
		--buffer_compress_percentage=75 --output=/dev/null --eta=never || return 1
	for i in $(seq 150); do
		[ "$(list_field "${ID[$1]}" store pages)" = 0 ] && return 0
		sleep 0.1
	done
	echo "# $1: store pages $(list_field "${ID[$1]}" store pages) after 15 s" >&2
	return 1
}
round() { # DEV ROUND
	local out rd wr
	packed "$1" || return 1
	out=$(fio --ioengine=io_uring --direct=1 --filename="${DEV[$1]}" --allow_file_create=0 \
		--output-format=terse --terse-version=3 --eta=never --randseed=4242 \
		--name=rd --rw=randread --bs=4k --iodepth=1 --size=32M --time_based --runtime="$RUNTIME" \
		--name=wr --rw=write:3584 --bs=512 --iodepth=4 --offset=32M --size=16M)
	rd=$(grep '^3;[^;]*;rd;' <<<"$out") wr=$(grep '^3;[^;]*;wr;' <<<"$out")
	R[$1,r_iops,$2]=$(cut -d';' -f8 <<<"$rd")
	R[$1,r_p50,$2]=$(terse_pct "$rd" 18 50.000000)
	R[$1,r_p99,$2]=$(terse_pct "$rd" 18 99.000000)
	R[$1,w_p50,$2]=$(terse_pct "$wr" 59 50.000000)
	R[$1,w_p99,$2]=$(terse_pct "$wr" 59 99.000000)
}
up() { # NAME
	SPILL_POLICY=/mnt/add/fixtures/bench-packed.conf spill_dev "$1" "${NS[$1]}" \
		ZTIER_UBLK_RMW="$1" && fill_random "${DEV[$1]}" 32M
}

t0=$SECONDS
for d in "${DEVICES[@]}"; do up "$d" || { echo "# bench-rmw-packed: $d did not come up"; exit 1; }; done
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < ${#DEVICES[@]}; i++)); do
		round "${DEVICES[$(rotated $r $i ${#DEVICES[@]})]}" "$r" || exit 1
	done
done
for d in "${DEVICES[@]}"; do
	echo "# $d: errors $(list_field "${ID[$d]}" requests errors), demoted $(list_field "${ID[$d]}" demotion pages)," \
		"spill slots $(list_field "${ID[$d]}" spill slots)"
	ztier-ublk del "${ID[$d]}" >/dev/null
done
echo "# bench-rmw-packed: per device 32M random (spilled) + 16M text packed anew each round, 1 queue;" \
	"$(nproc) vCPUs, kernel $(uname -r); $ROUNDS rounds, order rotated; measured in $((SECONDS - t0)) s"
echo "# reader: 4K randread QD1 for ${RUNTIME}s (IOPS, completion latency us); writer meanwhile:" \
	"one 512 B write QD4 to each of 4096 packed pages (completion latency us); median (min-max)"
ab_table "read IOPS" "read p50" "read p99" "write p50" "write p99"
