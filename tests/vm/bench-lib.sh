#!/bin/bash
# tests/vm/bench-lib.sh: what the guest's bench scripts share, sourced from
# /mnt/add (tests/vm/ublk-vmargs.sh and `make vm-bench` add it).
#
# Rounds: under TCG one run of a job means little, so a bench measures
# every device ROUNDS times, the device order rotated each round (a host
# load that drifts falls on every device alike), into R[DEV,JOB,ROUND] (an
# associative array the script declares).  It reports the median (min-max)
# over the rounds, and ratios between devices computed within each round.

# list_field ID SECTION KEY: one figure of `ztier-ublk list`
list_field() {
	ztier-ublk list | awk -v id="$1:" -v sec="$2" -v key="$3" '
	$1 == "dev" && $2 == "id" { cur = ($3 == id) }
	cur && $1 == sec { for (i = 2; i < NF; i++) if ($i == key) { print $(i + 1); exit } }'
}
# add_id: `ztier-ublk add`'s output on stdin -> the new device's id
add_id() { sed -n 's/^dev id \([0-9]*\): .*/\1/p'; }
# per A B: A / B with 3 decimals, or "-" when B is not a positive number
per() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }'; }
# med: numbers on stdin, one a line (others ignored) -> "median (min-max)"
med() {
	grep -E '^[0-9.]+$' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
# rotated ROUND I N: the index of the I-th of N devices measured in ROUND
rotated() { echo $((($2 + $1) % $3)); }
# round_med DEV JOB: median (min-max) of DEV's figures for JOB
round_med() {
	local r
	for ((r = 0; r < ROUNDS; r++)); do echo "${R[$1,$2,$r]:-}"; done | med
}
# round_ratio DEV REF JOB: median (min-max) of DEV / REF within each round
round_ratio() {
	local r
	for ((r = 0; r < ROUNDS; r++)); do per "${R[$1,$3,$r]:-0}" "${R[$2,$3,$r]:-0}"; echo; done | med
}
# ab_table HEADER...: a row of JOBS' medians per device of DEVICES, then
# the first device's ratio to the second, per round (bench-rmw*.sh)
ab_table() {
	local fmt='%-10s' d row
	for _ in "$@"; do fmt+=' %-22s'; done
	fmt+='\n'
	# shellcheck disable=SC2059
	printf "$fmt" device "$@"
	for d in "${DEVICES[@]}"; do
		mapfile -t row < <(round_cells "$d")
		printf "$fmt" "$d" "${row[@]}"
	done
	mapfile -t row < <(round_cells "${DEVICES[0]}" "${DEVICES[1]}")
	printf "$fmt" "${DEVICES[0]}/${DEVICES[1]}" "${row[@]}"
}
# terse_pct LINE FIELD0 P: percentile P of a fio terse v3 line's completion
# latency whose fields start at FIELD0 (read 18, write 59), in us
terse_pct() {
	cut -d';' -f"$2"-$(($2 + 19)) <<<"$1" | tr ';' '\n' | sed -n "s/^$3%=//p" | head -n 1
}
# round_cells DEV [REF]: one line per job of JOBS: DEV's median, or with
# REF its ratio to REF (for `mapfile -t row < <(round_cells ...)`)
round_cells() {
	local j
	for j in "${JOBS[@]}"; do
		if [ $# = 1 ]; then round_med "$1" "$j"; else round_ratio "$1" "$2" "$j"; fi
		echo
	done
}

# Spill benches (bench-spill.sh, bench-rmw.sh).
# spill_ns NAME: the NVMe namespace the VM bed made with --nvme NAME=SIZE
spill_ns() {
	local ns=/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_$1
	[ -b "$ns" ] || { echo "# no namespace $ns" >&2; return 1; }
	echo "$ns"
}
# spill_dev NAME NS [VAR=VALUE...]: a ztier device spilling every page to
# namespace NS (fixtures/bench-spill.conf, plaintext; or the policy file
# $SPILL_POLICY names), 1 queue, added with
# VAR=VALUE in its environment; sets ID[NAME] and DEV[NAME] (the caller's
# associative arrays)
spill_dev() {
	local name=$1 ns out
	ns=$(spill_ns "$2") || return 1
	shift 2
	out=$(env "$@" ztier-ublk add --policy "${SPILL_POLICY:-/mnt/add/fixtures/bench-spill.conf}" --spill "$ns" \
		--queues 1) || { echo "# $name: $out"; return 1; }
	ID[$name]=$(add_id <<<"$out")
	DEV[$name]=/dev/ublkb${ID[$name]}
}
# fill_random DEV SIZE: no I/O scheduler, then SIZE of random data in 1 MiB writes
fill_random() {
	echo none 2>/dev/null >"/sys/block/${1#/dev/}/queue/scheduler"
	fio --name=f --filename="$1" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw=write --bs=1M --iodepth=4 --size="$2" --refill_buffers --randseed=1 \
		--output=/dev/null --eta=never
}
