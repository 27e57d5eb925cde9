#!/bin/bash
# tests/vm/bench.sh: `make vm-bench` — ztier's ublk device against kernel
# zram (lz4) and against ztier's no-store "null" target (the ublk plumbing
# alone), in one VM boot (run by tests/vm/run, which prints our output).
#
# For each data class (zero, text-like, mixed, random) the devices are first
# filled with that data, then fio runs 4K randread and randwrite at QD32 and
# 1 MiB sequential read and write (QD4), each for $RUNTIME seconds, on 1 and
# 2 ublk queues.  The three devices exist together and each figure is
# measured $ROUNDS times, the three devices in turn, the order rotated every
# round (tests/vm/bench-lib.sh), so a shared host's load falls on each alike.
# The null target stores nothing (reads return zeros).  Prints one table:
# IOPS for 4K jobs, MiB/s for 1M jobs (medians over the rounds), and the
# ratios ztier/zram and ztier/null computed within each round, median
# (min-max).  Every number is measured in this boot; under TCG compare only
# within a row.
set -u
# When run through tests/vm/ublk-vmargs.sh the build tree's binary and its
# libraries are in /mnt/add: a fallback should the guest's install be partial.
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/bench-lib.sh || exit 1
# add ARGS: create a ztier device, set $id and $dev; del ID
add() {
	local out
	out=$(ztier-ublk add "$@") || return 1
	id=$(add_id <<<"$out")
	dev=/dev/ublkb$id
	[ -b "$dev" ]
}
del() { ztier-ublk del "$1"; }
RUNTIME=${RUNTIME:-3}
ROUNDS=${ROUNDS:-3}
CLASSES=(${BENCH_CLASSES:-zero text mixed random})   # subsets for quick looks
AREA=128M
modprobe ublk_drv && modprobe zram num_devices=0 || exit 1

# ztier: same-filled pages in the page table, everything else compressed
# with lz4 in the store (random pages kept raw), like zram with lz4
# (tests/vm/fixtures/bench.conf; make vm-bench adds tests/vm/fixtures).
bench_conf=/mnt/add/fixtures/bench.conf

JOBS=(${BENCH_JOBS:-randread randwrite read write})
job_flags() { # job -> fio flags
	case $1 in
	randread)  echo "--rw=randread --bs=4k --iodepth=32" ;;
	randwrite) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	read)      echo "--rw=read --bs=1M --iodepth=4" ;;
	write)     echo "--rw=write --bs=1M --iodepth=4" ;;
	esac
}
data_flags() { # class -> buffer contents flags (no verify: speed only)
	case $1 in
	zero)   echo "--zero_buffers" ;;
	text)   echo "--refill_buffers --buffer_compress_percentage=75" ;;
	mixed)  echo "--refill_buffers --buffer_compress_percentage=40" ;;
	random) echo "--refill_buffers" ;;
	esac
}
# measure DEV JOB CLASS -> IOPS (4K jobs) or MiB/s (1M jobs)
measure() {
	local out f
	# shellcheck disable=SC2046
	out=$(fio --name=b --filename="$1" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--size=$AREA --time_based --runtime="$RUNTIME" --norandommap --randrepeat=0 \
		$(job_flags "$2") $(data_flags "$3") --output-format=terse --terse-version=3 --eta=never) || { echo 0; return; }
	case $2 in
	randread)  f=8 ;;  randwrite) f=49 ;;
	read)      f=7 ;;  write)     f=48 ;;
	esac
	out=$(printf '%s\n' "$out" | tail -n 1 | cut -d';' -f$f)
	case $2 in read | write) echo $((${out%.*} / 1024)) ;; *) echo "${out%.*}" ;; esac
}
fill() { # DEV CLASS: write the whole area once with that data
	# shellcheck disable=SC2046
	fio --name=fill --filename="$1" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=write --bs=1M --iodepth=4 --size=$AREA $(data_flags "$2") --output=/dev/null --eta=never
}
declare -A R   # R[device,queues,class,job,round] = figure

