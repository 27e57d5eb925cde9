#!/bin/bash
# tests/vm/daemon-answers.t: `ztierctl status` answers in < 100 ms while ztierd
# swaps 1 GiB off (issue 14); tests/vm/daemon-answers.sh prints the TAP.
# Skips when the VM cannot be set up.
cd "$(dirname "$0")/../.." || exit 1
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
exec tests/vm/run --timeout 300 --mem 3G tests/vm/daemon-answers.sh
