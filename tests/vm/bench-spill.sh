#!/bin/bash
# tests/vm/bench-spill.sh: ztier's spill tier against fio on the raw NVMe
# namespace, same boot (issue 12: spill 4K randread >= 0.8x of the raw
# namespace).  Three namespaces of the same size, one per device:
#   nvme       the raw namespace (spill1), fio on it directly
#   ztier      a ztier device spilling every page to spill2, pages copied
#              by the kernel (ZTIER_UBLK_ZERO_COPY=0)
#   ztier-zc   the same on spill3 as ztier-ublk adds it: zero copy where
#              the kernel has it (7.x), else the same path as ztier
# Spill in plaintext (encrypt = no) so that the figure is the spill path's:
# dm-crypt's cost is spill-crypt.sh's.  Each device is filled with $AREA
# of random data (1 MiB writes), then $ROUNDS rounds, device order rotated,
# of 4K randread over all of it and 4K randwrite over its first half at
# QD32 (IOPS) and 1 MiB sequential read of its second half at QD4 (MiB/s),
# $RUNTIME s each.  (An overwritten page gets a new slot, so after the 4K
# writes the first half's neighbours are no longer neighbours on the spill
# and a 1 MiB read of it is many small reads; the second half stays as the
# fill wrote it, as in bench-zram.sh.)
# Reported: median (min-max) per device and each ztier device's ratio to
# the raw namespace computed within each round.  Runs from the host:
#   . tests/vm/ublk-vmargs.sh; tests/vm/run [--kernel 7.3] --nvme spill1=192M \
#     --nvme spill2=192M --nvme spill3=192M "${vm_args[@]}" tests/vm/bench-spill.sh
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/bench-lib.sh || exit 1
RUNTIME=${RUNTIME:-5}
ROUNDS=${ROUNDS:-5}
AREA=128M
modprobe ublk_drv || exit 1
DEVICES=(nvme ztier ztier-zc)
JOBS=(randread randwrite read)
declare -A DEV ID R NS=([nvme]=spill1 [ztier]=spill2 [ztier-zc]=spill3)

job() { # DEV JOB: IOPS (4K) or MiB/s (1M read)
	local d=$1 out
	case $2 in
	randread)  out=$(fio_run "$d" --rw=randread --bs=4k --iodepth=32 --size="$AREA") ;;
	randwrite) out=$(fio_run "$d" --rw=randwrite --bs=4k --iodepth=32 --size=$((128 << 19))) ;;
	read)      out=$(fio_run "$d" --rw=read --bs=1M --iodepth=4 --offset=$((128 << 19)) \
			--size=$((128 << 19))) ;;
	esac
	case $2 in
	randwrite) cut -d';' -f49 <<<"$out" ;;
	read)      echo $(($(cut -d';' -f7 <<<"$out") / 1024)) ;;
	*)         cut -d';' -f8 <<<"$out" ;;
	esac
}
fio_run() { # DEV FLAGS...: terse v3 line, random (incompressible) data
	local d=$1
	shift
	fio --name=b --filename="$d" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--refill_buffers --randseed=4242 --time_based --runtime="$RUNTIME" "$@" \
		--output-format=terse --terse-version=3 --eta=never | tail -n 1
}
up() { # NAME
	local ns
	case $1 in
	nvme)     ns=$(spill_ns "${NS[$1]}") && DEV[$1]=$(readlink -f "$ns") ;;
	ztier)    spill_dev "$1" "${NS[$1]}" ZTIER_UBLK_ZERO_COPY=0 ;;
	ztier-zc) spill_dev "$1" "${NS[$1]}" ;;
	esac || return 1
	fill_random "${DEV[$1]}" "$AREA"
}

t0=$SECONDS
for d in "${DEVICES[@]}"; do up "$d" || { echo "# bench-spill: $d did not come up"; exit 1; }; done
sleep 0.5                                     # the stats file: 200 ms
for d in ztier ztier-zc; do
	echo "# $d: spill slots used/total after the fill: $(list_field "${ID[$d]}" spill slots)"
done
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < ${#DEVICES[@]}; i++)); do
		d=${DEVICES[$(rotated $r $i ${#DEVICES[@]})]}
		for j in "${JOBS[@]}"; do R[$d,$j,$r]=$(job "${DEV[$d]}" "$j"); done
	done
done
zc=$(list_field "${ID[ztier-zc]}" requests zero_copy_pages)
zc_copy=$(list_field "${ID[ztier]}" requests zero_copy_pages)
for d in ztier ztier-zc; do ztier-ublk del "${ID[$d]}" >/dev/null; done

echo "# bench-spill: random data, $AREA per device, spill in plaintext; $(nproc) vCPUs," \
	"kernel $(uname -r); $ROUNDS rounds, order rotated, fio ${RUNTIME}s a job; measured in" \
	"$((SECONDS - t0)) s"
echo "# pages read with zero copy: ztier-zc $zc, ztier $zc_copy"
echo "# 4K jobs: IOPS at QD32; read: 1 MiB sequential at QD4, MiB/s; median (min-max) over the rounds"
printf '%-11s %-24s %-24s %-24s\n' device "4K randread" "4K randwrite" "1M read"
for d in "${DEVICES[@]}"; do
	mapfile -t row < <(round_cells "$d")
	printf '%-11s %-24s %-24s %-24s\n' "$d" "${row[@]}"
done
for d in ztier ztier-zc; do
	mapfile -t row < <(round_cells "$d" nvme)
	printf '%-11s %-24s %-24s %-24s\n' "$d/nvme" "${row[@]}"
done