# The machine running the VM may be shared: to compare under the same load,
# all three devices exist at once and the figures of a row are measured in
# rounds, the devices in turn, class by class, job by job.
zram_dev=""
zram_up() {
	local z
	z=$(cat /sys/class/zram-control/hot_add) || return 1
	echo lz4 >"/sys/block/zram$z/comp_algorithm"
	echo 512M >"/sys/block/zram$z/disksize"
	echo none 2>/dev/null >"/sys/block/zram$z/queue/scheduler"
	zram_dev=/dev/zram$z
}
zram_down() { echo "${zram_dev#/dev/zram}" >/sys/class/zram-control/hot_remove; }
ublk_up() { # target queues -> prints the node
	add --policy $bench_conf --target "$1" --queues "$2" >/dev/null || return 1
	echo none 2>/dev/null >"/sys/block/ublkb$id/queue/scheduler"
	echo "$id $dev"
}
bench_queues() { # queues
	local q=$1 cls job r i d null_id null_dev t_id t_dev
	local -A node
	read -r null_id null_dev < <(ublk_up null "$q") || return 1
	read -r t_id t_dev < <(ublk_up tiered "$q") || return 1
	zram_up || return 1
	node=([zram]=$zram_dev [null]=$null_dev [tiered]=$t_dev)
	for cls in "${CLASSES[@]}"; do
		fill "$zram_dev" "$cls"
		fill "$t_dev" "$cls"
		for job in "${JOBS[@]}"; do
			for ((r = 0; r < ROUNDS; r++)); do
				for ((i = 0; i < 3; i++)); do
					d=${DEVICES[$(rotated $r $i 3)]}
					R[$d,$q,$cls,$job,$r]=$(measure "${node[$d]}" "$job" "$cls")
				done
			done
		done
	done
	zram_down
	del "$t_id"
	del "$null_id"
}
DEVICES=(zram null tiered)

t0=$SECONDS
for q in 1 2; do bench_queues "$q"; done
echo "# vm-bench: $(nproc) vCPUs, $(($(sed -n 's/MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024)) MiB," \
	"kernel $(uname -r), fio ${RUNTIME}s per figure over $AREA, $ROUNDS rounds (order rotated)," \
	"measured in $((SECONDS - t0)) s"
echo "# 4K jobs: IOPS (QD32); 1M jobs: MiB/s (QD4); medians over the rounds; ratios per round," \
	"median (min-max).  zram is measured again next to each ublk row (it has no queues)."
fmt='%-7s %-2s %-10s %9s %9s %9s %-20s %-20s\n'
# shellcheck disable=SC2059
printf "$fmt" data q job ztier zram null ztier/zram ztier/null
for cls in "${CLASSES[@]}"; do
	for q in 1 2; do
		for job in "${JOBS[@]}"; do
			row=()
			for d in tiered zram null; do row+=("$(round_med "$d,$q,$cls" "$job" | cut -d' ' -f1)"); done
			# shellcheck disable=SC2059
			printf "$fmt" "$cls" "$q" "$job" "${row[@]}" \
				"$(round_ratio "tiered,$q,$cls" "zram,$q,$cls" "$job")" \
				"$(round_ratio "tiered,$q,$cls" "null,$q,$cls" "$job")"
		done
	done
done

# The zram tier's own table (text-heavy data), the spill tier against the
# raw namespace (three --nvme spill1-3), sub-page writes to spilled pages on
# the ring against the queue thread (spill1-2), the same for pages demotion
# keeps compressed on the spill (spill1-2) and the memory tables on
# real process memory (issue #11), same boot: make vm-bench adds the
# scripts and the corpus (tests/vm/corpus).
for s in bench-zram bench-spill bench-rmw bench-rmw-packed bench-mem; do
	if [ -r /mnt/add/$s.sh ]; then
		echo
		bash /mnt/add/$s.sh
	else
		echo "# $s skipped: run with --add tests/vm/$s.sh"
	fi
done
