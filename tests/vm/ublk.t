#!/bin/bash
# tests/vm/ublk.t: the ztier ublk server on the real driver, in one VM boot
# (tests/vm/ublk-suite.sh prints the TAP; ublk-lib.sh holds its helpers).
# Skips when the VM cannot be set up here.
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/ublk-vmargs.sh
# More distinct same-fill words than meta's fill table holds (4096): one
# page each of a 64-bit word whose two halves differ (not kept inline).
fills=build/vm/fills.bin
[ -s $fills ] || perl -e 'print pack("Q<", ($_ << 32) | 0xdeadbeef) x 512 for 1 .. 5000' >$fills
vm_args+=(--add $fills)
exec tests/vm/run --timeout 900 "${vm_args[@]}" tests/vm/ublk-suite.sh
