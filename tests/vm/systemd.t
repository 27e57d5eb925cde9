#!/bin/bash
# tests/vm/systemd.t: the Debian package under a real systemd (issue #14):
# `make deb`, then a bookworm root (tests/vm/mkroot, cached) booted on the
# VM bed's kernel with systemd as init runs tests/vm/systemd.sh over two
# boots.  Skips when the VM cannot be set up here.
cd "$(dirname "$0")/../.." || exit 1
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
if ! out=$(make -s deb 2>&1); then
	printf '1..1\nnot ok 1 - make deb\n'
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	exit 1
fi
deb=$(ls -t ztier_*_amd64.deb | head -n 1)
exec tests/vm/run --timeout 600 --systemd "$deb" tests/vm/systemd.sh
