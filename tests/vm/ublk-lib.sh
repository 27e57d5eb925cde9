#!/bin/bash
# tests/vm/ublk-lib.sh: helpers shared by the ublk guest scripts (sourced).
# The TAP functions are tests/tap.sh's (tests/vm/run ships it to every
# guest); here: groups of checks, device add/del through ztier-ublk, stats
# read back from `ztier-ublk list`, fio runs.  The policies the tests use
# are files in tests/vm/fixtures/ (the .t files add them: $fx).

. /usr/share/ztier-tests/tap.sh
fx=/mnt/add/fixtures
t_group=$SECONDS

group() { # name: start a group, print the time the previous one took
	[ -n "${g_name:-}" ] && echo "# group '$g_name' took $((SECONDS - t_group)) s"
	g_name=$1 t_group=$SECONDS
	echo "# --- $1"
}
finish() {
	group end
	done_testing
}

# add ARGS...: create a device; sets $id and $dev.  Fails unless it is a
# block device afterwards.  Bounded: a server that never gets LIVE fails the
# check (with where its threads wait) instead of hanging the whole boot.
add() {
	local out rc
	out=$(timeout 120 ztier-ublk add "$@" 2>&1); rc=$?
	echo "$out"
	[ $rc = 124 ] && { echo "ztier-ublk add: no answer in 120 s"; server_stacks; }
	[ $rc = 0 ] || return 1
	id=$(printf '%s\n' "$out" | sed -n 's/^dev id \([0-9]*\): .*/\1/p')
	dev=/dev/ublkb$id
	[ -n "$id" ] && [ -b "$dev" ]
}
del() { timeout 120 ztier-ublk del "$1"; }

# server_stacks: where every ztier thread (ztier-ublk, ztier-store, ...)
# waits in the kernel.
server_stacks() {
	local t
	for t in /proc/[0-9]*/task/*; do
		[[ "$(cat "$t/comm" 2>/dev/null)" == ztier* ]] || continue
		echo "${t#/proc/}: $(grep -v -m 3 'schedule' "$t/stack" 2>/dev/null | tr '\n' ' ')"
	done
}

# stats ID: key=value lines from `ztier-ublk list` for one device.
stats() {
	ztier-ublk list | awk -v id="$1:" '
	$1 == "dev" && $2 == "id" { cur = ($3 == id) }
	!cur { next }
	$1 == "pages"  { print "pages_meta=" $3; print "pages_store=" $5; print "pages_zram=" $7; print "pages_spill=" $9 }
	$1 == "writes" { print "w_samefill=" $3; print "w_text=" $5; print "w_mixed=" $7; print "w_random=" $9 }
	$1 == "store"  { print "store_pages=" $3; print "store_bytes=" $5; print "mem_used=" $7; print "mem_limit=" $9 }
	$1 == "spill"  { split($3, a, "/"); print "spill_used=" a[1]; print "spill_total=" a[2] }
	$1 == "requests" { print "reads=" $3; print "writes=" $5; print "discards=" $9; print "errors=" $13; print "enospc=" $15; print "zc_pages=" $17 }
	$1 == "demotion" { print "demoted=" $5; print "demoted_bytes=" $7; print "promoted=" $9 }
	$1 == "max" { print "pid=" $7; print "flags=" $9; print "state=" $11 }'
}
get() { stats "$1" | sed -n "s/^$2=//p"; }

# wait_stat ID KEY OP VALUE: the stats are refreshed every 200 ms by the
# server; wait (up to 5 s) until KEY OP VALUE holds (OP: -eq -lt -gt ...).
wait_stat() {
	local i v
	for i in $(seq 50); do
		v=$(get "$1" "$2")
		[ -n "$v" ] && [ "$v" "$3" "$4" ] && return 0
		sleep 0.1
	done
	echo "$2 = $v, wanted $3 $4"
	return 1
}

# fio_data CLASS: fio flags that make pages of that class, with a verify mode
# that works for it (crc32c headers would make same-filled pages mixed).
fio_data() {
	case $1 in
	zero)    echo "--verify=pattern --verify_pattern=0x00000000" ;;
	pattern) echo "--verify=pattern --verify_pattern=0x5aa5c33c" ;;
	text)    echo "--verify=crc32c --refill_buffers --buffer_compress_percentage=75" ;;
	mixed)   echo "--verify=crc32c --refill_buffers --buffer_compress_percentage=40" ;;
	random)  echo "--verify=crc32c --refill_buffers" ;;
	esac
}

# fio_verify DEV RW BS DEPTH CLASS SIZE [more fio flags]
fio_verify() {
	local dev=$1 rw=$2 bs=$3 qd=$4 cls=$5 size=$6
	shift 6
	# shellcheck disable=SC2046
	fio --name=v --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw="$rw" --bs="$bs" --iodepth="$qd" --size="$size" --do_verify=1 \
		--verify_fatal=1 --verify_state_save=0 $(fio_data "$cls") "$@" \
		--output=/tmp/fio.out || { tail -n 25 /tmp/fio.out; return 1; }
}

export LD_LIBRARY_PATH=/mnt/add${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$PATH:/mnt/add
command -v ztier-ublk | grep -q /mnt/add && echo "# WARNING: ztier-ublk not installed in the guest; using the build tree's"
