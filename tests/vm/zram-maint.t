#!/bin/bash
# tests/vm/zram-maint.t: ztierd's zram maintenance (idle writeback within a
# budget, recompression, what the kernel lacks said) in one 1 GiB VM boot
# (tests/vm/zram-maint.sh prints the TAP).  Skips when there is no VM.
cd "$(dirname "$0")/../.." || exit 1
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
exec tests/vm/run --mem 1G --timeout 300 tests/vm/zram-maint.sh
