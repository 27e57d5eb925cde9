# daemon_needs.sh — what the host scripts that run ztierd need (sourced
# after tests/tap.sh, with $B the build's bin dir): root, the kernel's
# zram-control, the built programs and socat; without them the script skips.
[ "$(id -u)" = 0 ] || skip_all "needs root (zram hot_add, swapon)"
[ -e /sys/class/zram-control/hot_add ] || skip_all "no zram-control in this kernel"
[ -x $B/ztierd ] && [ -x $B/ztierctl ] || skip_all "build ztierd/ztierctl first (make)"
command -v socat >/dev/null || skip_all "socat not installed"

# remove_labelled_swaps LABEL: the zram swaps labelled LABEL that a ztierd
# under test could not take down (swapoff, reset, hot_remove); nothing else.
remove_labelled_swaps() {
	for d in $(awk 'NR > 1 {print $1}' /proc/swaps); do
		[ "$(blkid -o value -s LABEL "$d" 2>/dev/null)" = "$1" ] || continue
		swapoff "$d"; id=${d#/dev/zram}
		echo 1 >/sys/block/zram$id/reset; echo "$id" >/sys/class/zram-control/hot_remove
	done
}

# start_logged: a ztierd on $T/ztier.conf, an empty policy dir ($T/empty)
# and $T/sock, its log appended to $T/log; its pid in $pid.  The log is
# appended to, so a new ztierd is ready at one more "ready:" line.
readies() { grep -c "ready:" "$T/log" 2>/dev/null; }
start_logged() {
	local n0 i
	n0=$(readies)
	$B/ztierd --foreground --config "$T/ztier.conf" --policy-dir "$T/empty" --socket "$T/sock" 2>>"$T/log" &
	pid=$!
	for i in $(seq 100); do [ "$(readies)" -gt "${n0:-0}" ] && return 0; sleep 0.1; done
	return 1
}
