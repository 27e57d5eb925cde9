#!/bin/bash
# tests/vm/swap-safety.sh (guest, run by tests/vm/swap-safety.t): every
# shipped policy as swap under a memory hog that keeps 1.5x the guest's RAM,
# built by ztierd as an admin would: alone, and under the shipped ztier.conf's
# zram swap (priority 150 over ztier's 100).  A swap-serving server that
# allocates on its I/O path deadlocks here (the store's refill reclaimed into
# its own device: issue "the shipped default stack deadlocks").
#
# Pass, per run: the hog completes with 0 verify failures, no hung task, no
# OOM kill, writeback throttling off on the ztier disk, `ztierctl down`
# leaves no swap, no device and no state file (ztierd keeps a swap device's
# pages in /dev/shm/ztier/ so that a dead server can be replaced).  Peak swap use per device is printed (and
# ztier's must be > 0) so that a run cannot pass idle.
#
# Only what the VM lacks is overridden, in a drop-in per policy: spill targets
# (an NVMe namespace here), the device
# size (the shipped fractions of RAM cannot hold the hog's overflow at all in
# a guest this small) and the queue depth (the server locks queues x depth x
# 512 KiB of request buffers, at most RAM/8: 120 MiB here).  ml-training is a file-system policy;
# it runs as swap with its [fs] section replaced by [swap].
#
# SWAP_SAFETY_RUNS="policy:alone policy:zram ..." picks runs (default: all);
# SWAP_SAFETY_SECONDS the hog's time (default 30: ten runs must fit in CI's
# time, and the peak swap use printed shows each one was under pressure).
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:$PATH
. /usr/share/ztier-tests/tap.sh

if [ "${ZTIER_INSTALL:-}" != ok ] || ! command -v ztierd >/dev/null; then
	skip_all "ztier is not installed in the guest (make install: ${ZTIER_INSTALL:-?})"
fi
modprobe ublk_drv && modprobe zram num_devices=0 || { echo "Bail out! no ublk_drv/zram"; exit 1; }

[ -r /mnt/add/swap-safety.env ] && . /mnt/add/swap-safety.env   # from swap-safety.t
W=/tmp/ss
SHARE=/usr/share/ztier
SECS=${SWAP_SAFETY_SECONDS:-30}
RUNS=${SWAP_SAFETY_RUNS:-default:alone default:zram build:alone build:zram database:alone database:zram desktop:alone desktop:zram ml-training:alone ml-training:zram}
ram_mb=$(($(sed -n 's/MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024))
hog_mb=$((ram_mb * 3 / 2))
spill_id() { echo "nvme-QEMU_NVMe_Ctrl_$1"; }
mkdir -p $W

# policy NAME DIR: the shipped policy and the drop-in that fits it to the VM.
policy() {
	local name=$1 d=$2/policy.d
	mkdir -p "$d/$name.conf.d"
	if [ "$name" = ml-training ]; then
		sed '/^\[fs\]/,$d' $SHARE/examples/$name.conf >"$d/$name.conf"
		printf '[swap]\npriority = 100\n' >>"$d/$name.conf"
	else
		cp $SHARE/examples/$name.conf "$d/$name.conf"
	fi
	{
		echo "# the VM's disks, and room for the hog's overflow"
		echo "[device]"
		echo "size = ram*2"
		# locked request buffers (queues x depth x 512K) must fit RAM/8
		case $name in database | ml-training) echo "depth = 32" ;; build | desktop) echo "depth = 64" ;; esac
		case $name in
		database | ml-training) printf '[spill]\ntarget = %s\n' "$(spill_id spill0)" ;;
		esac
	} >"$d/$name.conf.d/90-vm.conf"
}

# conf DIR alone|zram: ztier.conf, without or with the shipped zram swap.
conf() {
	if [ "$2" = zram ]; then
		cp $SHARE/ztier.conf "$1/ztier.conf"
	else
		printf '[ztierd]\nlog-level = info\n' >"$1/ztier.conf"
	fi
}

