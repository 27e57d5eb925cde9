#!/bin/bash
# tests/vm/manager.t: ztierd/ztierctl/udev end to end in the test VM
# (tests/vm/manager.sh prints the TAP).  Skips when the VM cannot be set up.
cd "$(dirname "$0")/../.." || exit 1
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
exec tests/vm/run --timeout 600 --mem 2G --add tests/vm/fixtures tests/vm/manager.sh
