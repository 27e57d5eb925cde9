#!/bin/bash
# tests/vm/ublk-swap.t: swap on a ztier ublk device under memory pressure,
# in its own 512 MiB VM boot (tests/vm/ublk-swap.sh prints the TAP).
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/ublk-vmargs.sh
exec tests/vm/run --mem 512M --timeout 600 "${vm_args[@]}" tests/vm/ublk-swap.sh
