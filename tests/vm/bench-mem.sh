#!/bin/bash
# tests/vm/bench-mem.sh: the memory part of `make vm-bench` (issue #11; bench.sh
# runs it, and it runs alone as a tests/vm/run SCRIPT with the corpus and
# tests/vm/bench-lib.sh added).
#
# Data: /mnt/add/corpus.bin, real process memory (python3, perl and node
# heaps, built on the host by tests/vm/corpus: the guest has no
# interpreters).  Devices, one after the other, same boot, same data:
#   ztier-default  the shipped default policy (text zstd:3, mixed lz4hc:3),
#   ztier-lz4      the same with lz4 for text and mixed,
#   zram-zstd, zram-lz4  kernel zram.
# Both ztier policies are the shipped default.conf with its [swap] section
# dropped and [device] set to size 5G, memory-limit 2560M, memory-commit
# on-demand, so that "memory used" is what the store holds (upfront, a swap
# device commits its whole limit at start by design).
#
# Memory, one device up at a time: the corpus written (cycled past its size)
# until 16 MiB, 64 MiB, 256 MiB, 1 GiB and 4 GiB are stored; then churn
# (fio randwrite of 512 MiB over the first GiB, 70% compressible), a
# discard of the first 256 MiB, a discard of everything.  After each step, once the figures
# stop moving (ztier's housekeeper packs in the background; at most 30 s):
# compressed bytes and memory used (ztier: `ztier-ublk list` store bytes and
# mem_used; zram: mm_stat compr_data_size and mem_used_total), overhead =
# (memory - compressed) / compressed, and memory per stored byte.
# Speed, all devices up together, each holding the same first 256 MiB of the
# corpus: $ROUNDS rounds of 4K randread (QD32, $RUNTIME s) on each device in
# turn, the order rotated every round, so that a shared host's load falls on
# every device alike (one 5 s run per device under TCG is noise).  Reported:
# per device the median IOPS and its min-max, and the ratios the goals name
# computed within each round, median and min-max.  ztier's null target
# (ublk-null) joins the rounds: the ublk round trip with no ztier code, the
# ceiling of any ublk server in this boot.
# Prints the issue's two tables, the ratios against kernel zram, and a ztier
# server's idle footprint (VmRSS, VmLck of a 2-queue, depth-128 device
# before any write).  tests/vm/bench-plot draws the second table.
set -u
export PATH=$PATH:/mnt/add LD_LIBRARY_PATH=/mnt/add
. /mnt/add/bench-lib.sh || exit 1
RUNTIME=${RUNTIME:-5}
ROUNDS=${ROUNDS:-5}
CORPUS=${CORPUS:-/mnt/add/corpus.bin}
read -r -a DEVICES <<<"${MEM_DEVICES:-ztier-default ztier-lz4 zram-zstd zram-lz4}"
SHIPPED=/usr/share/ztier/policy.d/default.conf
[ -r "$CORPUS" ] || { echo "# memory tables skipped: no $CORPUS (make vm-bench builds it)"; exit 0; }
[ -r "$SHIPPED" ] || { echo "# memory tables skipped: no $SHIPPED (ztier install: ${ZTIER_INSTALL:-?})"; exit 0; }
modprobe ublk_drv && modprobe zram num_devices=0 || exit 1
CMIB=$(($(stat -c %s "$CORPUS") >> 20))
MIB=1048576

