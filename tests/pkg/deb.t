#!/bin/bash
# tests/pkg/deb.t — `make deb` builds ztier_VERSION_amd64.deb in a temporary
# directory, and lintian finds no error or warning in it that is not
# overridden (debian/ztier.lintian-overrides, each with its reason).  The
# package holds what an admin expects where Debian puts it, and its
# programs carry dpkg-buildflags' hardening.
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh

for t in dpkg-buildpackage dh lintian readelf; do
	command -v $t >/dev/null || skip_all "$t not installed (make deps)"
done
T=$(mktemp -d /tmp/ztier-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT
v=$(cat VERSION)

make -s deb DEB_BUILD="$T/build" DEB_OUT="$T" >"$T/log" 2>&1
rc=$?
[ $rc = 0 ] || tail -n 30 "$T/log" | diag
deb=$T/ztier_${v}_amd64.deb
ok "make deb: ztier_${v}_amd64.deb" '[ $rc = 0 ] && [ -s "$deb" ]'
[ -s "$deb" ] || { done_testing; exit; }

lintian --fail-on none "$deb" >"$T/lintian" 2>&1
grep -E '^[EW]: ' "$T/lintian" | diag
ok "lintian: no E: or W: tag left" '! grep -qE "^[EW]: " "$T/lintian"'

dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$T/files"
for f in /usr/bin/ztierd /usr/bin/ztierctl /usr/bin/ztier-ublk \
	/usr/share/man/man8/ztierd.8.gz /usr/share/man/man8/ztierctl.8.gz \
	/usr/share/man/man8/ztier-ublk.8.gz /usr/share/man/man5/ztier.conf.5.gz \
	/usr/share/man/man5/ztier.policy.5.gz /usr/lib/udev/rules.d/60-ztier.rules \
	/usr/lib/systemd/system/ztierd.service /usr/lib/systemd/system/ztier-attach@.service \
	/usr/share/ztier/policy.d/default.conf /etc/ztier/ztier.conf; do
	ok "ships $f" 'grep -qx "$f" "$T/files"'
done
dpkg-deb -e "$deb" "$T/ctl"
ok "ztier.conf is a conffile" 'grep -qx /etc/ztier/ztier.conf "$T/ctl/conffiles"'
ok "postinst reloads systemd and udev" \
	'grep -q "daemon-reload" "$T/ctl/postinst" && grep -q "udevadm control --reload" "$T/ctl/postinst"'
ok "postrm purge removes /etc/ztier" 'grep -q "rm -rf /etc/ztier" "$T/ctl/postrm"'
ok "the unit runs /usr/bin/ztierd" \
	'dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/ztierd.service | grep -qx "ExecStart=/usr/bin/ztierd --foreground"'

dpkg-deb -x "$deb" "$T/root"
for b in ztierd ztierctl ztier-ublk; do
	f=$T/root/usr/bin/$b
	ok "$b: full RELRO, PIE, fortified (_chk), stack protector" \
		'readelf -d "$f" | grep -q "BIND_NOW" && readelf -l "$f" | grep -q GNU_RELRO &&
		 readelf -h "$f" | grep -q "DYN" && readelf --dyn-syms -W "$f" | grep -q "_chk@" &&
		 readelf --dyn-syms -W "$f" | grep -q "__stack_chk_fail"'
done
ok "ztierd looks for /etc/ztier/ztier.conf" '"$T/root/usr/bin/ztierd" --help | grep -q "/etc/ztier/ztier.conf"'
done_testing
