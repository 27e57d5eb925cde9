#!/bin/bash
# tests/vm/ublk-vmargs.sh (sourced by tests/vm/ublk*.t and bench): skip when
# there is no VM, build ztier-ublk, and collect the --add arguments: the
# guest helper libraries (tests, benches), the policy fixtures (tests/vm/fixtures) and the
# shared libraries ztier-ublk links that the guest image may lack (copied
# by their soname; the guest scripts put /mnt/add on LD_LIBRARY_PATH).
if ! why=$(tests/vm/run --check 2>&1); then
	echo "1..0 # SKIP no test VM: $(printf '%s\n' "$why" | tail -n 1)"
	exit 0
fi
make -s build/release/bin/ztier-ublk >&2 ||
	{ echo "Bail out! cannot build ztier-ublk"; exit 1; }
libdir=build/vm/ublk-libs
rm -rf "$libdir" && mkdir -p "$libdir"
# The binary too, as a fallback on PATH should `make install` in the guest
# image fail for an unrelated part of the tree.
vm_args=(--add tests/vm/ublk-lib.sh --add tests/vm/bench-lib.sh --add tests/vm/fixtures --add build/release/bin/ztier-ublk)
for lib in $(ldd build/release/bin/ztier-ublk | awk '/=>/ { print $3 }'); do
	case ${lib##*/} in libc.so* | libm.so* | libpthread* | ld-linux*) continue ;; esac
	cp -L "$lib" "$libdir/" && vm_args+=(--add "$libdir/${lib##*/}")
done
