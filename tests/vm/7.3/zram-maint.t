#!/bin/bash
# tests/vm/7.3/zram-maint.t: tests/vm/zram-maint.t on the newest kernel (7.3 from
# trixie-backports; tests/vm/kernel fetches and caches it).
export ZTIER_VM_SERIES=7.3
exec "$(dirname "$0")/../zram-maint.t"
