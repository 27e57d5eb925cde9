#!/bin/bash
# tests/vm/daemon-answers.sh (guest, run by tests/vm/daemon-answers.t): the
# case issue 14 shows, "`ztierctl status` answers in < 100 ms while a 1 GiB
# swapoff runs", on the guest's kernel zram:
#   - ztierd builds a 1280M zram swap (lz4, priority 100);
#   - stress-ng --vm in a 192M memory cgroup pushes ~1 GiB into it; then
#     the cgroup is frozen (its pages stay in swap) and its limit lifted
#     (so that swapoff may bring them back);
#   - `ztierctl down big` swaps it off; meanwhile `ztierctl status`, the
#     socket's ping and `ztierctl metrics` are timed every 200 ms; a
#     baseline is timed before, in the same boot (TCG: compare only there);
#   - a second request meanwhile is told "busy: down big";
#   - SIGTERM ends ztierd at once afterwards.
# ZT_ANSWERS_MIB (default 1024) sets how much to push out.  Prints TAP.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:$PATH
n=0 failed=0
ok() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi; }
diag() { sed 's/^/# /'; }

if [ "${ZTIER_INSTALL:-}" != ok ] || ! command -v ztierd >/dev/null; then
	echo "1..0 # SKIP ztier is not installed in the guest (make install: ${ZTIER_INSTALL:-?})"
	exit 0
fi
modprobe zram num_devices=0 2>/dev/null
MIB=${ZT_ANSWERS_MIB:-1024}
W=/tmp/za
mkdir -p $W/policy.d
export ZTIER_SOCKET=/run/ztier/ztierd.sock
LOG=$W/ztierd.log
cat >$W/ztier.conf <<CONF
[ztierd]
log-level = info
[zram-swap big]
size = $((MIB + 256))M
algorithm = lz4
priority = 100
CONF
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }   # busybox date has no %N
wait_log() { # pattern [seconds]
	local i
	for ((i = 0; i < ${2:-30} * 10; i++)); do grep -q -- "$1" $LOG && return 0; sleep 0.1; done
	return 1
}
used_mib() { awk -v d="$1" '$1 == d {print int($4 / 1024)}' /proc/swaps; }
# time_of CMD...: ms the command took, "-" when it failed
time_of() { local a b; a=$(ms); "$@" >/dev/null 2>&1 || { echo -; return; }; b=$(ms); echo $((b - a)); }
ping_raw() { printf 'ping\n' | socat - UNIX-CONNECT:$ZTIER_SOCKET | grep -qx ok; }
# sample FILE: one line "STATUS PING METRICS" (ms each) into FILE, then the
# same programs' start alone ("ztierctl --help", "socat -V"): under TCG a
# process start alone takes tens of ms, so the daemon's share of an answer
# is its time less its program's start (columns 6 and 7).
sample() {
	local st pg me zs ss
	st=$(time_of ztierctl status) pg=$(time_of ping_raw) me=$(time_of ztierctl metrics)
	zs=$(time_of ztierctl --help) ss=$(time_of socat -V)
	echo "$st $pg $me $zs $ss $(net "$st" "$zs") $(net "$pg" "$ss")" >>"$1"
}
net() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; else echo $(($1 > $2 ? $1 - $2 : 0)); fi; }
# summary FILE COLUMN: "N answers, median X ms, slowest Y ms"
summary() {
	awk -v c="$2" '$c != "-" {print $c}' "$1" | sort -n |
		awk '{v[NR] = $1} END {printf "%d answers, median %d ms, slowest %d ms", NR, v[int((NR + 1) / 2)], v[NR]}'
}
slowest() { awk -v c="$2" '$c != "-" && $c > m {m = $c} END {print m + 0}' "$1"; }
failures() { awk -v c="$2" '$c == "-" {f++} END {print f + 0}' "$1"; }

