# daemon_needs.sh — what the host scripts that run ztierd need (sourced
# after tests/tap.sh, with $B the build's bin dir): root, the kernel's
# zram-control, the built programs and socat; without them the script skips.
[ "$(id -u)" = 0 ] || skip_all "needs root (zram hot_add, swapon)"
[ -e /sys/class/zram-control/hot_add ] || skip_all "no zram-control in this kernel"
[ -x $B/ztierd ] && [ -x $B/ztierctl ] || skip_all "build ztierd/ztierctl first (make)"
command -v socat >/dev/null || skip_all "socat not installed"
