#!/bin/sh
# ztierctl's global options and command table.
. tests/manager/lib.sh

run --version
is "$rc:$out" "0:ztierctl $(cat VERSION)" "--version prints the VERSION file"
run --help
is "$rc" 0 "--help: exit 0"
like "$out" '^  classify ' "--help lists classify"
like "$out" '^  policy ' "--help lists policy"
run help classify
like "$rc:$out" '^0:Usage: ztierctl classify' "help COMMAND shows its help"
run
is "$rc" 2 "no command: usage error"
run frobnicate
is "$rc" 2 "unknown command: exit 2"
is "$err" "ztierctl: unknown command 'frobnicate'
Try 'ztierctl --help'." "unknown command: says what to do"

done_testing