echo "1..9"
ztierd --foreground --config $W/ztier.conf --policy-dir $W/policy.d 2>$LOG &
zpid=$!
ok "ztierd starts and reports ready" 'wait_log "ready:" 60'
dev=$(grep -o 'big: swap on /dev/zram[0-9]*' $LOG | awk '{print $4}')

# --- fill the swap ---------------------------------------------------------------
mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
mkdir -p /sys/fs/cgroup/hog && echo 192M >/sys/fs/cgroup/hog/memory.max
(echo $BASHPID >/sys/fs/cgroup/hog/cgroup.procs &&
 exec stress-ng --vm 1 --vm-bytes $((MIB + 192))M --vm-keep --vm-method inc-nybble -t 600) >$W/stress.out 2>&1 &
spid=$!
t0=$(ms)
while [ "$(used_mib "$dev")" -lt "$MIB" ] && [ $(($(ms) - t0)) -lt 60000 ] && kill -0 $spid 2>/dev/null; do sleep 0.5; done
echo 1 >/sys/fs/cgroup/hog/cgroup.freeze
echo max >/sys/fs/cgroup/hog/memory.max
sleep 0.5
used=$(used_mib "$dev")
ok "stress-ng pushed $used MiB into $dev in $(($(ms) - t0)) ms (want >= $((MIB * 9 / 10)))" '[ "${used:-0}" -ge $((MIB * 9 / 10)) ]'

# --- baseline, then during the swapoff ---------------------------------------------
for _ in 1 2 3 4 5; do sample $W/before; sleep 0.2; done
t0=$(ms)
ztierctl down big >$W/down.out 2>&1 &
dpid=$!
sleep 0.3
busy=$(ztierctl up 2>&1)
while kill -0 $dpid 2>/dev/null; do sample $W/during; sleep 0.2; done
wait $dpid; rc=$?; t1=$(ms)
echo "before the down (status ping metrics, ms):" | diag; diag <$W/before
echo "during the down:" | diag; diag <$W/during
echo "status before: $(summary $W/before 1); during: $(summary $W/during 1)" | diag
echo "ping   before: $(summary $W/before 2); during: $(summary $W/during 2)" | diag
echo "metrics before: $(summary $W/before 3); during: $(summary $W/during 3)" | diag
grep 'big: swap off\|job' $LOG | diag
ok "ztierctl down big: $used MiB swapped off in $((t1 - t0)) ms (rc $rc)" '[ $rc = 0 ] && ! grep -q "^$dev " /proc/swaps'
nd=$(wc -l <$W/during)
ok "status was asked $nd times during it, none failed" '[ $nd -ge 3 ] && [ "$(failures $W/during 1)" = 0 ]'
echo "status less ztierctl's start: $(summary $W/during 6); ping less socat's start: $(summary $W/during 7)" | diag
ok "ztierctl status: the daemon answered in < 100 ms each time (slowest $(slowest $W/during 6) ms beyond the program's start; whole $(slowest $W/during 1) ms)" '[ "$(slowest $W/during 6)" -lt 100 ]'
ok "ping: the daemon answered in < 100 ms each time (slowest $(slowest $W/during 7) ms beyond socat's start; whole $(slowest $W/during 2) ms)" '[ "$(failures $W/during 2)" = 0 ] && [ "$(slowest $W/during 7)" -lt 100 ]'
ok "ztierctl metrics answered each time (slowest $(slowest $W/during 3) ms)" '[ "$(failures $W/during 3)" = 0 ]'
echo "$busy" | diag
ok "a second request meanwhile: busy" '[[ $busy == *"busy: down big"* ]]'

echo 0 >/sys/fs/cgroup/hog/cgroup.freeze
kill $spid 2>/dev/null; wait $spid 2>/dev/null
t0=$(ms); kill -TERM $zpid; wait $zpid; rc=$?; t1=$(ms)
ok "SIGTERM: exit $rc in $((t1 - t0)) ms, nothing left" '[ $rc = 0 ] && [ -z "$(swapon --noheadings)" ]'
diag <$LOG
exit $((failed > 0))
