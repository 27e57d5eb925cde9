#!/bin/bash
# tests/vm/bench-zram.sh: the text-heavy part of `make vm-bench` (bench.sh
# runs it last; it also runs alone: tests/vm/run --add tests/vm/fixtures
# tests/vm/bench-zram.sh).
#
# The ztier device with its zram tier (every non-same-filled page to ztier's
# own kernel zram device, lz4) against a plain kernel zram device (lz4), same
# boot, same data: fio text-like buffers (buffer_compress_percentage=75)
# from a fixed seed, so both get the same bytes (checked: the first 16 MiB
# read back from each must hash the same).  Per device: the fill of $AREA
# (1 MiB sequential writes, QD4) in MiB/s, then 4K randwrite and randread at
# QD32 (IOPS) and 1M sequential read at QD4 (MiB/s), $RUNTIME s each.  Memory
# after the fill, from mm_stat (orig_data_size, mem_used_total) of each zram
# device, plus, for ztier, its store's memory (0 when every page went to
# zram) — per stored byte.  The ztier server's own fixed cost (RSS: locked
# request buffers and page-table pool) is shown apart, not per byte.
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
RUNTIME=${RUNTIME:-5}
AREA=${ZAREA:-128M}
modprobe ublk_drv && modprobe zram num_devices=0 || exit 1
# Every page that is not same-filled to ztier's zram tier (lz4).
bench_conf=/mnt/add/fixtures/bench-zram.conf

data="--refill_buffers --buffer_compress_percentage=75 --randseed=4242"
fio_run() { # DEV FLAGS...: terse v3 output line
	local d=$1
	shift
	# shellcheck disable=SC2086
	fio --name=b --filename="$d" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		$data "$@" --output-format=terse --terse-version=3 --eta=never | tail -n 1
}
field() { cut -d';' -f"$1" | cut -d. -f1; }   # terse field, integer part
measure() { # DEV KEY: res[KEY] = "fill_MiBs randwrite_IOPS randread_IOPS read_MiBs"
	local d=$1 fill rw rr sr
	fill=$(fio_run "$d" --rw=write --bs=1M --iodepth=4 --size="$AREA" | field 48)
	sync_mm "$d"
	rw=$(fio_run "$d" --rw=randwrite --bs=4k --iodepth=32 --size="$AREA" --time_based \
		--runtime="$RUNTIME" --norandommap | field 49)
	rr=$(fio_run "$d" --rw=randread --bs=4k --iodepth=32 --size="$AREA" --time_based \
		--runtime="$RUNTIME" --norandommap | field 8)
	sr=$(fio_run "$d" --rw=read --bs=1M --iodepth=4 --size="$AREA" --time_based \
		--runtime="$RUNTIME" | field 7)
	res[$2]="$((fill / 1024)) $rw $rr $((sr / 1024))"
}
# sync_mm DEV: after the fill, note the data's hash and the zram memory
sync_mm() {
	local z
	sum[$1]=$(dd if="$1" bs=1M count=16 iflag=direct status=none | md5sum | cut -c1-12)
	z=$(find /sys/block -maxdepth 1 -name 'zram*' | head -n 1)
	read -r orig compr memu _ <"$z/mm_stat"
	mm[$1]="$orig $compr $memu"
}
declare -A sum mm res
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

t0=$SECONDS
z=$(cat /sys/class/zram-control/hot_add) || exit 1
echo lz4 >"/sys/block/zram$z/comp_algorithm"
echo 256M >"/sys/block/zram$z/disksize"
echo none 2>/dev/null >"/sys/block/zram$z/queue/scheduler"
measure "/dev/zram$z" zram
zmm=${mm[/dev/zram$z]} zsum=${sum[/dev/zram$z]}
echo "$z" >/sys/class/zram-control/hot_remove

declare -A tmm tsum tstore trss
for q in 1 2; do
	out=$(ztier-ublk add --policy $bench_conf --queues "$q") || { echo "# ztier add failed: $out"; exit 1; }
	id=$(printf '%s\n' "$out" | sed -n 's/^dev id \([0-9]*\): .*/\1/p')
	echo none 2>/dev/null >"/sys/block/ublkb$id/queue/scheduler"
	measure "/dev/ublkb$id" "ztier$q"
	tmm[$q]=${mm[/dev/ublkb$id]} tsum[$q]=${sum[/dev/ublkb$id]}
	pid=$(ztier-ublk list | awk -v id="$id:" '$1 == "dev" { cur = ($3 == id) } cur && $1 == "max" { print $7 }')
	tstore[$q]=$(ztier-ublk list | awk -v id="$id:" '$1 == "dev" { cur = ($3 == id) } cur && $1 == "store" { print $7 }')
	trss[$q]=$(awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$pid/status")
	ztier-ublk del "$id" >/dev/null
done

echo "# bench-zram: text-like data (fio compress 75%, seed 4242), $AREA, lz4; $(nproc) vCPUs," \
	"kernel $(uname -r); fio ${RUNTIME}s per timed figure; measured in $((SECONDS - t0)) s"
echo "# same data: zram md5(16M) $zsum, ztier q1 ${tsum[1]}, q2 ${tsum[2]}"
fmt='%-12s %9s %10s %10s %9s %10s %9s %9s %9s %9s\n'
# shellcheck disable=SC2059
printf "$fmt" device fill-MiB/s randw-IOPS randr-IOPS read-MiB/s stored-MiB compr-MiB \
	zram-MiB store-MiB mem/byte
read -r f1 f2 f3 f4 <<<"${res[zram]}"
read -r o c m <<<"$zmm"
# shellcheck disable=SC2059
printf "$fmt" "zram" "$f1" "$f2" "$f3" "$f4" "$(mib "$o")" "$(mib "$c")" "$(mib "$m")" 0 "$(per "$m" "$o")"
for q in 1 2; do
	read -r g1 g2 g3 g4 <<<"${res[ztier$q]}"
	read -r o c m <<<"${tmm[$q]}"
	s=${tstore[$q]:-0}
	# shellcheck disable=SC2059
	printf "$fmt" "ztier q$q" "$g1" "$g2" "$g3" "$g4" "$(mib "$o")" "$(mib "$c")" "$(mib "$m")" \
		"$(mib "$s")" "$(per $((m + s)) "$o")"
	printf '%-12s %9s %10s %10s %9s\n' "  ztier/zram" "$(per "$g1" "$f1")" "$(per "$g2" "$f2")" \
		"$(per "$g3" "$f3")" "$(per "$g4" "$f4")"
	echo "#   ztier q$q server VmRSS $(mib "${trss[$q]}") MiB (fixed: locked request buffers, page-table pool)"
done
