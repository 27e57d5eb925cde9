#!/bin/bash
# tests/vm/spill-crypt.t: spill through dm-crypt, and a spill disk that goes
# away (issue #13), in one VM boot (tests/vm/spill-crypt.sh prints the TAP).
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/ublk-vmargs.sh
# 2048 pages of random bytes, each starting with the marker the guest looks
# for on the raw disk (made here: the guest has no perl).
data=build/vm/marked.bin
[ -s $data ] || perl -e 'open R, "<", "/dev/urandom" or die; for (1 .. 2048) {
	read R, $p, 4096; substr($p, 0, 24) = "ZTIER-SPILL-MARKER-7f3a9c"; print substr($p, 0, 4096) }' >$data
vm_args+=(--add $data --add tests/vm/spill-crypt-bench.sh)
# ZTIER_CRYPT_BENCH=1: measure the cost of encryption instead of testing.
if [ "${ZTIER_CRYPT_BENCH:-}" = 1 ]; then
	touch build/vm/crypt-bench.on && vm_args+=(--add build/vm/crypt-bench.on)
fi
exec tests/vm/run --nvme spill0=128M --timeout 600 "${vm_args[@]}" tests/vm/spill-crypt.sh
