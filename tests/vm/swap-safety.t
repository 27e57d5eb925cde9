#!/bin/bash
# tests/vm/swap-safety.t: every shipped policy as swap under a hog of 1.5x
# RAM, alone and under zram, built by ztierd in one 1 GiB VM boot
# (tests/vm/swap-safety.sh prints the TAP).  Skips when there is no VM.
#
# SWAP_SAFETY_RUNS / SWAP_SAFETY_SECONDS (see swap-safety.sh) reach the guest
# in a file.  To keep the whole suite within CI's time the two kernels
# share the runs: the newest kernel (tests/vm/7.3/) runs the shipped default
# stack's shape (each policy under zram), 6.12 each policy alone and the
# default under zram; SWAP_SAFETY_RUNS=all runs every policy both ways.
cd "$(dirname "$0")/../.." || exit 1
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
series=${ZTIER_VM_SERIES:-6.12}
runs=${SWAP_SAFETY_RUNS:-}
if [ "$runs" = all ]; then runs=""
elif [ -z "$runs" ] && [ "$series" = 6.12 ]; then
	runs="default:alone default:zram build:alone database:alone desktop:alone ml-training:alone"
elif [ -z "$runs" ]; then
	runs="default:zram build:zram database:zram desktop:zram ml-training:zram"
fi
env=build/vm/swap-safety-$series/swap-safety.env
mkdir -p "${env%/*}"
# 15 s hogs in make test (the suite's budget); the script's own default is 30.
printf 'SWAP_SAFETY_RUNS="%s"\nSWAP_SAFETY_SECONDS="%s"\n' "$runs" "${SWAP_SAFETY_SECONDS:-15}" >"$env"
exec tests/vm/run --mem 1G --timeout 1500 --nvme spill0=2G --add "$env" \
	tests/vm/swap-safety.sh
