/*
 * module.c — make zram / ublk_drv available: built in, loaded, or load it.
 *
 * Order of checks, cheapest and most certain first:
 *  1. sysfs: /sys/module/NAME/initstate means a loaded module; the directory
 *     without initstate, or the driver's own control node (zram-control,
 *     ublk-control) without any /sys/module entry, means built in.  (libkmod's
 *     initstate reports a built-in module without modules.builtin as
 *     "coming", so we do not rely on it for that.)
 *  2. Can this kernel load modules at all?  No /proc/modules (no
 *     CONFIG_MODULES) or no /lib/modules/$(uname -r) → -ENOPKG, a distinct
 *     error, and zg_module_message() says exactly that.
 *  3. libkmod: look the name up, honour modprobe.d blacklists, never run
 *     install commands (we are privileged), insert with the options.
 * Options such as num_devices=0 only apply when we load the module; the
 * message notes when they could not be applied.
 */
#include "zramctl-glue/zramctl_glue.h"

#include <errno.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* A node that exists whenever the driver is present, module or not. */
static const char *control_node(const char *name)
{
	if (strcmp(name, "zram") == 0)
		return "/sys/class/zram-control";
	if (strcmp(name, "ublk_drv") == 0)
		return "/sys/class/misc/ublk-control";
	return NULL;
}

static bool exists(const char *path)
{
	return path && access(path, F_OK) == 0;
}

/* Step 1: state from sysfs alone; ZG_MOD_UNKNOWN if the driver is absent. */
static enum zg_mod_state sysfs_state(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	if (exists(path))
		return ZG_MOD_LIVE;
	snprintf(path, sizeof(path), "/sys/module/%s", name);
	if (exists(path) || exists(control_node(name)))
		return ZG_MOD_BUILTIN;
	return ZG_MOD_UNKNOWN;
}

static void init_info(struct zg_module *m, const char *name, const char *options)
{
	struct utsname u;
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->options, sizeof(m->options), "%s", options ? options : "");
	if (uname(&u) == 0)
		snprintf(m->release, sizeof(m->release), "%s", u.release);
	snprintf(m->modules_dir, sizeof(m->modules_dir), "/lib/modules/%s", m->release);
	m->have_modules_dir = exists(m->modules_dir);
	m->kernel_modules = exists("/proc/modules");
}

static void silent_log(void *data, int priority, const char *file, int line,
		       const char *fn, const char *format, va_list args)
{
}

/* Step 3: load through libkmod.  0 loaded (or found live), negative errno. */
static int kmod_load(struct zg_module *m)
{
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	kmod_set_log_fn(ctx, silent_log, NULL);
	struct kmod_list *list = NULL, *it;
	int r = kmod_module_new_from_lookup(ctx, m->name, &list);
	if (r == 0 && !list)
		r = -ENOENT;
	kmod_list_foreach(it, list) {
		struct kmod_module *mod = kmod_module_get_module(it);
		r = kmod_module_probe_insert_module(mod,
			KMOD_PROBE_APPLY_BLACKLIST | KMOD_PROBE_IGNORE_COMMAND,
			m->options[0] ? m->options : NULL, NULL, NULL, NULL);
		kmod_module_unref(mod);
		if (r > 0)
			r = -EPERM;       /* stopped by a blacklist */
		break;
	}
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return r;
}

static int finish(struct zg_module *m, struct zg_module *info, int err)
{
	m->err = err;
	if (info)
		*info = *m;
	return err;
}

int zg_module_load(const char *name, const char *options, struct zg_module *info)
{
	struct zg_module m;
	init_info(&m, name, options);
	m.state = sysfs_state(name);
	if (m.state != ZG_MOD_UNKNOWN)
		return finish(&m, info, 0);
	m.state = ZG_MOD_UNAVAILABLE;
	if (!m.kernel_modules || !m.have_modules_dir)
		return finish(&m, info, -ENOPKG);
	int r = kmod_load(&m);
	if (r == 0)
		m.state = sysfs_state(name) == ZG_MOD_LIVE ? ZG_MOD_LOADED : ZG_MOD_BUILTIN;
	return finish(&m, info, r);
}

/* Why nothing can be loaded on this kernel, or "" if modules can be. */
static const char *no_modules_reason(const struct zg_module *m, char *buf, size_t len)
{
	if (!m->have_modules_dir)
		snprintf(buf, len, "no modules for kernel %s (%s missing%s)", m->release,
			 m->modules_dir, m->kernel_modules ? "" :
			 "; /proc/modules missing: no module support");
	else if (!m->kernel_modules)
		snprintf(buf, len, "kernel %s has no module support (/proc/modules missing)",
			 m->release);
	else
		buf[0] = '\0';
	return buf;
}

static void options_note(const struct zg_module *m, char *buf, size_t len)
{
	if (m->options[0])
		snprintf(buf, len, ", options '%s' not applied", m->options);
	else
		buf[0] = '\0';
}

static const char *describe_present(const struct zg_module *m, char *buf, size_t len)
{
	char why[512], opts[160];
	no_modules_reason(m, why, sizeof(why));
	options_note(m, opts, sizeof(opts));
	if (m->state == ZG_MOD_LIVE)
		snprintf(buf, len, "%s: module already loaded%s", m->name, opts);
	else if (m->state == ZG_MOD_LOADED)
		snprintf(buf, len, "%s: module loaded%s%s", m->name,
			 m->options[0] ? " with options " : "", m->options);
	else if (why[0])
		snprintf(buf, len, "%s: cannot load module: %s; %s is built in%s",
			 m->name, why, m->name, opts);
	else
		snprintf(buf, len, "%s: built into kernel %s%s", m->name, m->release, opts);
	return buf;
}

const char *zg_module_message(const struct zg_module *m, char *buf, size_t len)
{
	char why[512];
	if (m->err == 0)
		return describe_present(m, buf, len);
	if (m->err == -ENOPKG)
		snprintf(buf, len, "%s: cannot load module: %s; %s is not built in",
			 m->name, no_modules_reason(m, why, sizeof(why)), m->name);
	else if (m->err == -ENOENT)
		snprintf(buf, len, "%s: cannot load module: not found in %s",
			 m->name, m->modules_dir);
	else if (m->err == -EPERM)
		snprintf(buf, len, "%s: cannot load module: blacklisted (modprobe.d) "
			 "or not permitted", m->name);
	else
		snprintf(buf, len, "%s: cannot load module: %s", m->name, strerror(-m->err));
	return buf;
}
