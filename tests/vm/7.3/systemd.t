#!/bin/bash
# tests/vm/7.3/systemd.t: tests/vm/systemd.t on the newest kernel (7.3 from
# trixie-backports).
export ZTIER_VM_SERIES=7.3
exec "$(dirname "$0")/../systemd.t"
