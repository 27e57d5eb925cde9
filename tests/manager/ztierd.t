#!/bin/bash
# tests/manager/ztierd.t — ztierd on the host's real zram (root): a zram-only
# configuration builds a zram swap device at the declared priority, status and
# metrics show it, the control socket refuses non-root clients, garbage and
# oversized requests and trickling clients (one deadline), reload applies a live change, down/up work, and SIGTERM
# tears everything down (nothing of ours left in /proc/swaps or /sys/block).
# A failed build whose undo fails (a held-open device) is "degraded: cleanup
# pending", never rebuilt on top, and `down` retries the cleanup.
# On a kernel without ublk_drv the default policy costs one log line.
cd "$(dirname "$0")/../.." || exit 1
B=${ZTIER_BUILD:-build/release}/bin
. tests/tap.sh

. tests/manager/daemon_needs.sh

T=$(mktemp -d /tmp/ztierd-t.XXXXXX)
export ZTIER_SOCKET=$T/sock
pid=""
cleanup() {
	[ -s "$T/holder" ] && kill "$(cat "$T/holder")" 2>/dev/null
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && wait "$pid"
	# Anything still named ztier-ztt in /proc/swaps is ours: undo it.
	for d in $(awk 'NR > 1 {print $1}' /proc/swaps); do
		case $(blkid -o value -s LABEL "$d" 2>/dev/null) in ztier-ztt | ztier-ztt2) ;; *) continue ;; esac
		swapoff "$d"; id=${d#/dev/zram}
		echo 1 >/sys/block/zram$id/reset; echo "$id" >/sys/class/zram-control/hot_remove
	done
	rm -rf "$T"
}
trap cleanup EXIT

algo=$(tr -d '[]' </sys/block/zram0/comp_algorithm 2>/dev/null | tr ' ' '\n' | grep -m1 -x -e lz4 -e lzo-rle -e zstd)
mkdir "$T/empty"
cp tests/manager/fixtures/ztierd-ztt.conf "$T/ztier.conf"
[ -n "$algo" ] && echo "algorithm = $algo" >>"$T/ztier.conf"   # [zram-swap ztt] is last

wait_log() { # pattern: up to 20 s for the daemon's log to show it
	for _ in $(seq 200); do grep -q "$1" "$T/log" && return 0; kill -0 "$pid" 2>/dev/null || return 1; sleep 0.1; done
	return 1
}

# A mkswap that fails while $T/fail-mkswap exists, leaving the device held
# open (so the rollback's zram reset fails with EBUSY); else the real one.
mkdir "$T/bin"
cat >"$T/bin/mkswap" <<SH
#!/bin/bash
if [ -e "$T/fail-mkswap" ]; then
	exec 3<"\${@: -1}" || exit 2     # open before exiting: no race
	sleep 60 >/dev/null 2>&1 &
	echo \$! >"$T/holder"
	exit 1
fi
exec $(command -v mkswap) "\$@"
SH
chmod +x "$T/bin/mkswap"
raw() { printf '%s\n' "$1" | socat - UNIX-CONNECT:$T/sock; }

# The socket's directory is the barrier: one that others can write (and not
# sticky) is refused before anything is built.
mkdir -m 0777 "$T/open"; chmod 0777 "$T/open"
r=$($B/ztierd --foreground --config "$T/ztier.conf" --policy-dir "$T/empty" --socket "$T/open/sock" 2>&1)
ok "a socket directory writable by others: refused ($r)" '[[ $r == *"must be root'"'"'s and not writable by others"* ]]'

ZTIERD_TOOL_PATH=$T/bin:$PATH $B/ztierd --foreground --config "$T/ztier.conf" --policy-dir "$T/empty" --socket "$T/sock" 2>"$T/log" &
pid=$!
ok "ztierd starts and reports ready" 'wait_log "ready:"'
dev=$(grep -o 'ztt: /dev/zram[0-9]*' "$T/log" | head -1 | cut -d' ' -f2)
ok "it built a zram device ($dev)" '[ -n "$dev" ] && [ -b "$dev" ]'
ok "swap on $dev at priority 77" 'awk -v d="$dev" "\$1 == d && \$5 == 77 {f=1} END {exit !f}" /proc/swaps'
ok "the swap has our label" '[ "$(blkid -o value -s LABEL "$dev")" = ztier-ztt ]'
ok "mem_limit written" '[ "$(cat /sys/block/${dev#/dev/}/mem_limit 2>/dev/null || echo 16777216)" = 16777216 ]'

