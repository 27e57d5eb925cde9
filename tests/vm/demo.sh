#!/bin/bash
# tests/vm/demo.sh (guest; `make vm-run`): ztier's main job in the test VM.
#
# Starts ztierd in the foreground with a mixed stack (ztier.conf: a 128M zram
# swap device at priority 100; a policy: a 1G ztier ublk swap device at 50),
# then runs a memory hog (stress-ng --vm, 320M of pages in a 160M memory
# cgroup) and prints `ztierctl status` every 5 seconds while the kernel
# swaps pages into zram first and, once it is full, into the ztier device,
# whose pages land in the meta (fill words) and store (compressed) tiers.
# Finally SIGTERM: ztierd takes everything down again.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:$PATH
if [ "${ZTIER_INSTALL:-}" != ok ] || ! command -v ztierd >/dev/null; then
	echo "demo: ztier is not installed in the guest (make install: ${ZTIER_INSTALL:-?})" >&2
	exit 1
fi
modprobe ublk_drv 2>/dev/null
W=/tmp/demo
mkdir -p $W/policy.d
cp /mnt/add/fixtures/demo/ztier.conf $W/   # make vm-run adds tests/vm/fixtures
sed -e 's/^name = default/name = demo/' -e 's/^size = ram\/2/size = 1G/' \
    -e 's/^priority = 100/priority = 50/' /usr/share/ztier/policy.d/default.conf >$W/policy.d/demo.conf

echo "== ztierd --foreground --config $W/ztier.conf --policy-dir $W/policy.d"
ztierd --foreground --config $W/ztier.conf --policy-dir $W/policy.d &
zpid=$!
for _ in $(seq 300); do [ -S /run/ztier/ztierd.sock ] && ztierctl status >/dev/null 2>&1 && break; sleep 0.1; done
echo
echo "== swapon --show"
swapon --show
echo
echo "== ztierctl status (before)"
ztierctl status

mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
mkdir -p /sys/fs/cgroup/hog && echo 160M >/sys/fs/cgroup/hog/memory.max
echo
echo "== stress-ng --vm 1 --vm-bytes 320M --verify -t 30s in a 160M memory cgroup"
(echo $BASHPID >/sys/fs/cgroup/hog/cgroup.procs &&
 exec stress-ng --vm 1 --vm-bytes 320M --vm-keep --verify -t 30s) >$W/stress.out 2>&1 &
spid=$!
t=0
while kill -0 $spid 2>/dev/null; do
	sleep 5
	t=$((t + 5))
	echo
	echo "== t=${t}s: ztierctl status"
	ztierctl status
done
wait $spid; rc=$?
echo
echo "== stress-ng exit status $rc"
tail -n 3 $W/stress.out
echo
echo "== ztierctl metrics (excerpt)"
ztierctl metrics | grep -E '^ztier_device_(pages|swap_priority)'
echo
echo "== stopping ztierd (SIGTERM)"
kill -TERM $zpid
wait $zpid
echo "== swapon --show after stop: $(swapon --noheadings | wc -l) device(s)"
exit $rc
