/*
 * t_conf.c — ztier.conf parsing (manager/daemon_ztierconf.c): [ztierd] keys,
 * [zram-swap NAME] devices, defaults, FILE:LINE problems; the shared line
 * reader (policy/common/ini_reader.c): long lines are one line, indented lines are
 * not continuations, every problem has its line.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_ztierconf.c"

static char path[] = "/tmp/t_conf.XXXXXX";

static int load(const char *text, struct zd_conf *c)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f)
		return -999;
	fputs(text, f);
	fclose(f);
	zd_conf_default(c);
	int n = zd_conf_load(c, path);
	unlink(path);
	strcpy(path, "/tmp/t_conf.XXXXXX");
	return n;
}

/* load() with stderr (the daemon's log) captured into log. */
static int load_log(const char *text, struct zd_conf *c, char *log, size_t len)
{
	FILE *t = tmpfile();
	int saved = tap_stderr_to(t), n;

	n = load(text, c);
	tap_stderr_restore(saved);
	rewind(t);
	len = fread(log, 1, len - 1, t);
	log[len] = '\0';
	fclose(t);
	return n;
}

static void reader_tests(struct zd_conf *c)
{
	char text[1024], log[2048], dir[400];

	memset(dir, 'a', 300);
	dir[0] = '/';
	dir[300] = '\0';
	snprintf(text, sizeof(text), "[ztierd]\npolicy-dir = %s\nsocket = /tmp/s2\n", dir);
	is_int(load_log(text, c, log, sizeof(log)), 1, "a 313-character line: one problem");
	ok(strstr(log, ":2: line too long") != NULL, "reported on its own line 2");
	is_str(c->socket, "/tmp/s2", "not split: the next line is still read");

	is_int(load_log("[zram-swap x]\nsize = 1G\n   priority = 5\n\tdiscard = no\n", c,
			log, sizeof(log)), 0, "indented lines are keys, not continuations");
	is_int(c->zswap[0].priority, 5, "indented priority read");
	ok(!c->zswap[0].discard, "tab-indented discard read");
	is_int(c->zswap[0].zram.size.bytes, 1 << 30, "size unaffected by the next line");

	is_int(load_log("[ztierd]\n# note\nlog-level = debug   # why\n\nfrob\n", c, log,
			sizeof(log)), 1, "trailing comment ok; a line without '=' is a problem");
	ok(strstr(log, ":5: expected 'key = value'") != NULL, "at line 5");
	is_int(c->level, ZD_DEBUG, "value without its comment");

	is_int(load_log("socket = /x\n[ztierd]\n", c, log, sizeof(log)), 1,
	       "key outside any section");
	ok(strstr(log, ":1: key 'socket' outside any section") != NULL, "at line 1");
	is_int(load_log("[bogus]\nk = v\nj = w\n[zram-swap y]\n", c, log, sizeof(log)), 2,
	       "unknown section reported once, not per key; an empty device needs a size");
	ok(strstr(log, ":1: unknown section [bogus]") && strstr(log, ":4: [zram-swap y] needs a size"),
	   "lines 1 and 4");
}

/* A ztier.conf that is not text: its bad line is a problem, at its line. */
static void bad_bytes(struct zd_conf *c)
{
	static const char text[] = "[ztierd]\nlog-level = debug\0garbage\n";
	char log[2048];
	FILE *t = tmpfile();
	int saved = dup(2), n, fd = mkstemp(path);

	if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1)
		tap_diag("cannot write %s", path);
	close(fd);
	fflush(stderr);
	dup2(fileno(t), 2);
	zd_conf_default(c);
	n = zd_conf_load(c, path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	log[fread(log, 1, sizeof(log) - 1, t)] = '\0';
	fclose(t);
	unlink(path);
	strcpy(path, "/tmp/t_conf.XXXXXX");
	is_int(n, 1, "a NUL in a line: one problem");
	ok(strstr(log, ":2: line holds a NUL byte") != NULL, "reported at line 2");
	is_int(c->level, ZD_INFO, "the line is not read as 'log-level = debug'");
}