wait_log() { # file pattern seconds
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# kernel_count PATTERN: lines of the kernel log since this run began.
kernel_count() { dmesg | tail -n +"$((dmesg_mark + 1))" | grep -c -- "$1"; }

# run POLICY MODE: one hog under one stack; TAP lines for it.
run() {
	local name=$1 mode=$2 d=$W/$1-$2 rc peaks zdev udev
	mkdir -p "$d"
	policy "$name" "$d"
	conf "$d" "$mode"
	echo "# --- $name as swap, $mode: hog ${hog_mb}M of ${ram_mb}M RAM, ${SECS}s"
	ztierctl policy check "$d/policy.d/$name.conf" 2>&1 | diag
	dmesg_mark=$(dmesg | wc -l)
	ztierd --foreground --config "$d/ztier.conf" --policy-dir "$d/policy.d" 2>"$d/log" &
	local zpid=$!
	if ! wait_log "$d/log" "ready:" 120 || ! grep -q "$name: swap on /dev/ublkb" "$d/log"; then
		ok "$name/$mode: ztierd builds the stack" false
		diag <"$d/log"
		kill -TERM $zpid; wait $zpid
		return
	fi
	udev=$(grep -o "$name: swap on /dev/ublkb[0-9]*" "$d/log" | awk '{print $4}')
	zdev=$(grep -o 'zram-fast: swap on /dev/zram[0-9]*' "$d/log" | awk '{print $4}')
	ok "$name/$mode: writeback throttling off on $udev" \
		'[ "$(cat /sys/class/block/${udev#/dev/}/queue/wbt_lat_usec)" = 0 ]'
	swapon --show | diag
	timeout $((SECS * 6 + 120)) stress-ng --vm 2 --vm-bytes "${hog_mb}M" --vm-keep \
		--vm-method all --verify -t "${SECS}s" --metrics-brief >"$d/hog" 2>&1 &
	local hpid=$! t0=$SECONDS
	declare -A peak=()
	while kill -0 $hpid 2>/dev/null; do
		while read -r dev _ _ used _; do
			[ "${peak[$dev]:-0}" -lt "$used" ] && peak[$dev]=$used
		done < <(tail -n +2 /proc/swaps)
		sleep 1
	done
	wait $hpid; rc=$?
	peaks=$(for k in "${!peak[@]}"; do printf '%s %s MiB, ' "$k" $((peak[$k] / 1024)); done)
	echo "# peak swap use: ${peaks%, }; hog took $((SECONDS - t0)) s"
	grep -E "fail|error|metrc|vm " "$d/hog" | head -n 8 | diag
	ztierctl status 2>&1 | diag
	ok "$name/$mode: hog completes, 0 verify failures (rc $rc)" \
		'[ $rc = 0 ] && ! grep -qi "fail" "$d/hog"'
	ok "$name/$mode: the hog swapped to ztier (peak $((${peak[$udev]:-0} / 1024)) MiB on $udev)" \
		'[ "${peak[$udev]:-0}" -gt 0 ]'
	[ "$mode" = zram ] && ok "$name/$mode: and to zram above it (peak $((${peak[$zdev]:-0} / 1024)) MiB)" \
		'[ "${peak[$zdev]:-0}" -gt 0 ]'
	ok "$name/$mode: no hung task" '[ "$(kernel_count "blocked for more than")" = 0 ]'
	ok "$name/$mode: no OOM kill" '[ "$(kernel_count "Out of memory\|oom-kill")" = 0 ]'
	local t1=$SECONDS
	timeout 300 ztierctl down >"$d/down" 2>&1; rc=$?
	ok "$name/$mode: ztierctl down leaves no swap, no ublk or zram device (rc $rc)" \
		'[ $rc = 0 ] && [ -z "$(swapon --noheadings)" ] && ! ls /sys/block | grep -q "^ublkb\|^zram" && [ -z "$(ls /dev/shm/ztier 2>/dev/null)" ]' ||
		{ diag <"$d/down"; swapon --show | diag; ls /sys/block | diag; }
	echo "# down took $((SECONDS - t1)) s"
	kill -TERM $zpid; wait $zpid
	grep -E "error|warn|swapoff|state" "$d/log" | head -n 5 | diag
}

for r in $RUNS; do
	run "${r%%:*}" "${r#*:}"
done
done_testing
