#!/bin/bash
# tests/vm/bench-zram.sh: the zram-tier part of `make vm-bench` (bench.sh
# runs it; it also runs alone: . tests/vm/ublk-vmargs.sh; tests/vm/run
# [--kernel 7.3] "${vm_args[@]}" tests/vm/bench-zram.sh).
#
# ztier's zram tier (every page that is not same-filled goes to the ztier
# device's own kernel zram device, lz4) against a plain kernel zram device
# (lz4), same boot, same data: fio text-like buffers
# (buffer_compress_percentage=75) from a fixed seed, so every device gets
# the same bytes (checked: the first 16 MiB read back hash the same).
# Devices, all up together:
#   zram         kernel zram, lz4
#   ztier        the zram tier, pages copied by the kernel
#                (ZTIER_UBLK_ZERO_COPY=0)
#   ztier-zc     the same as ztier-ublk adds it: zero copy where the
#                kernel has it (7.x: AUTO_BUF_REG and USER_COPY;
#                ublk/zerocopy.c); on 6.12 the same path as ztier
#   null         ztier's null target (stores nothing, reads zeros): the
#                ublk round trip alone, 4K randread only.  A zram-tier
#                read is that round trip plus a read of kernel zram, so
#                null/zram is the most the zram tier could reach, and
#                ztier-zc/null how much of it the zram read costs.
# Each device is filled with $AREA (1 MiB writes); then $ROUNDS rounds, the
# device order rotated every round, of 4K randread over all of it and
# randwrite over its first half at QD32 (IOPS), and 1 MiB sequential read
# of its second half at QD4 (MiB/s: pages written in order, in consecutive
# slots, as a file or a swap-out of a big range leaves them), $RUNTIME s each.
# Reported: per device the median and min-max over the rounds, and each
# ztier device's ratio to zram computed within each round (median, min-max).
# Memory after the fill: mm_stat of each zram device plus ztier's store.
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/bench-lib.sh || exit 1
RUNTIME=${RUNTIME:-5}
ROUNDS=${ROUNDS:-5}
AREA=${ZAREA:-128M}
HALF=$(($(numfmt --from=iec "$AREA") / 2))
modprobe ublk_drv && modprobe zram num_devices=0 || exit 1
bench_conf=/mnt/add/fixtures/bench-zram.conf
DEVICES=(zram null ztier ztier-zc)
JOBS=(randread randwrite read)
declare -A DEV ID R MM SUM

fio_run() { # DEV FLAGS...: terse v3 output line
	local d=$1
	shift
	fio --name=b --filename="$d" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--refill_buffers --buffer_compress_percentage=75 --randseed=4242 "$@" \
		--output-format=terse --terse-version=3 --eta=never | tail -n 1
}
field() { cut -d';' -f"$1" | cut -d. -f1; }   # terse field, integer part
job() { # DEV JOB -> IOPS (4K) or MiB/s (1M)
	local t=(--time_based --runtime="$RUNTIME" --size="$AREA")
	local half=(--time_based --runtime="$RUNTIME" --size="$HALF")
	case $2 in
	randread)  fio_run "$1" --rw=randread --bs=4k --iodepth=32 --norandommap "${t[@]}" | field 8 ;;
	randwrite) fio_run "$1" --rw=randwrite --bs=4k --iodepth=32 --norandommap "${half[@]}" | field 49 ;;
	read)      echo $(($(fio_run "$1" --rw=read --bs=1M --iodepth=4 --offset="$HALF" "${half[@]}" |
			field 7) / 1024)) ;;
	esac
}
up() { # NAME: make it, fill it, note its hash and memory
	local out z
	case $1 in
	zram)
		z=$(cat /sys/class/zram-control/hot_add) || return 1
		echo lz4 >"/sys/block/zram$z/comp_algorithm" && echo 256M >"/sys/block/zram$z/disksize" ||
			return 1
		DEV[$1]=/dev/zram$z ID[$1]=$z ;;
	null)
		out=$(ztier-ublk add --policy $bench_conf --target null --queues 1) ||
			{ echo "# $1: $out"; return 1; }
		ID[$1]=$(add_id <<<"$out")
		DEV[$1]=/dev/ublkb${ID[$1]} ;;
	ztier*)
		out=$( [ "$1" = ztier ] && export ZTIER_UBLK_ZERO_COPY=0
			ztier-ublk add --policy $bench_conf --queues 1) || { echo "# $1: $out"; return 1; }
		ID[$1]=$(add_id <<<"$out")
		DEV[$1]=/dev/ublkb${ID[$1]} ;;
	esac
	echo none 2>/dev/null >"/sys/block/${DEV[$1]#/dev/}/queue/scheduler"
	fio_run "${DEV[$1]}" --rw=write --bs=1M --iodepth=4 --size="$AREA" >/dev/null || return 1
	SUM[$1]=$(dd if="${DEV[$1]}" bs=1M count=16 iflag=direct status=none | md5sum | cut -c1-12)
	MM[$1]=$(memory "$1")
}
memory() { # NAME -> "stored zram_memory store_memory" (bytes)
	local z o m
	if [ "$1" = null ]; then
		echo "0 0 0"
		return
	elif [ "$1" = zram ]; then
		z=/sys/block/zram${ID[$1]}
		read -r o _ m _ <"$z/mm_stat"
		echo "$o $m 0"
		return
	fi
	sleep 0.5                                   # the stats file: 200 ms
	z=$(ztier-ublk list | awk -v id="${ID[$1]}:" '$1 == "dev" && $2 == "id" { cur = ($3 == id) }
		cur && $1 == "zram" { print $2; exit }')
	read -r o _ m _ <"/sys/block/${z#/dev/}/mm_stat"
	echo "$o $m $(list_field "${ID[$1]}" store mem_used)"
}
down() {
	case $1 in
	zram) echo "${ID[$1]}" >/sys/class/zram-control/hot_remove ;;
	*) ztier-ublk del "${ID[$1]}" >/dev/null ;;
	esac
}

