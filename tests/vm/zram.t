#!/bin/bash
# tests/vm/zram.t: the zram tier of the ztier ublk device on the real kernel,
# in one VM boot (tests/vm/zram-suite.sh prints the TAP; it sources
# ublk-lib.sh).  zramctl-glue's t_module goes along to load the modules
# through libkmod in the guest.  Skips when the VM cannot be set up here.
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/ublk-vmargs.sh
make -s build/release/tests/zramctl-glue/t_module.t >&2 ||
	{ echo "Bail out! cannot build t_module"; exit 1; }
exec tests/vm/run --timeout 600 "${vm_args[@]}" --add build/release/tests/zramctl-glue/t_module.t \
	tests/vm/zram-suite.sh