st=$($B/ztierctl status)
echo "$st" | diag
ok "status: one row for $dev, stack ztt, prio 77, state swap" \
	'echo "$st" | awk -v n="${dev#/dev/}" "\$1 == n && \$3 == \"ztt\" && \$10 == 77 && \$11 == \"swap\" {f=1} END {exit !f}"'
ok "status --json names the stack" '$B/ztierctl status --json | grep -q "\"name\":\"${dev#/dev/}\",\"tier\":\"zram\",\"stack\":\"ztt\""'
ok "metrics: swap priority sample" '$B/ztierctl metrics | grep -qx "ztier_device_swap_priority{device=\"${dev#/dev/}\",kind=\"zram\",stack=\"ztt\"} 77"'

ok "socket is mode 0600" '[ "$(stat -c %a "$T/sock")" = 600 ]'
ok "non-root cannot connect (mode)" '! printf "status\n" | setpriv --reuid 65534 --regid 65534 --clear-groups socat - UNIX-CONNECT:$T/sock 2>/dev/null | grep -q .'
chmod 0666 "$T/sock"; chmod 0755 "$T"
r=$(printf 'status\n' | setpriv --reuid 65534 --regid 65534 --clear-groups socat - UNIX-CONNECT:$T/sock 2>&1)
chmod 0600 "$T/sock"; chmod 0700 "$T"
ok "non-root refused by SO_PEERCRED even when it can connect ($r)" '[[ $r == "error permission denied"* ]]'
r=$(printf 'frobnicate\n' | socat - UNIX-CONNECT:$T/sock)
ok "garbage gets an error reply ($r)" '[[ $r == "error unknown request" ]]'
r=$(head -c 100000 /dev/zero | tr '\0' x | socat - UNIX-CONNECT:$T/sock 2>/dev/null | head -1)
ok "oversized input gets an error reply ($r)" '[[ $r == "error request too long" ]]'
r=$(printf '\x00\x01\xff\n' | socat - UNIX-CONNECT:$T/sock)
ok "binary input gets an error reply ($r)" '[[ $r == error* ]]'
ok "the daemon is still serving" 'printf "ping\n" | socat - UNIX-CONNECT:$T/sock | head -1 | grep -qx ok'
# A client that trickles one byte per second for 6 s: one 2 s deadline for
# the whole request, so a ping sent right after it is answered within ~2 s.
(for _ in 1 2 3 4 5 6; do printf x; sleep 1; done) | socat - UNIX-CONNECT:$T/sock >"$T/slow" 2>&1 &
slow=$!; sleep 0.3
t0=$(date +%s%N); r=$(printf "ping\n" | socat -t 10 - UNIX-CONNECT:$T/sock | head -1); t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 )); echo "# reply: $r"
ok "a trickling client holds the loop at most ~2 s (ping answered in $ms ms)" '[ "$r" = ok ] && [ $ms -lt 3500 ]'
wait $slow

sed -i 's/memory-limit = 16M/memory-limit = 8M/' "$T/ztier.conf"
ok "ztierctl reload" '$B/ztierctl reload >/dev/null'
ok "the memory limit changed live" 'wait_log "ztt: memory-limit applied live" && [ "$(cat /sys/block/${dev#/dev/}/mem_limit 2>/dev/null || echo 8388608)" = 8388608 ]'

sed -i 's/priority = 77/priority = 88/' "$T/ztier.conf"
$B/ztierctl reload >/dev/null
ok "reload: a built stack keeps its priority in force (status 77, swap 77)" \
	'raw status | grep "^ztt	" | cut -f6 | grep -qx 77 && awk -v d="$dev" "\$1 == d && \$5 == 77 {f=1} END {exit !f}" /proc/swaps'
ok "down + up applies the reloaded priority (88)" \
	'$B/ztierctl down ztt && $B/ztierctl up ztt && raw status | grep "^ztt	" | cut -f6 | grep -qx 88'
dev=$(grep -o 'ztt: swap on /dev/zram[0-9]*' "$T/log" | tail -1 | awk '{print $4}')

