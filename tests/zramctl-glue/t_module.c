/*
 * t_module.c — zg_module_load() on the running kernel (any user).
 *
 * Whatever the kernel is, loading must give a clear answer and never crash:
 * zram built in / already loaded / loaded, or a distinct -ENOPKG when this
 * kernel cannot load modules at all.  The expectations are derived from the
 * machine itself (control nodes, /proc/modules, /lib/modules/$(uname -r)).
 * Loading for real needs root and a modules tree: that happens in the VM.
 */
#include "tests/tap.h"
#include "zramctl-glue/zramctl_glue.h"

#include <errno.h>
#include <unistd.h>

static bool can_load(const struct zg_module *m)
{
	return m->kernel_modules && m->have_modules_dir;
}

static void check(const char *name, const char *options, const char *control)
{
	struct zg_module m;
	char msg[512];
	int r = zg_module_load(name, options, &m);
	tap_diag("%s -> %d: %s", name, r, zg_module_message(&m, msg, sizeof(msg)));
	ok(strstr(msg, name) == msg, "%s: message starts with the module name", name);

	if (access(control, F_OK) == 0 || r == 0) {
		is_int(r, 0, "driver present: load reports success");
		ok(m.state == ZG_MOD_BUILTIN || m.state == ZG_MOD_LIVE ||
		   m.state == ZG_MOD_LOADED, "%s: state is built in, live or loaded", name);
		ok(access(control, F_OK) == 0, "%s: control node %s exists", name, control);
		if (m.state == ZG_MOD_BUILTIN && !can_load(&m))
			ok(strstr(msg, "is built in") && strstr(msg, "cannot load module"),
			   "%s: says built in and that modules cannot be loaded", name);
	} else if (!can_load(&m)) {
		is_int(r, -ENOPKG, "no module loading on this kernel: -ENOPKG");
		ok(strstr(msg, "cannot load module") && strstr(msg, "not built in") &&
		   (strstr(msg, m.modules_dir) || strstr(msg, "/proc/modules")),
		   "%s: message names what is missing", name);
	} else {
		ok(r < 0, "%s: could not load it: %d", name, r);
	}
}

static void check_unknown(void)
{
	struct zg_module m;
	char msg[512];
	int r = zg_module_load("zg_no_such_module", NULL, &m);
	tap_diag("unknown -> %d: %s", r, zg_module_message(&m, msg, sizeof(msg)));
	is_int(r, can_load(&m) ? -ENOENT : -ENOPKG, "unknown module: distinct error");
	is_int(m.state, ZG_MOD_UNAVAILABLE, "unknown module: unavailable");
}

int main(void)
{
	check("zram", "num_devices=0", "/sys/class/zram-control");
	check("ublk_drv", NULL, "/sys/class/misc/ublk-control");
	check_unknown();
	return tap_done();
}
