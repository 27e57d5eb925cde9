#!/bin/bash
# tests/vm/spill-crypt.sh: guest half of tests/vm/spill-crypt.t (issue #13).
# Spilled pages never lie on the disk in plaintext: high-entropy pages that
# carry a known marker are written to a ztier device whose random class
# spills to an NVMe namespace; the raw namespace must not contain the
# marker (and does with encrypt = no: the check can see it); the data reads
# back; a recovered server keeps the mapping (same key); a rebuilt device
# (new key) cannot read the old spill.  Then a spill disk that is unplugged:
# new writes of random pages and reads of spilled ones fail with EIO (not
# ENOSPC), the rest of the device reads back.
# In bench mode (ZTIER_CRYPT_BENCH=1 tests/vm/spill-crypt.t): 4K randread/randwrite on spilled pages,
# encrypted against plaintext, interleaved, 5 rounds (not part of the test).
set -u
id='' dev=/dev/null
. /mnt/add/ublk-lib.sh
modprobe ublk_drv
modprobe dm-crypt

MARK=ZTIER-SPILL-MARKER-7f3a9c
PAGES=2048                                   # 8 MiB
SPILL=/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_spill0

policy() { # FILE ENCRYPT [TARGET]: random pages to the spill, the rest in RAM
	cat >"$1" <<-EOF
	[random]
	tier = spill
	[device]
	size = 64M
	memory-limit = 32M
	[spill]
	target = ${3:-$SPILL}
	encrypt = $2
	EOF
}

# /mnt/add/marked.bin (tests/vm/spill-crypt.t): PAGES pages of random
# bytes, each starting with the marker: still random to the classifier (24
# known bytes in 4096).
cp /mnt/add/marked.bin /tmp/rand.bin

# The marker anywhere on the raw namespace, read O_DIRECT: while dm-crypt
# holds the disk, its page cache would still show what an earlier check
# read before the mapping wrote under it.
raw_has_marker() { dd if="$raw" bs=1M iflag=direct status=none | grep -q -a -F "$MARK"; }
raw_clean() { ! raw_has_marker; }

write_data() { dd if=/tmp/rand.bin of="$dev" bs=1M oflag=direct status=none; }
reads_back() {
	dd if="$dev" bs=1M count=$((PAGES / 256)) iflag=direct status=none | cmp - /tmp/rand.bin
}
spilled_all() { wait_stat "$id" pages_spill -eq $PAGES; }
no_mapping() { ! dmsetup ls 2>/dev/null | grep -q ztier-spill; }

raw=$(readlink -f "$SPILL")
policy /tmp/crypt.conf yes
policy /tmp/plain.conf no

if [ -e /mnt/add/crypt-bench.on ]; then
	. /mnt/add/spill-crypt-bench.sh
	exit 0
fi

# ---------------------------------------------------------------------------
group "plaintext (encrypt = no): the marker is on the disk"
blkdiscard "$raw" 2>/dev/null || dd if=/dev/zero of="$raw" bs=1M count=64 oflag=direct status=none
check "add, encrypt = no" add --policy /tmp/plain.conf
check "write $PAGES marked random pages" write_data
check "all spilled" spilled_all
check "the raw namespace holds the marker (the check sees plaintext)" raw_has_marker
check "list says plaintext" sh -c "ztier-ublk list | grep -q 'plaintext'"
check "del" del "$id"

# ---------------------------------------------------------------------------
group "encrypted (the default)"
blkdiscard "$raw" 2>/dev/null || dd if=/dev/zero of="$raw" bs=1M count=64 oflag=direct status=none
mkdir -p /run/ztier
check "add, encrypt = yes, with a state (recoverable)" add --policy /tmp/crypt.conf --state /run/ztier/crypt.state
check "a dm-crypt mapping over the spill" sh -c "dmsetup table | grep -q 'ztier-spill-.*crypt aes-xts-plain64'"
check "write $PAGES marked random pages" write_data
check "all spilled" spilled_all
check "reads back" reads_back
check "the raw namespace never holds the marker" raw_clean
ztier-ublk list | grep -A3 encryption | sed 's/^/# /'
check "list names the mapping" sh -c "ztier-ublk list | grep -q 'ztier-spill-'"
quiesced() { local i; for i in $(seq 100); do [ "$(get "$id" state)" = QUIESCED ] && return 0; sleep 0.1; done; return 1; }
kill -9 "$(get "$id" pid)"
mapping_kept() { quiesced && dmsetup ls | grep -q ztier-spill; }
check "kill -9 the server: the device waits, the mapping stays" mapping_kept
check "recover" timeout 60 ztier-ublk recover "$id"
check "the recovered server kept the key: reads back" reads_back
check "del" del "$id"
check "del removes the mapping (and the key)" no_mapping
check "old ciphertext still on the disk, still no marker" raw_clean
check "rebuilt (new key)" add --policy /tmp/crypt.conf
check "the new device does not pretend to hold the old pages (reads zeros)" \
	sh -c "dd if=$dev bs=1M count=8 iflag=direct status=none | cmp -n 8388608 - /dev/zero"
check "del" del "$id"

# ---------------------------------------------------------------------------
group "a spill disk that is unplugged: EIO, never ENOSPC"
for mode in plain crypt; do
	node=$(vm-hotplug add "gone$mode" 128M) || { check "hot-plug gone$mode" false; continue; }
	policy /tmp/gone.conf $([ $mode = crypt ] && echo yes || echo no) \
		"/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_gone$mode"
	check "$mode: add on hot-plugged $node" add --policy /tmp/gone.conf
	check "$mode: write random pages" write_data
	dd if=/dev/zero bs=1M count=1 status=none | tr '\0' 'z' >/tmp/text.bin
	check "$mode: a text page to the store" dd if=/tmp/text.bin of="$dev" bs=1M seek=32 oflag=direct status=none
	check "$mode: unplug the spill disk" vm-hotplug del "gone$mode"
	dd if=/tmp/rand.bin of="$dev" bs=4096 count=1 seek=100 oflag=direct status=none 2>/tmp/w.err
	check "$mode: a new random page fails with EIO" grep -q "Input/output error" /tmp/w.err
	dd if="$dev" of=/dev/null bs=4096 count=1 skip=5 iflag=direct status=none 2>/tmp/r.err
	check "$mode: reading a spilled page fails with EIO" grep -q "Input/output error" /tmp/r.err
	check "$mode: the store's page still reads back" \
		sh -c "dd if=$dev bs=1M skip=32 count=1 iflag=direct status=none | cmp - /tmp/text.bin"
	check "$mode: del" del "$id"
	check "$mode: nothing left mapped" no_mapping
done
finish
