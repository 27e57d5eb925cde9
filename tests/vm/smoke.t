#!/bin/bash
# tests/vm/smoke.t: boot the test VM once and check it is fit for ztier's
# tests (tests/vm/guest/smoke.sh prints the TAP; tests/vm/run passes it and
# the guest's exit status through).  Skips when the VM cannot be set up here.
cd "$(dirname "$0")/../.." || exit 1
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
exec tests/vm/run --timeout 300 tests/vm/guest/smoke.sh
