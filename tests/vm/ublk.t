#!/bin/bash
# tests/vm/ublk.t: the ztier ublk server on the real driver, in one VM boot
# (tests/vm/ublk-suite.sh prints the TAP; ublk-lib.sh holds its helpers).
# Skips when the VM cannot be set up here.
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/ublk-vmargs.sh
exec tests/vm/run --timeout 900 "${vm_args[@]}" tests/vm/ublk-suite.sh
