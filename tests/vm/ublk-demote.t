#!/bin/bash
# tests/vm/ublk-demote.t: age-based demotion of store pages to spill, with a
# kill -9 and recovery (tests/vm/ublk-demote.sh prints the TAP).  Skips when
# the VM cannot be set up here.
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/ublk-vmargs.sh
exec tests/vm/run --timeout 300 "${vm_args[@]}" tests/vm/ublk-demote.sh
