#!/bin/bash
# tests/vm/systemd.sh (guest of `tests/vm/run --systemd DEB`, run by
# tests/vm/systemd.t): ztier as an admin installs and runs it (issue #14), on
# a Debian bookworm root booted with systemd as PID 1.  Two boots:
#   1. dpkg -i of the package; `systemctl enable --now ztierd` returns once
#      the stacks are up (Type=notify, READY=1 and STATUS=); a policy whose
#      spill disk is absent waits; QMP hot-plug of that disk -> udev ->
#      SYSTEMD_WANTS -> ztier-attach@.service -> the stack up, no test glue;
#      the journal has ztierd's lines at their priorities; the units'
#      hardening score; `systemctl stop ztierd` leaves nothing behind; the
#      disk plugged again while ztierd is stopped starts nothing; ztierd
#      started again and the guest rebooted (the spill stays plugged);
#   2. the stacks are back by themselves, spill included; ztierd killed
#      -9 is restarted by systemd and adopts them, swap never off; stop
#      leaves nothing behind.
# TAP numbering goes on across the reboot (the counters are kept on disk).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
. /usr/share/ztier-tests/tap.sh
KEPT=/var/lib/ztier-vm/tap
[ -r $KEPT ] && . $KEPT   # n and failed of the boot before
SERIAL=ztier-spill1
POLICY=/etc/ztier/policy.d/60-spilled.conf

wait_until() { # seconds expr
	local i
	for ((i = 0; i < $1 * 5; i++)); do
		eval "$2" && return 0
		sleep 0.2
	done
	return 1
}
swaps() { swapon --noheadings --show=NAME | sort | tr '\n' ' '; }
stack_state() { # stack -> its state in `ztierctl status --json`
	ztierctl status --json 2>/dev/null | tr '{' '\n' | grep "\"stack\":\"$1\"" |
		grep -o '"state":"[^"]*"' | head -n 1 | cut -d'"' -f4
}
spilled_up() { case $(stack_state spilled) in up | swap) return 0 ;; *) return 1 ;; esac; }
# What ztier could leave behind: swaps, ublk devices, set-up zram devices,
# dm-crypt spill mappings, processes.
leftovers() {
	local z
	swapon --noheadings --show=NAME | grep -E 'zram|ublk'
	ls /dev/ublkb* /dev/ublkc* 2>/dev/null
	for z in /sys/block/zram*; do
		[ -e "$z/disksize" ] && [ "$(cat "$z/disksize")" != 0 ] && echo "${z##*/} disksize $(cat "$z/disksize")"
	done
	dmsetup ls 2>/dev/null | grep ztier
	pgrep -a -f 'ztier(d|-ublk)' | grep -v pgrep
	return 0
}
journal_prio() { # pattern -> PRIORITY of ztierd's first journal line matching it (this boot)
	journalctl -b -u ztierd -o json --no-pager | grep -- "$1" | head -n 1 |
		grep -o '"PRIORITY":"[0-9]"' | cut -d'"' -f4
}
stop_leaves_nothing() {
	check "systemctl stop ztierd" systemctl stop ztierd
	local left
	left=$(leftovers)
	is "$left" "" "nothing of ztier is left after the stop (swaps, ublk, zram, dm, processes)"
}

