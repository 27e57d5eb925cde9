#!/bin/bash
# tests/pkg/install.t — `make install DESTDIR=... PREFIX=/usr` after a build
# with the default PREFIX rebuilds what the paths reach (build/paths.h) and
# installs programs that look in /etc/ztier and /usr/share/ztier; the units
# run /usr/bin's programs; `make uninstall` takes back every file.  Runs in
# a copy of the tree (its build/ included, so the default build is
# incremental), leaving this tree's build alone.
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh
# The compile lines are counted: a calling `make -s` must not silence them.
unset MAKEFLAGS MFLAGS MAKELEVEL

[ -x build/release/bin/ztierd ] || skip_all "build first (make)"
T=$(mktemp -d /tmp/ztier-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/src"
tar -c --exclude=./.git --exclude=./build/deb --exclude=./build/asan --exclude=./build/fuzz \
	--exclude='./ztier_*' . | tar -x -C "$T/src"
cd "$T/src" || exit 1

check "a default build" make -s -j2
strings build/release/bin/ztierd | grep -q '^/usr/local/share/ztier/ztier.conf$'
ok "it looks in /usr/local/share/ztier" '[ $? = 0 ]'
make -j2 install DESTDIR="$T/stage" PREFIX=/usr >"$T/log" 2>&1
rc=$?
[ $rc = 0 ] || tail -n 20 "$T/log" | diag
ok "make install PREFIX=/usr" '[ $rc = 0 ]'
nobj=$(grep -c ' -c [^ ]*\.c -o build/' "$T/log")
ok "only what includes build/paths.h was compiled again ($nobj objects)" \
	'[ "$nobj" -gt 0 ] && [ "$nobj" -lt 20 ]'

S=$T/stage
ok "ztierd --help names /etc/ztier/ztier.conf" \
	'"$S/usr/bin/ztierd" --help | grep -q "instead of /etc/ztier/ztier.conf"'
ok "ztierd has /usr/share/ztier, not /usr/local, baked in" \
	'strings "$S/usr/bin/ztierd" | grep -qx /usr/share/ztier/ztier.conf &&
	 ! strings "$S/usr/bin/ztierd" | grep -q /usr/local'
ok "ztierctl too" '! strings "$S/usr/bin/ztierctl" | grep -q /usr/local'
ok "ztierd.service runs /usr/bin/ztierd" \
	'grep -qx "ExecStart=/usr/bin/ztierd --foreground" "$S/usr/lib/systemd/system/ztierd.service"'
ok "udev rules in /usr/lib/udev/rules.d" '[ -f "$S/usr/lib/udev/rules.d/60-ztier.rules" ]'
ok "ztier-ublk(8) installed" '[ -f "$S/usr/share/man/man8/ztier-ublk.8" ]'

make -s uninstall DESTDIR="$T/stage" PREFIX=/usr >/dev/null 2>&1
left=$(find "$S" -type f)
[ -z "$left" ] || echo "$left" | diag
ok "make uninstall: no file left" '[ -z "$left" ]'
done_testing