# policy NAME TEXT_CODEC [MIXED_CODEC]: the shipped default, as an on-demand
# store (its mixed codec unless one is given)
policy() {
	awk -v name="$1" -v text="$2" -v mixed="${3:-}" '
	/^\[/ { sec = $0 }
	sec == "[swap]" { next }
	sec == "[policy]" && /^name *=/ { print "name = " name; next }
	sec == "[text]" && /^codec *=/ { print "codec = " text; next }
	sec == "[mixed]" && /^codec *=/ && mixed != "" { print "codec = " mixed; next }
	sec == "[device]" && /^(size|memory-limit|memory-commit) *=/ { next }
	{ print }
	$0 == "[device]" { print "size = 5G"; print "memory-limit = 2560M"; print "memory-commit = on-demand" }
	' "$SHIPPED" >"/tmp/$1.conf"
}
policy ztier-default "$(awk '/^\[/ { s = $0 } s == "[text]" && /^codec/ { print $3 }' "$SHIPPED")"
policy ztier-lz4 lz4 lz4

# ---- devices: up, figures, down ------------------------------------------------
dev="" id="" zid=""
up() { # device kind
	local out
	case $1 in
	ztier-* | ublk-null)
		out=$(if [ "$1" = ublk-null ]; then
			ztier-ublk add --policy /tmp/ztier-lz4.conf --target null
		else ztier-ublk add --policy "/tmp/$1.conf"; fi) || { echo "# $1: add failed: $out"; return 1; }
		id=$(add_id <<<"$out")
		dev=/dev/ublkb$id ;;
	zram-*)
		zid=$(cat /sys/class/zram-control/hot_add) || return 1
		if ! { echo "${1#zram-}" >"/sys/block/zram$zid/comp_algorithm" &&
			echo 5G >"/sys/block/zram$zid/disksize"; }; then
			echo "# $1: this kernel's zram refused it"
			down "$1"
			return 1
		fi
		dev=/dev/zram$zid ;;
	esac
	echo none 2>/dev/null >"/sys/block/${dev#/dev/}/queue/scheduler" || true
}
down() { # device kind
	case $1 in
	ztier-* | ublk-null) ztier-ublk del "$id" >/dev/null ;;
	zram-*) echo "$zid" >/sys/class/zram-control/hot_remove ;;
	esac
}
mem() { # device kind -> "compressed_bytes memory_bytes"
	local c m
	case $1 in
	ztier-*) echo "$(list_field "$id" store bytes) $(list_field "$id" store mem_used)" ;;
	zram-*) read -r _ c m _ <"/sys/block/zram$zid/mm_stat"; echo "$c $m" ;;
	esac
}
# settle KIND: the figures once two readings 0.5 s apart agree (the stats
# file is refreshed every 200 ms; compaction may run a few passes)
settle() {
	local a b
	sync
	a=$(mem "$1")
	for _ in $(seq 60); do
		sleep 0.5
		b=$(mem "$1")
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$a"
}
# write_mib FROM TO: device MiB [FROM, TO) from the corpus, cycled
write_mib() {
	local pos=$1 src n
	while [ "$pos" -lt "$2" ]; do
		src=$((pos % CMIB))
		n=$((CMIB - src))
		[ $((pos + n)) -gt "$2" ] && n=$(($2 - pos))
		dd if="$CORPUS" of="$dev" bs=1M skip="$src" seek="$pos" count="$n" \
			iflag=fullblock oflag=direct conv=notrunc status=none || return 1
		pos=$((pos + n))
	done
}
fio_q() { fio --name=m --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
	--output-format=terse --terse-version=3 --eta=never "$@" | tail -n 1; }
randread() { # MIB -> 4K randread IOPS over the first MIB
	fio_q --rw=randread --bs=4k --iodepth=32 --size="${1}M" --time_based --runtime="$RUNTIME" \
		--norandommap --randrepeat=0 | cut -d';' -f8 | cut -d. -f1
}
churn() { # overwrite 512 MiB of the first GiB at random, 70% compressible
	fio_q --rw=randwrite --bs=4k --iodepth=32 --size=1G --io_size=512M --norandommap \
		--randrepeat=0 --refill_buffers --buffer_compress_percentage=70 >/dev/null
}

