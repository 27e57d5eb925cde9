#!/bin/bash
# tests/vm/7.3/zram-tier-maint.t: tests/vm/zram-tier-maint.t on the newest kernel.
export ZTIER_VM_SERIES=7.3
exec "$(dirname "$0")/../zram-tier-maint.t"