int main(void)
{
	static struct zd_conf c;

	zd_conf_default(&c);
	is_int(c.npolicy_dirs, 3, "three default policy directories");
	is_str(c.policy_dirs[2], "/run/ztier/policy.d", "/run last (highest precedence)");
	is_str(c.socket, "/run/ztier/ztierd.sock", "default socket");

	is_int(load("[ztierd]\npolicy-dir = /a\npolicy-dir = /b\nsocket = /tmp/s\n"
		    "log-level = debug\n\n[zram-swap fast]\nsize = 64M\nalgorithm = lz4\n"
		    "priority = 100\ndiscard = no\n[zram-swap big]\nsize = ram/2\n", &c),
	       0, "a valid file");
	is_int(c.npolicy_dirs, 2, "policy-dir replaces the defaults");
	is_str(c.policy_dirs[1], "/b", "in order");
	is_str(c.socket, "/tmp/s", "socket");
	is_int(c.level, ZD_DEBUG, "log level");
	is_int(c.nzswap, 2, "two zram swap devices");
	is_str(c.zswap[0].name, "fast", "first name");
	is_int(c.zswap[0].zram.size.bytes, 64 << 20, "size");
	is_str(c.zswap[0].zram.algorithm, "lz4", "algorithm");
	is_int(c.zswap[0].priority, 100, "priority");
	ok(!c.zswap[0].discard, "discard off");
	is_int(c.zswap[1].priority, -1, "default priority -1");
	ok(c.zswap[1].discard, "discard defaults on");
	is_int(c.zswap[1].zram.size.ram_den, 2, "ram fraction");

	is_int(load("[zram-swap x]\nalgorithm = lz4\n", &c), 1, "size is required");
	is_int(load("[zram-swap x]\nsize = 1G\npriority = 40000\n", &c), 1, "priority range");
	is_int(load("[zram-swap x]\nsize = 1G\ncolour = blue\n", &c), 1, "unknown key");
	is_int(load("[other]\nk = v\n", &c), 1, "unknown section");
	is_int(load("[ztierd]\nsocket = relative\nlog-level = loud\n", &c), 2, "two problems");
	is_int(load("[ztierd\n", &c), 1, "syntax error");
	zd_conf_default(&c);
	is_int(zd_conf_load(&c, "/nonexistent/ztier.conf"), -ENOENT, "missing file: -ENOENT");
	is_int(zd_conf_load(&c, "/tmp"), -EISDIR, "a directory: -EISDIR, not an empty file");
	is_int(zd_conf_load(&c, "/dev/zero"), -EINVAL, "/dev/zero: -EINVAL, not read");
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "/tmp/t_conf.fifo.%d", (int)getpid());
	if (mkfifo(fifo, 0600) == 0) {
		is_int(zd_conf_load(&c, fifo), -EINVAL, "a FIFO: -EINVAL, not blocked in open()");
		unlink(fifo);
	}
	is_int(load("[ztierd]\nlog-level ;x = debug\n", &c), 1,
	       "a key cut short by a ';' comment is a problem");
	bad_bytes(&c);
	reader_tests(&c);

	/* values parsed as in a policy (policy/common/values.c) */
	is_int(load("[zram-swap x]\nsize = 1G\nmemory-limit = ram*3/2\n", &c), 1,
	       "memory-limit above RAM: out of range, as in a policy");
	is_int(load("[zram-swap x]\nsize = 1G\nmemory-limit = ram/2\n", &c), 0, "ram/2 is fine");
	is_int(c.zswap[0].zram.mem_limit.ram_den, 2, "ram/2 kept");
	is_int(load("[zram-swap x]\nsize = 1G\nmemory-limit = none\ndiscard = off\n"
		    "priority = -1\n", &c), 0, "none, off, -1");
	ok(!zt_size_is_set(&c.zswap[0].zram.mem_limit) && !c.zswap[0].discard &&
	   c.zswap[0].priority == -1, "read as no limit, no discard, default priority");
	is_int(load("[zram-swap x]\nsize = 1G\ndiscard = maybe\npriority = -2\n"
		    "priority = 1x\n", &c), 3, "bad switch and priorities");
	return tap_done();
}
