#!/bin/sh
# ztierctl config check, ztierd --dry-run and policy check of drop-ins, end to
# end: FILE:LINE problems, exit codes, sizes resolved, no root needed.
. tests/manager/lib.sh

ZTIERD=${ZTIERD:-build/release/bin/ztierd}
mkdir -p "$T/p/db.conf.d"
cat >"$T/good.conf" <<CONF
[ztierd]
policy-dir = $T/p
[zram-swap fast]
size = min(ram / 2, 4G)
priority = 150
[zram-swap big-machines-only]
size = ram / 4
host-memory-limit = 1M
CONF
printf '[device]\nsize = max(ram, 4G)\n[zram]\nsize = ram / 8\n' >"$T/p/db.conf"
printf '[random]\ntier = zram\n' >"$T/p/db.conf.d/10-zram.conf"

run config check "$T/good.conf"
is "$rc" 0 "config check: a valid configuration, exit 0"
like "$out" "^fast: zram swap, size min\(ram / 2, 4G\) = [0-9]+[KMG].*, priority 150, discard$" \
	"config check: the zram device with its size resolved"
like "$out" "db: ztier swap, size max\(ram, 4G\) = .*random->zram" "config check: the ztier stack"
like "$err" "big-machines-only: not created: RAM \(.*\) is above its host-memory-limit \(1M\)" \
	"host-memory-limit: said in the log"
case $out in *big-machines-only*) fail "host-memory-limit: the device is not in the plan" ;;
*) pass "host-memory-limit: the device is not in the plan" ;; esac

run config check --quiet "$T/good.conf"
is "$rc:$out" "0:" "--quiet: nothing on stdout"

printf '[zram-swap z]\nsize = min(ram / 2, 4096)\n' >"$T/bad.conf"
run config check "$T/bad.conf"
is "$rc" 1 "config check: a problem, exit 1"
like "$err" "^$T/bad.conf:2: size 'min\(ram / 2, 4096\)': '4096' in min\(\) has no unit" \
	"config check: FILE:LINE and why (zram-generator's MiB)"

printf '[zram]\nsize = ram /\n' >"$T/p/db.conf.d/20-broken.conf"
run config check "$T/good.conf"
is "$rc" 1 "config check: a broken drop-in, exit 1"
like "$err" "$T/p/db.conf.d/20-broken.conf:2: bad size 'ram /' for size" "the drop-in's FILE:LINE"
like "$out" "db: not built: invalid policy" "the policy is shown as not built"
rm "$T/p/db.conf.d/20-broken.conf"

# policy check: a drop-in is checked as part of its policy, as ztierd reads it.
run policy check "$T/p/db.conf.d/10-zram.conf"
is "$rc:$out" "0:$T/p/db.conf.d/10-zram.conf: valid with $T/p/db.conf and its drop-ins (policy db)" \
	"policy check DROP-IN: valid within its policy"
printf '[device]\nsize = 4G\n' >"$T/p/db.conf"
run policy check "$T/p/db.conf.d/10-zram.conf"
is "$rc" 1 "policy check DROP-IN: rejected when the whole policy is"
like "$err" "10-zram.conf:2: tier zram is used but \[zram\] has no size" "  with the drop-in's FILE:LINE"
like "$err" "ztierd would reject policy db" "  and what ztierd would do"
printf '[zram]\nsize = 1G\n' >"$T/p/db.conf.d/05-size.txt"
run policy check "$T/p/db.conf.d/05-size.txt"
is "$rc" 1 "policy check: a drop-in ztierd does not read (not *.conf) is an error"

# ztierd --dry-run: the daemon's own words, exit 0/1, needs no root.
run_d() { "$ZTIERD" "$@" >"$T/out" 2>"$T/err"; rc=$?; out=$(cat "$T/out"); err=$(cat "$T/err"); }
printf '[device]\nsize = max(ram, 4G)\n[zram]\nsize = ram / 8\n' >"$T/p/db.conf"
run_d --dry-run --config "$T/good.conf"
is "$rc" 0 "ztierd --dry-run: exit 0"
like "$out" "^# $T/good.conf, RAM [0-9]+K \(.*\); stacks in build order:" "--dry-run: a header"
like "$out" "fast: zram swap, size min\(ram / 2, 4G\) = " "--dry-run: the stacks"
run_d --dry-run --config "$T/bad.conf"
is "$rc" 1 "ztierd --dry-run: a configuration problem, exit 1"
like "$err" "bad.conf:2: size" "--dry-run: the problem with FILE:LINE"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	chmod -R a+rX "$T"; chmod a+x "$T"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$ZTIERD" --dry-run \
		--config "$T/good.conf" >"$T/out" 2>&1
	is "$?" 0 "ztierd --dry-run as nobody: no root needed"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$ZTIERCTL" config check \
		"$T/good.conf" >"$T/out" 2>&1
	is "$?" 0 "ztierctl config check as nobody"
else
	skip "not root or no setpriv: the non-root runs"
	skip "not root or no setpriv: the non-root runs"
fi
done_testing