t0=$SECONDS
for d in "${DEVICES[@]}"; do up "$d" || { echo "# bench-zram: $d did not come up"; exit 1; }; done
zc=$(list_field "${ID[ztier-zc]}" requests zero_copy_pages)
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < ${#DEVICES[@]}; i++)); do
		d=${DEVICES[$(rotated $r $i ${#DEVICES[@]})]}
		for j in "${JOBS[@]}"; do
			[ "$d" = null ] && [ "$j" != randread ] && continue
			R[$d,$j,$r]=$(job "${DEV[$d]}" "$j")
		done
	done
done
zc=$(($(list_field "${ID[ztier-zc]}" requests zero_copy_pages) - zc))
zc_copy=$(list_field "${ID[ztier]}" requests zero_copy_pages)
for d in "${DEVICES[@]}"; do down "$d"; done

echo "# bench-zram: text-like data (fio compress 75%, seed 4242), $AREA, lz4; $(nproc) vCPUs," \
	"kernel $(uname -r); $ROUNDS rounds, order rotated, fio ${RUNTIME}s a job; measured in" \
	"$((SECONDS - t0)) s"
echo "# same data: md5(16M) $(for d in "${DEVICES[@]}"; do [ "$d" = null ] || printf '%s %s  ' "$d" "${SUM[$d]}"; done) (null reads zeros)"
echo "# pages read with zero copy during the rounds: ztier-zc $zc, ztier $zc_copy"
echo "# 4K jobs: IOPS at QD32; read: 1 MiB sequential at QD4, MiB/s; median (min-max) over the rounds"
printf '%-14s %-24s %-24s %-24s %9s\n' device "4K randread" "4K randwrite" "1M read" mem/byte
for d in "${DEVICES[@]}"; do
	read -r o m s <<<"${MM[$d]}"
	mapfile -t row < <(round_cells "$d")
	printf '%-14s %-24s %-24s %-24s %9s\n' "$d" "${row[@]}" "$(per $((m + s)) "$o")"
done
for d in ztier ztier-zc; do
	mapfile -t row < <(round_cells "$d" zram)
	printf '%-14s %-24s %-24s %-24s\n' "$d/zram" "${row[@]}"
done
# (4K randread only: the null target runs no other job)
printf '%-14s %-24s\n' null/zram "$(round_ratio null zram randread)"
for d in ztier ztier-zc; do printf '%-14s %-24s\n' "$d/null" "$(round_ratio "$d" null randread)"; done