declare -A M IOPS UP  # M[device,step] = "stored compressed memory"; IOPS[device,round]
# BIG=0 stops the fill at 1 GiB (the 4 GiB step takes ~3 min a device
# under TCG and ~1.7 GB of guest memory for the lz4 devices).
BIG=${BIG:-1}
TOP=$((BIG ? 4096 : 1024))
STEPS=(16M 64M 256M 1G 4G churn discard256 discardall)
note() { # device step stored_bytes
	M[$1,$2]="$3 $(settle "$1")"
}
run_device() { # device kind
	local d=$1
	up "$d" || return 1
	write_mib 0 16 && note "$d" 16M $((16 * MIB))
	write_mib 16 64 && note "$d" 64M $((64 * MIB))
	write_mib 64 256 && note "$d" 256M $((256 * MIB))
	write_mib 256 1024 && note "$d" 1G $((1024 * MIB))
	[ "$BIG" = 1 ] && write_mib 1024 4096 && note "$d" 4G $((4096 * MIB))
	churn && note "$d" churn $((TOP * MIB))
	blkdiscard -o 0 -l 256M "$dev" && note "$d" discard256 $(((TOP - 256) * MIB))
	blkdiscard -o 0 -l "${TOP}M" "$dev" && note "$d" discardall 0
	down "$d"
}
# The speed phase.  UP[device] = "node ztier-id zram-id" while it is up;
# use DEVICE makes it the current one for up/down/mem/fio.
use() { read -r dev id zid <<<"${UP[$1]}"; }
# ublk-null, ztier's null target (reads return zeros, no ztier code), is
# the ublk round trip alone: what no ublk server can beat in this boot.
speed_rounds() {
	local d r i all=("${DEVICES[@]}" ublk-null) up=()
	local n=${#all[@]}
	for d in "${all[@]}"; do
		up "$d" || continue
		UP[$d]="$dev ${id:--} ${zid:--}"
		if [ "$d" = ublk-null ]; then up+=("$d"); continue; fi
		write_mib 0 256 && settle "$d" >/dev/null && up+=("$d")
	done
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < n; i++)); do
			d=${all[(i + r) % n]}
			[[ " ${up[*]} " == *" $d "* ]] || continue
			use "$d"
			IOPS[$d,$r]=$(randread 256)
		done
	done
	for d in "${!UP[@]}"; do use "$d"; down "$d"; done
}
# stats FORMAT: numbers on stdin -> "median min max", each printed with
# FORMAT (nothing for no numbers)
stats() {
	sort -g | awk -v f="$1" '{ v[NR] = $1 } END { if (NR) printf f " " f " " f "\n",
		(NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
# iops_stats DEVICE [AGAINST]: its IOPS over the rounds, or its ratio to
# AGAINST's within each round (3 decimals), as "median min max"
iops_stats() {
	local r fmt=%.3f
	[ $# = 1 ] && fmt=%.0f
	for ((r = 0; r < ROUNDS; r++)); do
		[ -n "${IOPS[$1,$r]:-}" ] || continue
		if [ $# = 1 ]; then echo "${IOPS[$1,$r]}"
		elif [ -n "${IOPS[$2,$r]:-}" ]; then per "${IOPS[$1,$r]}" "${IOPS[$2,$r]}"; echo
		fi
	done | grep '^[0-9]' | stats "$fmt"
}

# The server's fixed cost: an idle 2-queue, depth-128 device.
idle_footprint() {
	local out pid
	out=$(ztier-ublk add --policy /tmp/ztier-default.conf --queues 2 --depth 128) || {
		echo "# idle footprint: add failed: $out"; return; }
	id=$(add_id <<<"$out")
	sleep 1
	pid=$(ztier-ublk list | awk -v id="$id:" '$1 == "dev" { cur = ($3 == id) } cur && $1 == "max" { print $7 }')
	echo "# idle ztier server, 2 queues x depth 128 ($(list_field "$id" store mem_used) B of store):" \
		"$(awk '/^Vm(RSS|Lck)/ { printf "%s %.1f MiB  ", $1, $2 / 1024 }' "/proc/$pid/status")" \
		"(issue #11: <= 32 MiB)"
	ztier-ublk del "$id" >/dev/null
}

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
pct() { awk -v m="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.1f%%", 100 * (m - c) / c; else print "-" }'; }

t0=$SECONDS
for d in "${DEVICES[@]}"; do run_device "$d"; done
speed_rounds
echo
echo "# bench-mem: $(cat "$CORPUS.txt" 2>/dev/null || echo "$CMIB MiB corpus"); $(nproc) vCPUs," \
	"kernel $(uname -r); measured in $((SECONDS - t0)) s"
echo "# 256 MiB of it stored on each device; 4K randread at QD32, ${RUNTIME}s a run, $ROUNDS rounds" \
	"over the devices up together (order rotated): median IOPS and min-max"
fmt='%-14s %10s %10s %11s %10s %13s\n'
# shellcheck disable=SC2059
printf "$fmt" device compr-MB mem-MB mem/stored randr-IOPS min-max
for d in "${DEVICES[@]}"; do
	[ -n "${M[$d,256M]:-}" ] || continue
	read -r s c m <<<"${M[$d,256M]}"
	read -r med lo hi <<<"$(iops_stats "$d")"
	# shellcheck disable=SC2059
	printf "$fmt" "$d" "$(mb "$c")" "$(mb "$m")" "$(per "$m" "$s")" "${med:--}" "${lo:--}-${hi:--}"
done
# goal DEVICE AGAINST MEM_MAX IOPS_MIN: the issue's ratios, as measured
goal() {
	local a b med lo hi
	[ -n "${M[$1,256M]:-}" ] && [ -n "${M[$2,256M]:-}" ] || return
	read -r _ _ a <<<"${M[$1,256M]}"
	read -r _ _ b <<<"${M[$2,256M]}"
	read -r med lo hi <<<"$(iops_stats "$1" "$2")"
	echo "# $1 / $2: memory $(per "$a" "$b") (goal <= $3), 4K randread median ${med:--}" \
		"(min ${lo:--}, max ${hi:--}, per round) (goal >= $4)"
}
goal ztier-default zram-zstd 1.05 1.3
goal ztier-lz4 zram-lz4 1.00 0.9
read -r med lo hi <<<"$(iops_stats ublk-null)"
echo "# ublk-null (the ublk round trip alone, no ztier code): 4K randread median ${med:--}" \
	"(${lo:--}-${hi:--}); per round: ztier-lz4 / ublk-null $(iops_stats ztier-lz4 ublk-null)," \
	"zram-lz4 / ublk-null $(iops_stats zram-lz4 ublk-null)"
echo
echo "# memory at each step (fill with the corpus, churn: fio randwrite 512 MiB 70% compressible)"
fmt='%-14s %-18s %10s %10s %10s %10s\n'
# shellcheck disable=SC2059
printf "$fmt" device stored compr-MB mem-MB overhead mem/stored
for d in "${DEVICES[@]}"; do
	for st in "${STEPS[@]}"; do
		[ -n "${M[$d,$st]:-}" ] || continue
		read -r s c m <<<"${M[$d,$st]}"
		case $st in
		churn) label="after churn" ;; discard256) label="discarded 256 MiB" ;;
		discardall) label="discarded all" ;; *) label="${st%M} MiB" ;;
		esac
		[ "$st" = 1G ] && label="1 GiB"
		[ "$st" = 4G ] && label="4 GiB"
		# shellcheck disable=SC2059
		printf "$fmt" "$d" "$label" "$(mb "$c")" "$(mb "$m")" "$(pct "$m" "$c")" "$(per "$m" "$s")"
	done
done
idle_footprint