first_boot() {
	is "$(readlink /proc/1/exe)" /usr/lib/systemd/systemd "PID 1 is systemd"
	is "$(findmnt -no SOURCE /)" /dev/nvme0n1p1 "the root is the disk, no initramfs"
	check "dpkg -i ztier_*.deb" dpkg -i /mnt/add/ztier_*.deb
	is "$(systemctl is-enabled ztierd 2>&1)" disabled "installing does not enable the service (swap is the admin's call)"
	ok "udev rules and units installed" '[ -e /usr/lib/udev/rules.d/60-ztier.rules ] && systemctl cat ztier-attach@x.service >/dev/null'

	# A swap stack whose spill (an NVMe disk of serial $SERIAL) is not there yet.
	mkdir -p /etc/ztier/policy.d
	sed -e 's/^name = default/name = spilled/' -e 's/^size = .*/size = 512M/' \
		-e 's/^memory-limit = .*/memory-limit = 64M/' -e 's/^priority = 100/priority = 40/' \
		-e "s/^target = none/target = nvme-QEMU_NVMe_Ctrl_$SERIAL/" \
		/usr/share/ztier/policy.d/default.conf >$POLICY
	sed -i '/^\[random\]/,/^\[/ s/^tier = .*/tier = spill/' $POLICY
	check "policy check of the spill policy" ztierctl policy check $POLICY

	local t0=$EPOCHREALTIME
	check "systemctl enable --now ztierd" systemctl enable --now ztierd
	local took sw
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	sw=$(swaps)   # right when systemctl returned: Type=notify waited for READY=1
	diag "enable --now returned after $took s; swaps then: $sw"
	is "$(systemctl is-active ztierd)" active "ztierd is active"
	is "$(systemctl show -p Type --value ztierd)" notify "Type=notify"
	like "$sw" 'zram.*ublkb|ublkb.*zram' "zram and ztier swaps were on when the unit became active"
	local status
	status=$(systemctl show -p StatusText --value ztierd)
	diag "STATUS=$status"
	like "$status" '[0-9]+ stack' "STATUS= counts the stacks"
	is "$(stack_state spilled)" waiting "the spill stack waits for its disk"

	local node
	node=$(vm-hotplug add $SERIAL 1G)
	diag "hot-plugged $SERIAL as $node"
	ok "hot-plug: the spill stack comes up by itself" 'wait_until 60 spilled_up' || ztierctl status | diag
	ok "udev -> SYSTEMD_WANTS -> ztier-attach@${node#/dev/}.service ran, and succeeded" \
		'wait_until 30 "journalctl -b -u ztier-attach@${node#/dev/}.service --no-pager | grep -q \"Finished\|Deactivated successfully\""'
	journalctl -b -u "ztier-attach@${node#/dev/}.service" --no-pager -o cat | tail -n 5 | diag
	is "$(systemctl show -p Result --value "ztier-attach@${node#/dev/}.service")" success "the attach unit's result"

	is "$(journal_prio 'ready:')" 6 "the journal has the ready line at info (6)"
	local errs
	errs=$(journalctl -b -u ztierd -p err --no-pager -o cat)
	is "$errs" "" "no error lines of ztierd in the journal"
	systemd-analyze security ztierd.service 2>/dev/null | tail -n 1 | diag
	systemd-analyze security ztier-attach@x.service 2>/dev/null | tail -n 1 | diag

	stop_leaves_nothing
	# Plugged while ztierd is stopped: the attach unit is skipped (its
	# condition), ztierd is not started, no swap turned on.
	vm-hotplug del $SERIAL
	node=$(vm-hotplug add $SERIAL 1G)
	local unit=ztier-attach@${node#/dev/}.service
	ok "plugged while ztierd is stopped: $unit ran and was skipped" \
		'wait_until 30 "journalctl -b -u $unit --no-pager | grep -q \"condition failed\|skipped\""'
	journalctl -b -u "$unit" --no-pager -o cat | tail -n 3 | diag
	is "$(systemctl is-active ztierd)" inactive "... and ztierd stays stopped"
	is "$(leftovers)" "" "... and nothing of ztier is set up"
	check "systemctl start ztierd again" systemctl start ztierd
	ok "the spill stack up again (disk found at start)" 'wait_until 60 spilled_up' || ztierctl status | diag
	echo "n=$n failed=$failed" >$KEPT
	exit "$ZTIER_REBOOT"
}

second_boot() {
	ok "after the reboot ztierd is active" 'wait_until 120 "[ \"\$(systemctl is-active ztierd)\" = active ]"'
	ok "the spill stack is back, its disk attached" 'wait_until 60 spilled_up' || ztierctl status | diag
	like "$(swaps)" '^/dev/ublkb0 /dev/ublkb1 /dev/zram0 $' "zram and both ztier swaps are on"
	ztierctl status | diag
	journalctl -b -1 -u ztierd --no-pager -o cat | tail -n 3 | diag

	# ztierd killed: systemd restarts it (Restart=on-failure), the new one
	# adopts the running stacks, swap never goes off.
	local pid0 sw0
	pid0=$(systemctl show -p MainPID --value ztierd)
	sw0=$(swaps)
	kill -KILL "$pid0"
	ok "ztierd killed -9 (pid $pid0): systemd started a new one" \
		'wait_until 30 "[ \"\$(systemctl show -p MainPID --value ztierd)\" != $pid0 ] && [ \"\$(systemctl is-active ztierd)\" = active ]"'
	is "$(swaps)" "$sw0" "the same swaps stayed on"
	local adopted
	adopted=$(journalctl -b -u ztierd --no-pager -o cat | grep -c "adopted .* from an earlier ztierd")
	is "$adopted" 3 "the new ztierd adopted the three stacks"
	ok "... and says they are up" 'wait_until 30 spilled_up'
	stop_leaves_nothing
	check "systemctl disable ztierd" systemctl disable ztierd
	done_testing
}

if [ "${ZTIER_BOOT:-1}" = 1 ]; then first_boot; else second_boot; fi
