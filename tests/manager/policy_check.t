#!/bin/sh
# ztierctl policy check end to end: examples, FILE:LINE errors, exit codes.
. tests/manager/lib.sh

run policy check policy/examples/*.conf
is "$rc" 0 "every shipped example is valid"
is "$(lines "$out")" "$(ls policy/examples/*.conf | wc -l | tr -d ' ')" "one 'valid' line per example"
like "$out" '^policy/examples/default.conf: valid \(policy default\)$' "default.conf is valid"

bad=tests/manager/fixtures/check-problems.conf
run policy check "$bad"
is "$rc" 1 "invalid file: exit 1"
is "$out" "" "invalid file: nothing on stdout"
is "$err" "$bad:2: text-entropy 9 out of range (0 to 8 bits/byte)
$bad:6: unknown tier 'disk' (expected meta, store, zram, spill or none)
$bad:9: unknown key 'colour' in [device] (expected size, memory-limit, queues, depth or memory-commit)
$bad:4: tier meta cannot take text pages (meta holds only samefill pages)" \
	"every problem as FILE:LINE: message"

printf '[mixed]\ntier = zram\n' >"$T/nozram.conf"
run policy check "$T/nozram.conf"
is "$rc:$err" "1:$T/nozram.conf:2: tier zram is used but [zram] has no size" \
	"zram tier without [zram] size"

# Control bytes from a file name (an escape sequence) reach the terminal
# escaped, never raw (issue #13's review).
esc=$(printf '\033')
printf '[policy]\nname = ab\n[device]\ncolour = red\n' >"$T/a${esc}[2Jb.conf"
run policy check "$T/a${esc}[2Jb.conf"
is "$rc:$err" "1:$T/a\\x1b[2Jb.conf:4: unknown key 'colour' in [device] (expected size, memory-limit, queues, depth or memory-commit)" \
	"a problem in a file named with ESC: shown as \\x1b"
printf '[device]\nsize = 1G\n' >"$T/c${esc}d.conf"
run policy check "$T/c${esc}d.conf"
is "$rc:$err" "1:$T/c\\x1bd.conf: bad policy name 'c\\x1bd' (the file's name): use 1 to 63 letters, digits, '.', '_', '-', or set [policy] name" \
	"a name from the file name is checked like a [policy] name"
printf '[policy]\nname = cd\n' >"$T/c${esc}d.conf"
run policy check "$T/c${esc}d.conf"
is "$rc:$out" "0:$T/c\\x1bd.conf: valid (policy cd)" "with a [policy] name: valid, the path escaped"

run policy check policy/examples/default.conf "$bad"
is "$rc" 1 "one bad file among good ones: exit 1"
like "$out" 'default.conf: valid' "the good file is still reported"

# Not text: refused, never read as the C string before the first NUL.
head -c 4096 /dev/zero >"$T/zeros.conf"
run policy check "$T/zeros.conf"
is "$rc:$err" "1:$T/zeros.conf:1: line holds a NUL byte" "4096 zero bytes: invalid"
printf '[device]\nsize = 64M\000garbage\n' >"$T/nul.conf"
run policy check "$T/nul.conf"
is "$rc:$err" "1:$T/nul.conf:2: line holds a NUL byte" "a NUL inside a value: invalid"

run policy check "$T/missing.conf"
is "$rc:$err" "1:$T/missing.conf: cannot read: No such file or directory" "missing file"

run policy check --quiet policy/examples/default.conf
is "$rc:$out" "0:" "--quiet: silent when valid"

run policy check
is "$rc" 2 "no file: usage error"
run policy
is "$rc" 2 "no verb: usage error"
run policy frob
is "$rc" 2 "unknown verb: usage error"
run policy --help
is "$rc" 0 "policy --help"
like "$out" 'check' "policy --help lists check"
run policy check --help
like "$rc:$out" '^0:Usage: ztierctl policy check' "policy check --help"

done_testing
