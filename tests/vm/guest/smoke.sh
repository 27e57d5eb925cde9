#!/bin/bash
# Guest half of tests/vm/smoke.t: is the VM fit for ztier's tests?
# Prints TAP (tests/tap.sh).  Checks the kernel pieces (ublk_drv, zram),
# udev naming of the NVMe spill disk (cold and hot-plugged), and the
# userland the tests use (fio, e2fsprogs, util-linux swap tools run by
# bash, not busybox).
set -u
. /usr/share/ztier-tests/tap.sh

serial_of() { udevadm info -q property -n "$1" | sed -n 's/^ID_SERIAL_SHORT=//p'; }
is_serial() { [ "$(serial_of "$1")" = "$2" ] || { echo "ID_SERIAL_SHORT of $1 is '$(serial_of "$1")'"; return 1; }; }

fio_verify() { # device
	fio --name=smoke --filename="$1" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bs=4k --iodepth=8 --size=8M --verify=crc32c --do_verify=1 --output=/tmp/fio.out ||
		{ cat /tmp/fio.out; return 1; }
}

ext4_roundtrip() { # device
	mkfs.ext4 -q -F "$1" && mkdir -p /mnt/t && mount "$1" /mnt/t &&
		seq 1 10000 >/mnt/t/f && umount /mnt/t && e2fsck -fn "$1"
}

zram=""
zram_swap() {
	zram=$(cat /sys/class/zram-control/hot_add) || return 1
	echo lz4 >"/sys/block/zram$zram/comp_algorithm" &&
		echo 64M >"/sys/block/zram$zram/disksize" &&
		mkswap "/dev/zram$zram" && swapon "/dev/zram$zram"
}
swap_shown() { swapon --show=NAME --noheadings | grep -x "/dev/zram$zram"; }
zram_off() { swapoff "/dev/zram$zram" && echo "$zram" >/sys/class/zram-control/hot_remove; }

hp=""
hotplug() { hp=$(vm-hotplug add spill1 256M) && is_serial "$hp" spill1; }
unplug() { vm-hotplug del spill1 && [ ! -e "$hp" ]; }

check "modprobe ublk_drv" modprobe ublk_drv
check "/dev/ublk-control exists" test -c /dev/ublk-control
check "modprobe zram num_devices=0" modprobe zram num_devices=0
check "zram hot_add works" zram_swap
check "swapon --show (util-linux under bash) lists the zram swap" swap_shown
check "swapoff and hot_remove" zram_off
check "/dev/nvme0n1 exists" test -b /dev/nvme0n1
check "udev: ID_SERIAL_SHORT=spill0 on nvme0n1" is_serial /dev/nvme0n1 spill0
check "fio randwrite + crc32c verify on the NVMe disk" fio_verify /dev/nvme0n1
check "blkdiscard the NVMe disk" blkdiscard /dev/nvme0n1
check "mkfs.ext4, mount, write, umount, e2fsck clean" ext4_roundtrip /dev/nvme0n1
check "hot-plug an NVMe disk; udev sees ID_SERIAL_SHORT=spill1" hotplug
check "hot-unplug it" unplug
check "stress-ng runs" stress-ng --vm 1 --vm-bytes 32M -t 2 --verify -q
check "hung_task_timeout_secs is 15" grep -qx 15 /proc/sys/kernel/hung_task_timeout_secs
ztier_installed() { ls /usr/bin/ztier* && ls /usr/share/ztier/policy.d/*.conf; }
if [ "${ZTIER_INSTALL:-}" = ok ]; then
	check "ztier programs and policies installed" ztier_installed
else
	skip "ztier programs and policies installed" "make install ${ZTIER_INSTALL:-?} on the host"
fi
done_testing
