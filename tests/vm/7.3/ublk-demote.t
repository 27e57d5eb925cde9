#!/bin/bash
# tests/vm/7.3/ublk-demote.t: tests/vm/ublk-demote.t on the newest kernel.
export ZTIER_VM_SERIES=7.3
exec "$(dirname "$0")/../ublk-demote.t"