printf '[zram-swap ztt2]\nsize = 16M\npriority = 7\n' >>"$T/ztier.conf"
kill -HUP "$pid"
ok "SIGHUP: a new [zram-swap] section is built" 'wait_log "ztt2: swap on" && awk "\$5 == 7 {f=1} END {exit !f}" /proc/swaps'
dev2=$(grep -o 'ztt2: swap on /dev/zram[0-9]*' "$T/log" | awk '{print $4}')
sed -i '/\[zram-swap ztt2\]/,$d' "$T/ztier.conf"
ok "reload: a section removed is torn down" '$B/ztierctl reload >/dev/null && wait_log "ztt2: no longer configured" && ! grep -q "^$dev2 " /proc/swaps && [ ! -e /sys/block/${dev2#/dev/} ]'

ok "ztierctl down ztt removes the swap" '$B/ztierctl down ztt && ! grep -q "^$dev " /proc/swaps'
ok "ztierctl up ztt builds it again" '$B/ztierctl up && grep -q "^/dev/zram" /proc/swaps && wait_log "ztt: swap on"'
dev=$(grep -o 'ztt: swap on /dev/zram[0-9]*' "$T/log" | tail -1 | awk '{print $4}')

# A failed build whose undo fails too: the stack says so and is not rebuilt
# on top of what is left (that would leak the zram device).
$B/ztierctl down ztt >/dev/null; touch "$T/fail-mkswap"
$B/ztierctl up ztt >/dev/null 2>&1
ok "failed mkswap + failed undo: degraded, cleanup pending" 'raw status | grep "^ztt	" | grep -q "	degraded	.*cleanup pending"'
leak=$(grep -o 'ztt: /dev/zram[0-9]*:' "$T/log" | tail -1 | cut -d' ' -f2 | tr -d :)
nlog=$(grep -c 'ztt: /dev/zram' "$T/log")
$B/ztierctl up ztt >/dev/null 2>&1
ok "up again builds nothing on top of $leak" '[ -b "$leak" ] && [ "$(grep -c "ztt: /dev/zram" "$T/log")" = "$nlog" ]'
kill "$(cat "$T/holder")"; : >"$T/holder"; sleep 0.2
ok "down retries the cleanup: $leak is removed" '$B/ztierctl down ztt >/dev/null && [ ! -e "/sys/block/${leak#/dev/}" ] && raw status | grep -q "^ztt.zram.down"'
rm "$T/fail-mkswap"
ok "up builds it afresh" '$B/ztierctl up ztt >/dev/null && raw status | grep -q "^ztt.zram.up"'
dev=$(grep -o 'ztt: swap on /dev/zram[0-9]*' "$T/log" | tail -1 | awk '{print $4}')

# A spill target that would bend the generated udev rule is a FILE:LINE error.
printf '[policy]\nname = badt\n[spill]\ntarget = /dev/disk/by-id/x"y\n' >"$T/bad.conf"
r=$(raw "add $T/bad.conf" | head -1)
ok "add: a '\"' in the spill target is refused ($r)" '[[ $r == error* ]] && wait_log "$T/bad.conf:4: bad spill target"'

# A FIFO or a device named as a policy is refused at once (it once left
# ztierd blocked in open(), or grew it by gigabytes reading /dev/zero).
mkfifo "$T/fifo.conf"
r=$(timeout 10 $B/ztierctl add "$T/fifo.conf" 2>&1 | head -1)
ok "add FIFO: refused, ztierd not blocked ($r)" 'wait_log "$T/fifo.conf: not a regular file (a FIFO)" && raw ping | grep -q "^ok"'
r=$(timeout 10 $B/ztierctl add /dev/zero 2>&1 | head -1)
ok "add /dev/zero: refused ($r)" 'wait_log "/dev/zero: not a regular file (a character device)"'
# (invalid on purpose: its problem, at the whole path, proves the path
# arrived; nothing is built on the host)
mkdir -p "$T/sp ace"; printf '[device]\ncolour = x\n' >"$T/sp ace/p.conf"
r=$($B/ztierctl add "$T/sp ace/p.conf" 2>&1 | head -1)
ok "add a path with a space: it reaches ztierd whole ($r)" 'wait_log "$T/sp ace/p.conf:2: unknown key"'

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
ok "SIGTERM: clean exit ($rc)" '[ $rc = 0 ]'
ok "no swap of ours left" '! grep -q "^$dev " /proc/swaps'
ok "$dev hot-removed" '[ ! -e /sys/block/${dev#/dev/} ]'
diag <"$T/log"
done_testing
