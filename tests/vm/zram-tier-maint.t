#!/bin/bash
# tests/vm/zram-tier-maint.t: ztierd's maintenance of a ztier device's own
# zram tier (idle writeback, pages read meanwhile kept, data bit-exact) in
# one 1 GiB VM boot (tests/vm/zram-tier-maint.sh prints the TAP).  Skips
# when there is no VM.
cd "$(dirname "$0")/../.." || exit 1
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
exec tests/vm/run --mem 1G --timeout 300 tests/vm/zram-tier-maint.sh
